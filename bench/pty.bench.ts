/**
 * Real time, real processes: the firmware (built as by `npm run flash`, run as
 * `node dist/firmware-bridge.mjs`) runs as its own process on one end of a pty pair with
 * UART timing (--uart-timing: a pty has no baud, so the firmware paces its output to baud/10
 * octets per second), and a stack in this process, paced the same way and with host connect's
 * drivers (a timerfd for the host loop's sleeps, coalesced reads), drives it from the other end.
 *
 * - link_eff_pty_115200_1006: bulk TCP to the firmware's discard service, goodput against the
 *   line limit (the formula in docs/interop-linux-slip.md, escapes counted in the data sent).
 * - ping_rtt_ms_pty_115200_median (and _p99): ping RTT in real time over that line, beside its floor.
 * - keystroke_rtt_ms_pty_115200_median (and _p99): one octet typed into a logged-in telnet
 *   session until its echo arrives, beside that exchange's floor.
 * - startup_ms_first_ping: from spawning `node firmware-bridge.mjs` to the first ping answered
 *   (pings go out every 5 ms from the start; those before the port is open are lost).
 * - cpu_pct_3000000: CPU the firmware process uses (from /proc/<pid>/stat) while this process
 *   saturates a 3 000 000 baud line toward it, once the JIT is done (20 s into the connection);
 *   cpu_pct_3000000_first_seconds: the same over the connection's first seconds.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdLink } from '../src/drivers/fd-link.ts';
import { HostLoop } from '../src/drivers/host-loop.ts';
import { openPtyPair } from '../src/drivers/pty.ts';
import { TimerFd } from '../src/drivers/timer-fd.ts';
import { serialBusyOctets, serialBusyPollMs } from '../firmware-bridge/limits.ts';
import { Interface } from '../src/iface/interface.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { SLIP_END } from '../src/phy/slip.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { TcpState } from '../src/socket/tcp/state.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER } from '../src/time.ts';
import { HOST_A as HOST, HOST_B as DEVICE } from '../support/addresses.ts';
import { TelnetClient } from '../support/telnet-client.ts';
import { randomBytes } from '../support/pattern.ts';
import { median } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'pty';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MTU = 1006;

interface Rig {
  /** From spawning the firmware to its first ping answered, ms of real time. */
  startupMs: number;
  firmware: ChildProcess;
  device: SlipDevice;
  loop: HostLoop;
  iface: Interface;
  tcp: TcpStack;
  close(): Promise<void>;
}

/**
 * Builds the firmware exactly as `npm run flash` does, so the figures are of what runs on a
 * board (`node firmware-bridge.mjs`), not of the TypeScript loader.
 */
function buildFirmware(): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/flash.ts')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run flash failed: ${r.stderr}`);
  return join(root, 'dist', 'firmware-bridge.mjs');
}

/** `paced` false: no UART timing at either end, so the line costs no time and only the stacks, drivers and event loops remain. */
async function startRig(image: string, baud: number, paced = true): Promise<Rig> {
  const pty = openPtyPair();
  const profile = process.env['SLIPSTACK_PROF'];
  const firmware = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), image,
    '--port', pty.slavePath, '--baud', String(baud), ...(paced ? ['--uart-timing'] : []), '--mtu', String(MTU)],
  { stdio: ['ignore', 'pipe', 'pipe'], cwd: root, env: { ...process.env, SLIPSTACK_PASSWORD: 'bench' } });
  const spawnedAt = performance.now();
  let log = '';
  firmware.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  firmware.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  // The host end drives its line as host connect does (firmware-bridge/host-connect.ts).
  const link = new FdLink(pty.masterFd, {
    closeFd: false, name: 'bench pty', wakeOn: SLIP_END, busyOctets: serialBusyOctets(paced), busyPollMs: serialBusyPollMs(baud),
  });
  const device = new SlipDevice(paced ? new UartTimedLink(link, baud) : link, new PacketPool({ slots: 64, mtu: MTU }));
  const tcp = new TcpStack({ sockets: 4, isnKey: [9, 8, 7, 6] });
  const iface = new Interface({ device, address: HOST, tcp });
  const loop = new HostLoop([iface], { timer: (fire) => new TimerFd(fire), batchedBy: link });
  link.onActivity(() => loop.wake());
  void loop.run();
  // Start-up: ping every 5 ms from the moment the process is spawned until one is answered.
  const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
  icmp.bind(0x55);
  iface.addIcmpSocket(icmp);
  const payload = new Uint8Array(56);
  const reply = new Uint8Array(64);
  let startupMs = -1;
  for (let seq = 1; startupMs < 0 && performance.now() - spawnedAt < 15_000; seq++) {
    icmp.sendEcho(DEVICE, seq, payload, 0, 56);
    loop.wake();
    await new Promise((r) => setTimeout(r, 5));
    if (icmp.recvEcho(reply, 0, 64) >= 0) startupMs = performance.now() - spawnedAt;
  }
  iface.removeIcmpSocket(icmp);
  for (let i = 0; i < 300 && !/ready/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
  if (startupMs < 0 || !/ready/.test(log)) throw new Error(`firmware did not start: ${log}`);
  return {
    startupMs, firmware, device, loop, iface, tcp,
    async close() {
      await loop.stop();
      firmware.kill('SIGTERM');
      await new Promise((r) => firmware.once('exit', r));
      // SLIPSTACK_BENCH_LOG=1 shows the firmware's own summary (frames, host-loop turns).
      if (process.env['SLIPSTACK_BENCH_LOG']) process.stderr.write(log);
      await link.close();
      pty.close();
    },
  };
}

