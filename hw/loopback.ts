/**
 * The loopback suite's machinery: a line whose output comes back to its own input, and the
 * checks run over it (every octet value, SLIP frames of every size, sustained throughput).
 *
 * Two kinds of line, same checks:
 * - hardware: a SerialLink on TEST_PORT with a TX-RX jumper; the UART sets the pace.
 * - virtual: a pty pair; the SerialLink opens the slave path as a real port is opened, its writes
 *   are paced to baud/10 octets per second by a UartTimedLink (a pty has no baud), and `PtyEcho`
 *   on the master sends back what it reads, as the jumper would. The echo can also be left out
 *   (no loopback wired) or made to corrupt octets, for the diagnosis tests.
 */
import type { DriverLink } from '../src/drivers/link.ts';
import type { FdLink } from '../src/drivers/fd-link.ts';
import { PtyPair } from '../src/drivers/pty.ts';
import { SerialLink } from '../src/drivers/serial-link.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC, slipEncode, slipEncodedMaxLen } from '../src/phy/slip.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../src/time.ts';
import { randomBytes } from '../support/pattern.ts';
import { echoProblem, HardwareProblem, portProblem, slowProblem, type LineContext } from './diagnosis.ts';
import { Progress } from './progress.ts';
import { Rig } from './rig.ts';

/** How long a line may stay silent before we call it dead, ms (issue 5: "nothing within 2 s"). */
export const SILENCE_MS = 2000;

/** What the virtual far end does with the octets it reads on the pty master. */
export type EchoFault =
  | 'echo' // sends everything back: a good jumper
  | 'seven-bit' // clears the top bit: a 7-bit line
  | 'bit-flips' // flips one bit in every 97th octet: a noisy line
  | 'drop' // loses 5 octets after the first 300: an overrun
  | 'none'; // reads nothing: no jumper

/** The virtual jumper: reads the pty master and writes it back, optionally garbling it. */
export class PtyEcho implements Pollable {
  readonly master: FdLink;
  readonly fault: EchoFault;
  /** Octets read from the master so far. */
  seen = 0;
  private readonly buffer = new Uint8Array(4096);
  private pos = 0;
  private len = 0;

  constructor(master: FdLink, fault: EchoFault = 'echo') {
    this.master = master;
    this.fault = fault;
  }

  poll(now: number): boolean {
    if (this.fault === 'none') return false;
    let progress = false;
    for (;;) {
      if (this.pos < this.len) {
        const n = this.master.write(now, this.buffer, this.pos, this.len - this.pos);
        this.pos += n;
        if (n > 0) progress = true;
        if (this.pos < this.len) return progress;
      }
      const got = this.master.read(now, this.buffer, 0, this.buffer.length);
      if (got === 0) return progress;
      progress = true;
      this.pos = 0;
      this.len = got;
      this.garble(got);
      this.seen += got;
    }
  }

  pollAt(now: number): number {
    return this.fault === 'none' ? NEVER : this.master.pollAt(now);
  }

  private garble(got: number): void {
    const b = this.buffer;
    switch (this.fault) {
      case 'seven-bit':
        for (let i = 0; i < got; i++) b[i] = b[i]! & 0x7f;
        return;
      case 'bit-flips':
        for (let i = 0; i < got; i++) if ((this.seen + i) % 97 === 96) b[i] = b[i]! ^ 0x10;
        return;
      case 'drop': {
        // Octets 300..304 of the stream vanish.
        const from = Math.max(300 - this.seen, 0);
        const to = Math.min(305 - this.seen, got);
        if (from < to) {
          b.copyWithin(from, to, got);
          this.len = got - (to - from);
        }
        return;
      }
      default:
        return;
    }
  }
}

/** A line that loops back: the link to write and read, where it is, and how to close it. */
export interface LoopbackLine {
  /** For messages: "/dev/ttyUSB0" or "/dev/pts/4 (virtual loopback pty)". */
  readonly port: string;
  /** For the report: the port, or "virtual pty (NO HARDWARE)". */
  readonly where: string;
  readonly hardware: boolean;
  readonly baud: number;
  readonly rtscts: boolean;
  /** What the checks write to and read from (paced in the virtual line). */
  readonly link: ByteLink;
  /** The serial port underneath. */
  readonly serial: DriverLink;
  readonly rig: Rig;
  /** The virtual far end, or null on hardware. */
  readonly echo: PtyEcho | null;
  close(): Promise<void>;
}

