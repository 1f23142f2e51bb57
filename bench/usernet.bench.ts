/**
 * The userspace host side's forwards (firmware-bridge/host/user-net.ts), in real time over ptys
 * paced to 115200 baud (--uart-timing at both ends: a pty has no baud of its own), against the
 * firmware running as its own process.
 *
 * - fwd_goodput_eff_115200: a node:net client on 127.0.0.1 writes to a forward to the device's
 *   discard port; goodput (first write to the last octet acknowledged by the device) against
 *   the line limit, as link_eff_pty_115200_1006 measures a direct stack-to-stack transfer.
 * - fwd_rtt_overhead_ms: the median round trip of a 1-octet echo through 127.0.0.1:2307 (user
 *   net) minus the same through a TUN interface to the device's port 7 (host connect), each
 *   with host connect and the firmware in a network namespace of the bench's own. Needs root
 *   (namespaces, TUN); without it the figure is left out and the log says why.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes as cryptoRandom } from 'node:crypto';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUserNet } from '../firmware-bridge/host/user-net.ts';
import { FdLink } from '../src/drivers/fd-link.ts';
import { openPtyPair } from '../src/drivers/pty.ts';
import { SLIP_END } from '../src/phy/slip.ts';
import { ipv4Address } from '../src/wire/ipv4.ts';
import { randomBytes } from '../support/pattern.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'usernet';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MTU = 1006;
const BAUD = 115200;

function firmwareProcess(command: string[], port: string): { child: ChildProcess; ready: Promise<void> } {
  const argv = [...command, process.execPath, '--import', 'tsx', join(root, 'firmware-bridge/firmware.ts'),
    '--port', port, '--baud', String(BAUD), '--uart-timing', '--mtu', String(MTU)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: root, env: { ...process.env, SLIPSTACK_PASSWORD: 'bench' } });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const on = (d: Buffer): void => {
      log += d.toString();
      if (/ready/.test(log)) resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', () => reject(new Error(`firmware exited: ${log}`)));
  });
  return { child, ready };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Goodput through a forward to discard, octets/s, and the limit it is measured against. */
async function forwardGoodput(ctx: BenchContext, size: number): Promise<{ goodput: number; limit: number }> {
  const pty = openPtyPair();
  const fw = firmwareProcess([], pty.slavePath);
  const link = new FdLink(pty.masterFd, { closeFd: false, name: 'bench pty', wakeOn: SLIP_END });
  try {
    await fw.ready;
    const net = await runUserNet({
      link, hostIp: ipv4Address('192.0.2.1'), deviceIp: ipv4Address('192.0.2.2'), mtu: MTU, baud: BAUD, uartTiming: true,
      forwards: [{ hostPort: 0, devicePort: 9 }], bind: '127.0.0.1', controlPort: null,
    });
    try {
      const data = Buffer.from(randomBytes(64 * 1024, 0x1357));
      let specials = 0;
      for (const b of data) if (b === 0xc0 || b === 0xdb) specials++;
      const s = connect({ port: net.forwards[0]!.hostPort, host: '127.0.0.1' });
      await new Promise((r) => s.once('connect', r));
      const t0 = performance.now();
      for (let sent = 0; sent < size; sent += data.length) {
        if (!s.write(data.subarray(0, Math.min(data.length, size - sent)))) await new Promise((r) => s.once('drain', r));
      }
      // Done when the device has acknowledged every octet: nothing left in any send ring.
      await until(() => net.stats.toDevice === size && net.network.tcp.sockets.every((k) => !k.inUse || k.sendQueue === 0), 600_000, 'transfer');
      const goodput = size / ((performance.now() - t0) / 1000);
      s.destroy();
      const mss = MTU - 52;
      const limit = ((BAUD / 10) * mss) / (MTU + 2 + (specials / data.length) * mss);
      ctx.log(`forward 115200: ${goodput.toFixed(0)} B/s of ${limit.toFixed(0)} B/s`);
      return { goodput, limit };
    } finally {
      await net.stop();
    }
  } finally {
    fw.child.kill('SIGTERM');
    await new Promise((r) => fw.child.once('exit', r));
    await link.close();
    pty.close();
  }
}

/** The median 1-octet echo round trip, ms, through host connect in `mode` in a namespace of its own. */
async function echoRtt(mode: 'tun' | 'user-net', rounds: number): Promise<number> {
  const ns = `slipstack-bench-${cryptoRandom(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const procs: ChildProcess[] = [];
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const args = ['--pty', '--baud', String(BAUD), '--uart-timing', '--mtu', String(MTU), ...(mode === 'tun' ? ['--tun', 'sl0'] : ['--user-net'])];
    const host = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(root, 'firmware-bridge/host-connect.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(host);
    let log = '';
    host.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    host.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await until(() => /device side: (\S+)/.test(log) && /up/.test(log), 20_000, `host connect (${mode}): ${log}`);
    const fw = firmwareProcess(['ip', 'netns', 'exec', ns], /device side: (\S+)/.exec(log)![1]!);
    procs.push(fw.child);
    await fw.ready;
    const [host4, port] = mode === 'tun' ? ['192.0.2.2', 7] : ['127.0.0.1', 2307];
    const script = `const s = require('node:net').connect({ port: ${port}, host: '${host4}' }); s.setNoDelay(true);
      const rtts = []; let t0 = 0, n = 0;
      const next = () => { if (n++ === ${rounds} + 3) { s.destroy(); rtts.sort((a, b) => a - b); console.log(rtts[rtts.length >> 1]); return; }
        setTimeout(() => { t0 = performance.now(); s.write('x'); }, 20); };
      s.on('data', () => { if (n > 3) rtts.push(performance.now() - t0); next(); });
      s.on('connect', next);`;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 120_000 });
    const median = Number(r.stdout.trim());
    if (!Number.isFinite(median) || r.stdout.trim() === '') throw new Error(`echo RTT (${mode}) failed: ${r.stderr}`);
    return median;
  } finally {
    for (const p of procs.reverse()) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
    spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`]);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  const size = ctx.quick ? 48 * 1024 : 128 * 1024;
  const { goodput, limit } = await forwardGoodput(ctx, size);
  figures.push({ key: 'fwd_goodput_eff_115200', value: +(goodput / limit).toFixed(3), unit: 'x limit', target: '>= 0.97',
    note: `${size / 1024} KiB from a node:net client through a forward to the firmware process's discard port, pty paced to 115200 at both ends, real time (includes slow start); beside link_eff_pty_115200_1006` });

  const canNetns = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;
  if (!canNetns) {
    ctx.log('fwd_rtt_overhead_ms left out: it compares with a TUN interface in a namespace, which needs root and `ip netns`');
    return figures;
  }
  const rounds = ctx.quick ? 10 : 30;
  const tun = await echoRtt('tun', rounds);
  const user = await echoRtt('user-net', rounds);
  ctx.log(`1-octet echo RTT medians: forward ${user.toFixed(2)} ms, TUN ${tun.toFixed(2)} ms`);
  figures.push({ key: 'fwd_rtt_overhead_ms', value: +(user - tun).toFixed(2), unit: 'ms',
    note: `median 1-octet TCP echo RTT through 127.0.0.1:2307 (${user.toFixed(2)} ms) minus through TUN to 192.0.2.2:7 (${tun.toFixed(2)} ms), ${rounds} rounds, 115200 pty, each in its own namespace` });
  return figures;
}