/** Resolves when `cond()` holds (checked every few ms of real time) or rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Sends to the firmware's discard port as fast as the line takes it, `size` octets at most, until
 * `stop`: `sent()` counts the octets the connection has taken so far.
 */
async function streamToDiscard(rig: Rig, data: Uint8Array, size = Infinity): Promise<{ sock: TcpSocket; sent(): number; stop(): Promise<void> }> {
  const sock: TcpSocket = rig.tcp.connect(rig.loop.now(), DEVICE, 9)!;
  rig.loop.wake();
  await until(() => sock.state === TcpState.Established, 10_000, 'connect to discard');
  let sent = 0;
  const pump = { poll: (): boolean => {
    let moved = false;
    while (sent < size) {
      const off = sent % data.length;
      const n = sock.send(data, off, Math.min(size - sent, data.length - off));
      if (n <= 0) break;
      sent += n;
      moved = true;
    }
    return moved;
  }, pollAt: () => NEVER };
  rig.loop.add(pump);
  rig.loop.wake();
  return {
    sock,
    sent: () => sent,
    async stop() {
      rig.loop.remove(pump);
      sock.close();
      rig.loop.wake();
      await until(() => sock.state === TcpState.Closed || sock.state === TcpState.TimeWait, 10_000, 'close of the discard connection');
    },
  };
}

/** Sends `size` octets to the firmware's discard port; returns goodput in octets/s of real time. */
async function bulkToDiscard(rig: Rig, size: number, data: Uint8Array): Promise<number> {
  const stream = await streamToDiscard(rig, data, size);
  const t0 = performance.now(); // connected; the first octets go in the loop's next turn
  await until(() => stream.sent() === size && stream.sock.sendQueue === 0, 600_000, 'bulk transfer');
  const seconds = (performance.now() - t0) / 1000;
  await stream.stop();
  return size / seconds;
}

/**
 * Times one exchange from inside the loop: `arrived()` is checked by a part polled after the
 * stack in every turn, so the time is taken in the turn that received the answer, not at the
 * next 2 ms check of `until`; `onArrival` runs then. Returns the RTT in ms of real time.
 */
async function timeExchange(rig: Rig, send: () => void, arrived: () => boolean, what: string, onArrival?: () => void): Promise<number> {
  let at = -1;
  const watch = { poll: (): boolean => {
    if (at < 0 && arrived()) {
      at = performance.now();
      onArrival?.();
    }
    return false;
  }, pollAt: () => NEVER };
  rig.loop.add(watch);
  const t0 = performance.now();
  send();
  rig.loop.wake();
  try {
    await until(() => at >= 0, 5000, what);
  } finally {
    rig.loop.remove(watch);
  }
  return at - t0;
}