/** Opens TEST_PORT (TX wired to RX). Throws a port diagnosis when it cannot be opened. */
export async function openHardwareLoopback(path: string, baud: number, rtscts: boolean): Promise<LoopbackLine> {
  let serial: SerialLink;
  try {
    serial = await SerialLink.open(path, { baud, rtscts });
  } catch (error) {
    throw portProblem(path, error, 'the loopback port (TEST_PORT)');
  }
  const rig = new Rig();
  rig.watch(serial);
  return {
    port: path, where: path, hardware: true, baud, rtscts, link: serial, serial, rig, echo: null,
    async close() {
      await rig.stop();
      await serial.close();
    },
  };
}

/**
 * A pty pair as a loopback line: a SerialLink on the slave (paced to `baud`), `PtyEcho` with
 * `fault` on the master.
 */
export async function openVirtualLoopback(baud: number, fault: EchoFault = 'echo'): Promise<LoopbackLine> {
  const pair = await PtyPair.open({ slave: 'serial', baud });
  const rig = new Rig();
  rig.watch(pair.master);
  rig.watch(pair.slave);
  const echo = new PtyEcho(pair.master, fault);
  rig.add(echo);
  return {
    port: `${pair.slavePath} (virtual loopback pty)`,
    where: 'virtual pty (NO HARDWARE)',
    hardware: false,
    baud,
    rtscts: false,
    link: new UartTimedLink(pair.slave, baud),
    serial: pair.slave,
    rig,
    echo,
    async close() {
      await rig.stop();
      await pair.close();
    },
  };
}

function context(line: LoopbackLine, waitedMs: number, offset = 0): LineContext {
  return { port: line.port, baud: line.baud, rtscts: line.rtscts, waitedMs, offset };
}

/** Octets per second of the line: baud/10 on 8N1. */
export function lineRate(baud: number): number {
  return baud / 10;
}

/**
 * Writes a repeating pattern into a link (honouring back pressure) and reads back, checking every
 * octet against what was sent at that position. Keeps the first `captureLen` octets received.
 */
export class LoopbackStream implements Pollable {
  written = 0;
  received = 0;
  mismatches = 0;
  /** Stream position of the first octet that differed, or -1. */
  firstMismatch = -1;
  /** Stop writing once this many octets went out (Infinity: until `stopWriting`). */
  limit: number;
  readonly capture: Uint8Array;
  private readonly link: ByteLink;
  private readonly pattern: Uint8Array;
  private readonly scratch = new Uint8Array(4096);
  private blocked = false;
  private readonly onProgress: ((stream: LoopbackStream) => void) | null;

  constructor(link: ByteLink, pattern: Uint8Array, limit: number, captureLen: number, onProgress: ((s: LoopbackStream) => void) | null = null) {
    this.link = link;
    this.pattern = pattern;
    this.limit = limit;
    this.capture = new Uint8Array(captureLen);
    this.onProgress = onProgress;
  }

  /** The octet sent at stream position `i`. */
  sentAt(i: number): number {
    return this.pattern[i % this.pattern.length]!;
  }

  /** The octets sent at positions [from, to). */
  sentRange(from: number, to: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.sentAt(i);
    return out;
  }

  /** What was captured, [from, to) clipped to the capture. */
  capturedRange(from: number, to: number): Uint8Array {
    const end = Math.min(to, this.received, this.capture.length);
    return this.capture.slice(Math.min(from, end), end);
  }

  stopWriting(): void {
    this.limit = this.written;
  }

  poll(now: number): boolean {
    let progress = false;
    const p = this.pattern;
    while (this.written < this.limit) {
      const at = this.written % p.length;
      let want = p.length - at;
      if (this.limit - this.written < want) want = this.limit - this.written;
      const n = this.link.write(now, p, at, want);
      this.written += n;
      if (n > 0) progress = true;
      this.blocked = n < want;
      if (this.blocked) break;
    }
    for (;;) {
      const got = this.link.read(now, this.scratch, 0, this.scratch.length);
      if (got === 0) break;
      progress = true;
      for (let k = 0; k < got; k++) {
        const i = this.received + k;
        const b = this.scratch[k]!;
        if (i < this.capture.length) this.capture[i] = b;
        if (b !== p[i % p.length]) {
          this.mismatches++;
          if (this.firstMismatch < 0) this.firstMismatch = i;
        }
      }
      this.received += got;
    }
    if (progress && this.onProgress !== null) this.onProgress(this);
    return progress;
  }

