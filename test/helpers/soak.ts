/**
 * The soak run behind `npm run soak` and test/interop/soak.test.ts: the real firmware and host
 * connect in a network namespace of their own (the Rig of netns.ts), joined by real ptys through
 * a LineRelay (line-relay.ts, a cable whose faults can be switched on), mixed traffic from
 * scripts/soak-agent.ts for the whole run, with a loss and bit-flip phase from 50% to 70% of it
 * (each octet dropped with probability 1e-4 and a bit flipped with 3e-5, flips at least 4 KiB
 * apart so no frame carries two, both directions: about 13% of full-size frames hit), then the checks: both sides settle, no error, the device's
 * packet pool back where it started. The line is plain SLIP (see `runSoak`). Needs root (the namespace and TUN).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineRelay } from './line-relay.ts';
import { Rig, sleep } from './netns.ts';

export interface SoakOptions {
  seconds: number;
  /** Concurrent traffic loops. Defaults to 4. */
  workers?: number;
  /** Seed of the agent's choices. Defaults to 1. */
  seed?: number;
  /** Progress lines (to stderr in the script). */
  log?: (line: string) => void;
}

export interface SoakMinute {
  minute: number;
  pings: number;
  p50Ms: number;
  p99Ms: number;
}

export interface SoakReport {
  soak_seconds: number;
  soak_octets_moved: number;
  soak_octets_verified: number;
  soak_connections_opened: number;
  soak_connections_closed: number;
  soak_resets: number;
  soak_telnet_sessions: number;
  soak_udp_verified: number;
  soak_errors: number;
  soak_pool_used_start: number;
  soak_pool_used_end: number;
  soak_pool_leak_slots: number;
  soak_rss_start_mb: number;
  soak_rss_end_mb: number;
  soak_rss_growth_mb: number;
  soak_loss_phase: string;
  soak_ping_minutes: SoakMinute[];
  soak_error_list: string[];
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

async function poolUsed(rig: Rig): Promise<number> {
  const c = await rig.shell();
  try {
    const out = await c.command('pool');
    const m = /pbuf: used (\d+) \//.exec(out);
    await c.exit();
    return m ? Number(m[1]) : NaN;
  } finally {
    c.kill();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => {});
  const rig = new Rig();
  const errors: string[] = [];
  const rtts = new Map<number, number[]>();
  let done: Record<string, number> = {};
  let lossPhase = 'not run';
  let relay: LineRelay | null = null;
  try {
    await rig.start({
      // Plain SLIP, not host connect's default CSLIP: the bit-flip phase checks that TCP's
      // checksum catches every single-bit error, and with RFC 1144 header compression it cannot.
      // A rebuilt header carries only the sender's checksum, so (seen in this soak, with both
      // sides' pcaps) a frame that lost an octet leaves the decompressor one octet short for
      // every later SPECIAL_D frame of that connection, each then one compensating flip away
      // from passing; and a flip that moves a delta to another field of the header leaves the
      // one's-complement sum as it was. Linux's slhc does the same. CSLIP itself is tested against
      // Linux and slirp (test/interop/linux-slip.test.ts, slirp.test.ts) and by the cslip fuzz surface.
      hostArgs: ['--proto', 'slip'],
      // The agent resets connections on purpose; in the loss phase a RST can be lost, and the
      // device's end of that connection, with nothing to send, would stay ESTABLISHED for good
      // (seen once: echo, idle, after the run). Keepalive finds it: the probe meets a RST.
      firmwareArgs: ['--keepalive', '5'],
      portFor: async (hostPty) => {
        relay = await LineRelay.open(hostPty, options.seed ?? 1);
        return relay.devicePath;
      },
    });
    const fwPid = rig.firmware!.child.pid!;
    await rig.assertClean(10_000);
    const poolStart = await poolUsed(rig);
    const rssStart = rssMb(fwPid);
    log(`soak: firmware up (pid ${fwPid}, RSS ${rssStart} MB, pool used ${poolStart}); ${options.seconds} s of traffic`);

    const started = Date.now();
    const agent = rig.spawnIn('node', ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'scripts', 'soak-agent.ts'),
      '--seconds', String(options.seconds), '--workers', String(options.workers ?? 4), '--seed', String(options.seed ?? 1)]);
    agent.child.stdin!.end(`${rig.password}\n`);
    let buffered = '';
    agent.child.stdout!.on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let o: { t: string; ms?: number; what?: string };
        try {
          o = JSON.parse(line) as typeof o;
        } catch {
          continue;
        }
        if (o.t === 'rtt') {
          const minute = Math.floor((Date.now() - started) / 60_000);
          if (!rtts.has(minute)) rtts.set(minute, []);
          rtts.get(minute)!.push(o.ms!);
        } else if (o.t === 'error') {
          errors.push(o.what!);
          log(`soak: error: ${o.what}`);
        } else if (o.t === 'done') done = o as unknown as Record<string, number>;
      }
    });

    // The loss and bit-flip phase: from 50% to 70% of the run, on the host's side of the link.
    await sleep(options.seconds * 500);
    const line = relay as unknown as LineRelay;
    line.faults(1e-4, 3e-5);
    log('soak: loss and bit-flip phase on');
    await sleep(options.seconds * 200);
    line.faults(0, 0);
    lossPhase = `${Math.round(options.seconds * 0.2)} s: ${line.stats.dropped} octets dropped, ${line.stats.flipped} bits flipped on the line`;
    log(`soak: loss and bit-flip phase off (${lossPhase})`);
    const agentCode = await agent.exited;
    if (agentCode !== 0) errors.push(`traffic agent exited ${agentCode}: ${agent.err.slice(-500)}`);
    const seconds = (Date.now() - started) / 1000;

    try {
      await rig.assertClean(30_000);
    } catch (e) {
      errors.push(`did not settle: ${(e as Error).message.slice(0, 500)}`);
    }
    const poolEnd = await poolUsed(rig);
    const rssEnd = rssMb(fwPid);
    if (rig.firmware!.child.exitCode !== null) errors.push(`the firmware exited (${rig.firmware!.child.exitCode})`);
    const minutes: SoakMinute[] = [...rtts.entries()].sort((a, b) => a[0] - b[0]).map(([minute, list]) => {
      const sorted = list.slice().sort((a, b) => a - b);
      return { minute, pings: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
    });
    return {
      soak_seconds: Math.round(seconds),
      soak_octets_moved: done['octetsMoved'] ?? 0,
      soak_octets_verified: done['octetsVerified'] ?? 0,
      soak_connections_opened: done['opened'] ?? 0,
      soak_connections_closed: done['closed'] ?? 0,
      soak_resets: done['resets'] ?? 0,
      soak_telnet_sessions: done['telnetSessions'] ?? 0,
      soak_udp_verified: done['udpVerified'] ?? 0,
      soak_errors: errors.length,
      soak_pool_used_start: poolStart,
      soak_pool_used_end: poolEnd,
      soak_pool_leak_slots: poolEnd - poolStart,
      soak_rss_start_mb: rssStart,
      soak_rss_end_mb: rssEnd,
      soak_rss_growth_mb: Math.round((rssEnd - rssStart) * 10) / 10,
      soak_loss_phase: lossPhase,
      soak_ping_minutes: minutes,
      soak_error_list: errors,
    };
  } finally {
    await rig.stop();
    await (relay as LineRelay | null)?.close();
  }
}