/** `count` pings of 56 octets to the firmware, one at a time, `gapMs` apart; their RTTs, ms of real time. */
async function pingRtts(rig: Rig, ident: number, count: number, gapMs: number): Promise<number[]> {
  const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
  icmp.bind(ident);
  rig.iface.addIcmpSocket(icmp);
  const rtts: number[] = [];
  const payload = new Uint8Array(56);
  const reply = new Uint8Array(64);
  for (let seq = 1; seq <= count; seq++) {
    rtts.push(await timeExchange(rig, () => icmp.sendEcho(DEVICE, seq, payload, 0, 56),
      () => icmp.recvEcho(reply, 0, 64) >= 0 && icmp.seqNo === seq, `ping ${seq}`));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  rig.iface.removeIcmpSocket(icmp);
  return rtts;
}

/** The value at fraction `q` (0..1) of the sorted samples (nearest rank). */
function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Logs in to the firmware's telnet shell and types `count` single octets ('a', one at a time,
 * each after the previous echo); returns each octet's RTT until its echo, ms of real time.
 */
async function keystrokeRtts(rig: Rig, count: number): Promise<{ rtts: number[]; wireOctets: number }> {
  const sock = rig.tcp.connect(rig.loop.now(), DEVICE, 23)!;
  const client = new TelnetClient(sock);
  rig.loop.add(client);
  await until(() => client.has('Password:'), 10_000, 'telnet password prompt');
  client.take('Password:');
  client.line('bench');
  rig.loop.wake();
  await until(() => client.has('slipstack> '), 10_000, 'telnet prompt');
  client.take('slipstack> ');
  const rtts: number[] = [];
  let wireOctets = 0;
  for (let i = 0; i < count; i++) {
    const before = client.raw.length;
    const wire0 = rig.device.stats.txBytes + rig.device.stats.rxBytes;
    // The octets of this exchange on the wire, both ways, until the echo arrived: the segment,
    // the echo and whatever the firmware sent before it (an ACK of its own would count); not
    // this end's ACK of the echo, which goes after.
    rtts.push(await timeExchange(rig, () => client.send([0x61]), () => client.raw.length > before, `echo of keystroke ${i}`,
      () => { wireOctets = rig.device.stats.txBytes + rig.device.stats.rxBytes - wire0; }));
    await new Promise((r) => setTimeout(r, 20));
  }
  client.line('exit');
  rig.loop.wake();
  await until(() => client.eof || sock.state === TcpState.Closed || sock.state === TcpState.TimeWait, 5000, 'telnet exit').catch(() => {});
  rig.loop.remove(client);
  sock.close();
  return { rtts, wireOctets };
}