  pollAt(now: number): number {
    if (this.written < this.limit && !this.blocked) return now;
    return this.link.pollAt(now);
  }
}

/**
 * Reads and throws away whatever is still arriving (a previous check's octets still paced out
 * or in flight) until the line has been quiet for `quietMs`, at most `maxMs`. Returns the octets dropped.
 */
export async function drainLine(line: LoopbackLine, quietMs = 100, maxMs = 5000): Promise<number> {
  const scratch = new Uint8Array(4096);
  let dropped = 0;
  const part: Pollable = {
    poll(now) {
      let moved = false;
      for (;;) {
        const n = line.link.read(now, scratch, 0, scratch.length);
        if (n === 0) return moved;
        dropped += n;
        moved = true;
      }
    },
    pollAt(now) {
      return line.link.pollAt(now);
    },
  };
  line.rig.add(part);
  try {
    await line.rig.until(() => false, { timeoutMs: maxMs, idleMs: quietMs, progress: () => dropped });
  } finally {
    line.rig.remove(part);
  }
  return dropped;
}

/** Every octet value up, then down: 512 octets. */
export function allOctets(): Uint8Array {
  const out = new Uint8Array(512);
  for (let i = 0; i < 256; i++) {
    out[i] = i;
    out[511 - i] = i;
  }
  return out;
}

/** Result of the all-octets check. */
export interface EchoResult {
  octets: number;
  /** From the first write to the last octet back, ms. */
  elapsedMs: number;
}

/**
 * Sends `data` (every octet value by default) and expects exactly it back. Throws a diagnosis
 * when nothing comes back within SILENCE_MS, when octets stop coming, or when they come back changed.
 */
export async function checkEcho(line: LoopbackLine, data: Uint8Array = allOctets()): Promise<EchoResult> {
  const rig = line.rig;
  await drainLine(line);
  const stream = new LoopbackStream(line.link, data, data.length, data.length + 4096);
  const started = rig.now();
  rig.add(stream);
  try {
    const first = await rig.until(() => stream.received > 0, { timeoutMs: SILENCE_MS });
    if (first !== 'done') throw echoProblem(data, new Uint8Array(0), context(line, SILENCE_MS));
    await rig.until(() => stream.received >= data.length || stream.mismatches > 0, {
      idleMs: SILENCE_MS, progress: () => stream.received,
    });
    const elapsedMs = rig.now() - started;
    // Linger a little: octets nobody sent (a getty, ModemManager) would show up now.
    await rig.sleep(Math.max(50, Math.ceil((64 * 1000) / lineRate(line.baud))));
    const got = stream.capturedRange(0, stream.received);
    const problem = echoProblem(data, got, context(line, SILENCE_MS));
    if (problem !== null) throw problem;
    return { octets: data.length, elapsedMs };
  } finally {
    rig.remove(stream);
  }
}

/** A frame to send and what the check calls it. */
export interface FramePlan {
  label: string;
  payload: Uint8Array;
}

/**
 * Frame sizes: every `step`-th size from 1 to `mtu`, plus 1, 2, 3, 4, mtu - 1 and mtu. Each
 * payload is pseudo-random (so END and ESC occur about twice per 256 octets), seeded by its size.
 */
export function sizePlans(mtu: number, step: number): FramePlan[] {
  const sizes = new Set<number>([1, 2, 3, 4, mtu - 1, mtu]);
  for (let n = 1; n <= mtu; n += step) sizes.add(n);
  return [...sizes].sort((a, b) => a - b).map((n) => ({ label: `${n} octets`, payload: randomBytes(n, 0x9e3779b1 ^ n) }));
}

/** The worst cases for the codec: every octet escaped, and escape-like octets in every order. */
export function specialPlans(mtu: number): FramePlan[] {
  const fill = (n: number, f: (i: number) => number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => f(i));
  const tricky = [SLIP_ESC, SLIP_ESC_END, SLIP_END, SLIP_ESC_ESC, SLIP_ESC, SLIP_ESC, SLIP_END, SLIP_END, SLIP_ESC_END, SLIP_ESC_ESC];
  return [
    { label: `${mtu} x END (0xc0)`, payload: fill(mtu, () => SLIP_END) },
    { label: `${mtu} x ESC (0xdb)`, payload: fill(mtu, () => SLIP_ESC) },
    { label: '3 x END', payload: fill(3, () => SLIP_END) },
    { label: '3 x ESC', payload: fill(3, () => SLIP_ESC) },
    { label: `${mtu} x END/ESC alternating`, payload: fill(mtu, (i) => (i & 1 ? SLIP_ESC : SLIP_END)) },
    { label: `${mtu} x ESC ESC_END END ESC_ESC ...`, payload: fill(mtu, (i) => tricky[i % tricky.length]!) },
    { label: `${mtu} x 0xdc/0xdd (ESC_END/ESC_ESC, unescaped)`, payload: fill(mtu, (i) => (i & 1 ? SLIP_ESC_ESC : SLIP_ESC_END)) },
  ];
}

