/**
 * `sudo npm run soak -- --minutes M [--json] [--workers N] [--seed S]`
 *
 * Runs the firmware against host connect through a real pty for M minutes (default 1) of mixed
 * traffic, with a loss and bit-flip phase, and prints the report (test/helpers/soak.ts): octets
 * moved and verified, connections, errors (must be 0), pool slots in use at start and end (must
 * be equal), the firmware's RSS at start and end, and the p50/p99 ping RTT per minute. Exit 1 when
 * an error occurred or a pool slot leaked. Needs root (a network namespace and a TUN device).
 */
import { parseArgs } from 'node:util';
import { interopUnavailable } from '../test/helpers/netns.ts';
import { runSoak } from '../test/helpers/soak.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, json: { type: 'boolean' }, workers: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  process.stdout.write('usage: sudo npm run soak -- [--minutes M (1)] [--json] [--workers N (4)] [--seed S (1)]\n');
  process.exit(0);
}
const minutes = Number(values.minutes ?? 1);
if (!(minutes > 0)) {
  process.stderr.write('soak: --minutes wants a positive number\n');
  process.exit(2);
}
const why = interopUnavailable();
if (why !== null) {
  process.stderr.write(`soak: cannot run here: ${why}\n`);
  process.exit(1);
}
const r = await runSoak({
  seconds: Math.round(minutes * 60), workers: Number(values.workers ?? 4), seed: Number(values.seed ?? 1),
  log: (line) => process.stderr.write(`${line}\n`),
});
if (values.json) {
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const out = [
    `soak: ${r.soak_seconds} s`,
    `  octets moved ${r.soak_octets_moved}, verified (SHA-256 / RFC 864 / datagram compare) ${r.soak_octets_verified}`,
    `  connections opened ${r.soak_connections_opened}, closed ${r.soak_connections_closed}, reset by us ${r.soak_resets}; ` +
      `telnet sessions ${r.soak_telnet_sessions}; UDP datagrams verified ${r.soak_udp_verified}`,
    `  loss phase: ${r.soak_loss_phase}`,
    `  errors ${r.soak_errors}${r.soak_error_list.length > 0 ? `: ${r.soak_error_list.join('; ')}` : ''}`,
    `  pool slots in use: start ${r.soak_pool_used_start}, end ${r.soak_pool_used_end}`,
    `  firmware RSS: start ${r.soak_rss_start_mb} MB, end ${r.soak_rss_end_mb} MB (growth ${r.soak_rss_growth_mb} MB)`,
    ...r.soak_ping_minutes.map((m) => `  minute ${m.minute + 1}: ${m.pings} pings, RTT p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
process.exit(r.soak_errors === 0 && r.soak_pool_leak_slots === 0 ? 0 : 1);