/** utime and stime of a process, in clock ticks (100 per second). */
function cpuTicks(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  const data = randomBytes(64 * 1024, 0x2468);
  let specials = 0;
  for (const b of data) if (b === 0xc0 || b === 0xdb) specials++;

  const image = buildFirmware();
  // 115200 baud: link efficiency and ping RTT in real time.
  {
    const rig = await startRig(image, 115200);
    try {
      const size = ctx.quick ? 48 * 1024 : 128 * 1024;
      const goodput = await bulkToDiscard(rig, size, data);
      const mss = MTU - 52;
      const limit = (11520 * mss) / (MTU + 2 + (specials / data.length) * mss);
      ctx.log(`pty 115200: ${goodput.toFixed(0)} B/s of ${limit.toFixed(0)} B/s`);
      figures.push({ key: 'link_eff_pty_115200_1006', value: +(goodput / limit).toFixed(3), unit: 'x limit', target: '>= 0.97',
        note: `${size / 1024} KiB to the firmware process's discard port over a pty, both ends paced to 115200 baud, real time (includes slow start)` });

      const rtts = await pingRtts(rig, 0x77, ctx.quick ? 10 : 50, 20);
      // 84-octet datagrams + 2 END octets each way (the zero payload and these headers rarely need escapes).
      const floor = (2 * 86 * 10 * 1000) / 115200;
      const m = median(rtts);
      ctx.log(`pty ping RTTs ${rtts.map((r) => r.toFixed(1)).join(' ')} ms`);
      figures.push({ key: 'ping_rtt_ms_pty_115200_median', value: +m.toFixed(2), unit: 'ms', target: `<= ${(floor * 1.03).toFixed(2)}`,
        note: `real time, pty paced to 115200 in both processes; floor ${floor.toFixed(2)} ms (${(m / floor).toFixed(2)}x); ${rtts.length} pings` });
      figures.push({ key: 'ping_rtt_ms_pty_115200_p99', value: +quantile(rtts, 0.99).toFixed(2), unit: 'ms',
        note: `99th percentile of the same ${rtts.length} pings` });

      const { rtts: keys, wireOctets } = await keystrokeRtts(rig, ctx.quick ? 10 : 50);
      // The segment and its echo as they went on the wire (the last exchange's octets, both ways, until the echo arrived).
      const keyFloor = (wireOctets * 10 * 1000) / 115200;
      const km = median(keys);
      ctx.log(`pty keystroke RTTs ${keys.map((r) => r.toFixed(1)).join(' ')} ms`);
      figures.push({ key: 'keystroke_rtt_ms_pty_115200_median', value: +km.toFixed(2), unit: 'ms', target: `<= ${(keyFloor * 1.03).toFixed(2)}`,
        note: `one octet typed into a logged-in telnet session until its echo arrives; floor ${keyFloor.toFixed(2)} ms (${(km / keyFloor).toFixed(2)}x); ${keys.length} keystrokes` });
      figures.push({ key: 'keystroke_rtt_ms_pty_115200_p99', value: +quantile(keys, 0.99).toFixed(2), unit: 'ms',
        note: `99th percentile of the same ${keys.length} keystrokes` });
      figures.push({ key: 'startup_ms_first_ping', value: Math.round(rig.startupMs), unit: 'ms',
        note: 'spawning `node dist/firmware-bridge.mjs` (the flash bundle) until its first ping is answered; pings every 5 ms from the start' });
    } finally {
      await rig.close();
    }
  }

  // No pacing: what the two processes (stacks, drivers, event loops) add to a round trip by themselves.
  {
    const rig = await startRig(image, 115200, false);
    try {
      const rtts = await pingRtts(rig, 0x78, ctx.quick ? 10 : 50, 10);
      ctx.log(`pty unpaced ping RTTs ${rtts.map((r) => r.toFixed(2)).join(' ')} ms`);
      figures.push({ key: 'ping_rtt_ms_pty_unpaced_median', value: +median(rtts).toFixed(3), unit: 'ms',
        note: `the same ping with no UART timing at either end: what the two processes themselves add (p99 ${quantile(rtts, 0.99).toFixed(2)} ms)` });
    } finally {
      await rig.close();
    }
  }

  // 3 000 000 baud: the firmware process's CPU while the line is saturated, over the first
  // seconds of a fresh firmware's first connection (V8 still compiling the hot paths on its
  // background threads) and again once that is done (the steady state of a device that runs
  // for weeks), on the same connection.
  {
    const rig = await startRig(image, 3_000_000);
    try {
      const pid = rig.firmware.pid!;
      const seconds = ctx.quick ? 2 : 5;
      const steadyFrom = ctx.quick ? 6 : 20;
      const stream = await streamToDiscard(rig, data);
      const window = async (): Promise<{ cpu: number; user: number; system: number; rate: number }> => {
        const before = cpuTicks(pid);
        const sent0 = stream.sent();
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const wall = (performance.now() - t0) / 1000;
        const after = cpuTicks(pid);
        const user = ((after.user - before.user) / 100 / wall) * 100;
        const system = ((after.system - before.system) / 100 / wall) * 100;
        return { cpu: user + system, user, system, rate: (stream.sent() - sent0) / wall };
      };
      const first = await window();
      await new Promise((r) => setTimeout(r, (steadyFrom - seconds) * 1000));
      const steady = await window();
      await stream.stop();
      for (const [what, w] of [['first seconds', first], ['steady', steady]] as const) {
        ctx.log(`pty 3000000 ${what}: ${w.rate.toFixed(0)} B/s, firmware CPU ${w.cpu.toFixed(1)}% (user ${w.user.toFixed(1)}%, system ${w.system.toFixed(1)}%)`);
      }
      figures.push({ key: 'cpu_pct_3000000', value: +steady.cpu.toFixed(1), unit: '% of a core', target: '<= 3',
        note: `firmware process receiving ${(steady.rate / 1000).toFixed(0)} kB/s at 3 000 000 baud (pty, UART timing), ${seconds} s from ${steadyFrom} s into one connection; node-serialport users report 15-100% at 9600-115200` });
      figures.push({ key: 'cpu_pct_3000000_first_seconds', value: +first.cpu.toFixed(1), unit: '% of a core',
        note: `the same firmware's first ${seconds} s of that connection, its first traffic since start (${(first.rate / 1000).toFixed(0)} kB/s), V8 still compiling the hot paths` });
    } finally {
      await rig.close();
    }
  }
  return figures;
}