export interface FrameResult {
  /** Frames that came back identical. */
  frames: number;
  /** Frames of 1-2 octets, dropped by the decoder as runts (as Linux SLIP does). */
  runts: number;
  /** Payload octets carried. */
  payloadOctets: number;
  /** SLIP octets on the wire (ENDs and escapes included). */
  wireOctets: number;
  elapsedMs: number;
}

/**
 * Sends each planned frame through a SlipDevice (the stack's own framing) over the line and
 * expects it back, identical, in order, a few frames in flight at once. Frames of 1 or 2 octets
 * are runts: the decoder drops them as Linux SLIP does, and the check expects exactly that.
 */
export async function checkFrames(line: LoopbackLine, mtu: number, plans: FramePlan[], label: string): Promise<FrameResult> {
  const rig = line.rig;
  await drainLine(line);
  const pool = new PacketPool({ slots: 32, mtu: Math.max(mtu, 68), name: 'hw' });
  const device = new SlipDevice(line.link, pool, { mtu, txQueue: 8, rxQueue: 8 });
  const encoded = new Uint8Array(slipEncodedMaxLen(mtu));
  const progress = new Progress(label, plans.length, 'frames');
  const inFlight = 4;
  let sent = 0;
  let checked = 0;
  let runtsExpected = 0;
  let wireOctets = 0;
  let payloadOctets = 0;
  let failure: { index: number; got: Uint8Array } | null = null;
  const part: Pollable = {
    poll(now) {
      let moved = false;
      for (;;) {
        const slot = device.receive(now);
        if (slot < 0) break;
        moved = true;
        // Runts never arrive: skip past them in the plan.
        while (checked < sent && plans[checked]!.payload.length <= 2) checked++;
        const want = plans[checked];
        const start = pool.start[slot]!;
        const got = pool.bytes.slice(start, start + pool.len[slot]!);
        pool.free(slot);
        if (failure !== null) continue;
        if (want === undefined || got.length !== want.payload.length || got.some((b, i) => b !== want.payload[i])) {
          failure = { index: checked, got };
          continue;
        }
        checked++;
        payloadOctets += got.length;
      }
      while (failure === null && sent < plans.length && sent - checked < inFlight && device.canTransmit(now)) {
        const payload = plans[sent]!.payload;
        const slot = pool.alloc();
        if (slot < 0) break;
        pool.bytes.set(payload, pool.start[slot]!);
        pool.len[slot] = payload.length;
        wireOctets += slipEncode(payload, 0, payload.length, encoded, 0);
        if (payload.length <= 2) runtsExpected++;
        device.transmit(now, slot);
        sent++;
        moved = true;
      }
      // Trailing runts: done once the decoder has counted them.
      while (checked < sent && plans[checked]!.payload.length <= 2 && device.stats.decoder.runt >= runtsExpected) checked++;
      if (moved) progress.update(checked);
      return moved;
    },
    pollAt(now) {
      return device.pollAt(now);
    },
  };
  const started = rig.now();
  rig.add(part);
  try {
    const end = await rig.until(() => failure !== null || checked === plans.length, {
      idleMs: SILENCE_MS, progress: () => device.stats.rxBytes,
    });
    progress.done();
    const elapsedMs = rig.now() - started;
    if (failure !== null) {
      const f = failure as { index: number; got: Uint8Array };
      const want = plans[f.index];
      const problem = echoProblem(want?.payload ?? new Uint8Array(0), f.got, context(line, SILENCE_MS));
      throw new HardwareProblem(problem?.kind ?? 'corrupt',
        `SLIP frame ${f.index + 1} of ${plans.length} (${want?.label ?? 'none expected'}) came back different. ` +
        (problem?.message ?? 'An extra frame arrived that nobody sent.'));
    }
    if (end !== 'done') {
      const d = device.stats.decoder;
      if (device.stats.rxBytes === 0) throw echoProblem(plans[0]!.payload, new Uint8Array(0), context(line, SILENCE_MS));
      throw new HardwareProblem('lost',
        `SLIP frames were lost on ${line.port} at ${line.baud} baud: ${checked} of ${plans.length} came back, then ` +
        `nothing for ${SILENCE_MS / 1000} s (the decoder dropped ${d.badEscape} with a bad escape, ${d.oversize} ` +
        `too long, ${d.runt - runtsExpected} unexpected runts). Likely cause: octets lost or changed inside frames ` +
        '(receiver overrun, a noisy line); the all-octets check above tells which. Check: flow control ' +
        '(TEST_RTSCTS=1 with RTS/CTS wired), a lower TEST_BAUD, the jumper, 3.3 V levels and a common ground.');
    }
    return { frames: checked - runtsExpected, runts: device.stats.decoder.runt, payloadOctets, wireOctets, elapsedMs };
  } finally {
    progress.done();
    rig.remove(part);
    device.close();
  }
}

export interface ThroughputResult {
  seconds: number;
  /** Octets that came back during the measurement. */
  octets: number;
  octetsPerSecond: number;
  /** Of the line rate, baud/10. */
  percent: number;
  /** Every octet sent, including the drain after the measurement. */
  totalOctets: number;
}

/** Below this share of the line rate the throughput check fails (on hardware only). */
export const MIN_THROUGHPUT_PERCENT = 80;

/**
 * Keeps the line full for `seconds` (writing a pseudo-random pattern whose length, 65521, is
 * prime, so a lost run of octets cannot line up again), measures the rate at which octets come
 * back, then drains and checks every octet.
 */
export async function checkThroughput(line: LoopbackLine, seconds: number): Promise<ThroughputResult> {
  const rig = line.rig;
  await drainLine(line);
  const rate = lineRate(line.baud);
  const progress = new Progress(`throughput at ${line.baud} baud`, seconds, 's');
  let measureFrom = -1;
  const stream = new LoopbackStream(line.link, randomBytes(65521, 0x5eed), Infinity, Math.min(16 << 20, Math.ceil(rate * (seconds + 4))),
    () => {
      if (measureFrom >= 0) progress.update((performance.now() - measureFrom) / 1000);
    });
  rig.add(stream);
  try {
    const first = await rig.until(() => stream.received > 0, { timeoutMs: SILENCE_MS });
    if (first !== 'done') {
      throw echoProblem(stream.sentRange(0, Math.min(stream.written, 4096)), new Uint8Array(0), context(line, SILENCE_MS));
    }
    // The clock starts at the first octet back, so start-up latency does not count.
    measureFrom = performance.now();
    const fromOctets = stream.received;
    const end = await rig.until(() => stream.mismatches > 0, { timeoutMs: seconds * 1000, idleMs: SILENCE_MS, progress: () => stream.received });
    const elapsed = (performance.now() - measureFrom) / 1000;
    const octets = stream.received - fromOctets;
    progress.done();
    stream.stopWriting();
    if (end === 'timeout') {
      // Drain what is still on its way (TX buffers), then check it all.
      await rig.until(() => stream.received >= stream.written || stream.mismatches > 0, { idleMs: SILENCE_MS, progress: () => stream.received });
    }
    if (stream.mismatches > 0 || stream.received < stream.written) {
      const at = stream.mismatches > 0 ? stream.firstMismatch : stream.received;
      const from = Math.max(0, at - 32);
      const to = Math.min(from + 4096, stream.written);
      const problem = echoProblem(stream.sentRange(from, to), stream.capturedRange(from, to), context(line, SILENCE_MS, from));
      if (problem !== null) throw problem;
      throw new HardwareProblem('lost', `Octets were lost on ${line.port}: ${stream.received} of ${stream.written} came back.`);
    }
    const octetsPerSecond = octets / elapsed;
    const percent = (100 * octetsPerSecond) / rate;
    // On hardware the UART sets the pace, and a slow line is a fault to diagnose. On a virtual
    // pty the pace is this machine's scheduler (a loaded CI machine runs it slower): the figure
    // is reported, never judged, as no test asserts a wall-clock timing.
    if (line.hardware && percent < MIN_THROUGHPUT_PERCENT) throw slowProblem(context(line, 0), octetsPerSecond, percent);
    return { seconds: elapsed, octets, octetsPerSecond, percent, totalOctets: stream.written };
  } finally {
    progress.done();
    rig.remove(stream);
  }
}
