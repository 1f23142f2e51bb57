/**
 * What the fuzzing surfaces share: the result and failure types, the board's serial line as the
 * fuzz feeds it (FeedLink), the board itself, SLIP framing, TCP segments from the peer (192.0.2.1)
 * to the board (192.0.2.2) and sessions that follow the board's answers, and the random edits
 * that turn valid inputs into mutated ones. Everything random comes from one Xorshift32 per run.
 */
import { Board } from '../../firmware-bridge/board.ts';
import type { FirmwareConfig } from '../../firmware-bridge/cli.ts';
import type { ByteLink } from '../../src/phy/device.ts';
import { SLIP_END, slipEncode, slipEncodedMaxLen } from '../../src/phy/slip.ts';
import { VJ_HEADROOM, VjDecompressor, VjResult, VjType } from '../../src/phy/vj.ts';
import type { Xorshift32 } from '../../src/random.ts';
import { NEVER } from '../../src/time.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { ipv4, naiveChecksum, read16 } from '../helpers/packets.ts';

export type FuzzMode = 'random' | 'mutated';
export const FUZZ_SURFACES = ['slip', 'ipv4', 'telnet', 'cslip', 'http'] as const;
export type FuzzSurface = (typeof FUZZ_SURFACES)[number];

export interface FuzzResult {
  surface: FuzzSurface;
  mode: FuzzMode;
  seed: number;
  inputs: number;
  /** Wall-clock ms the inputs took (not the checks after). */
  ms: number;
  /** Packet pool slots still in use after the stack was left to time out (must be 0). */
  leakedSlots: number;
  /** TCP sockets still in use then (must be 0). */
  leakedSockets: number;
  /** Whether the board answered an echo request after the run. */
  answersPing: boolean;
  /** Frames the board sent while fuzzed (it answers some inputs). */
  framesOut: number;
  /** Octets the board's echo service echoed (how far TCP input got: past the handshake, into a service). */
  echoedOctets: number;
  /** Checks of the surface's own that failed (empty when all held): each says what was expected and found. */
  problems: string[];
  /** Figures of the surface's own for the report (decompressor counters, HTTP status counts, ...). */
  counters: Record<string, number>;
}

/** A throw out of the code under test, with what reproduces it. */
export class FuzzFailure extends Error {
  constructor(surface: FuzzSurface, mode: FuzzMode, seed: number, index: number, input: Uint8Array, cause: unknown) {
    super(`fuzz ${surface}/${mode} seed ${seed} input #${index} threw: ${(cause as Error)?.stack ?? String(cause)}\n` +
      `input (${input.length} octets): ${Buffer.from(input).toString('hex').slice(0, 400)}\n` +
      `reproduce: npm run fuzz -- --surface ${surface} --mode ${mode} --seed ${seed} --iterations ${index + 1}`, { cause });
  }
}

/**
 * The serial line of the fuzzed board: reads return the input being fed, writes are kept for
 * `takeOutput` (and counted). With a `relay` (a MemoryLink whose other end a peer stack runs),
 * the board talks to that peer instead, and fed input still goes first.
 */
export class FeedLink implements ByteLink {
  input: Uint8Array = new Uint8Array(0);
  pos = 0;
  written = 0;
  /** When set, the line to a real peer: what the board writes goes there, and it is read when no fed input is left. */
  relay: ByteLink | null = null;
  read(now: number, dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.input.length - this.pos);
    if (n <= 0) return this.relay !== null ? this.relay.read(now, dst, off, len) : 0;
    dst.set(this.input.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }
  /** What the board wrote since the last `takeOutput` (SLIP octets), for the TCP sessions of the ipv4 surface. */
  private out = new Uint8Array(1 << 18);
  private outLen = 0;
  write(now: number, src: Uint8Array, off: number, len: number): number {
    if (this.relay !== null) {
      const taken = this.relay.write(now, src, off, len);
      this.written += taken;
      return taken;
    }
    this.written += len;
    const n = Math.min(len, this.out.length - this.outLen);
    this.out.set(src.subarray(off, off + n), this.outLen);
    this.outLen += n;
    return len;
  }
  /**
   * The board's compressed frames, rebuilt as its CSLIP peer would: a mutated input can switch
   * the default adaptive mode's compression on (it stays on), after which TCP leaves the board
   * as UNCOMPRESSED_TCP and COMPRESSED_TCP frames.
   */
  readonly peerDecompressor = new VjDecompressor();
  private readonly rebuild = new Uint8Array(VJ_HEADROOM + 2048);
  /** The frames the board sent since the last call (SLIP decoded, VJ decompressed). */
  takeOutput(): Uint8Array[] {
    return this.takeSlipFrames().map((f) => {
      if (f.length === 0 || f[0]! < VjType.UncompressedTcp) return f;
      this.rebuild.set(f, VJ_HEADROOM);
      const r = this.peerDecompressor.decompress(this.rebuild, VJ_HEADROOM, f.length, 0, this.rebuild.length);
      if (r !== VjResult.Deliver) return new Uint8Array(0);
      const d = this.peerDecompressor;
      return this.rebuild.slice(d.outOff, d.outOff + d.outLen);
    });
  }
  private readonly frame = new Uint8Array(1 << 16);
  private takeSlipFrames(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const cur = this.frame;
    let n = 0;
    let esc = false;
    for (let i = 0; i < this.outLen; i++) {
      const b = this.out[i]!;
      if (b === SLIP_END) {
        if (n > 0) frames.push(cur.slice(0, n));
        n = 0;
      } else if (n >= cur.length) continue;
      else if (esc) {
        cur[n++] = b === 0xdc ? SLIP_END : 0xdb;
        esc = false;
      } else if (b === 0xdb) esc = true;
      else cur[n++] = b;
    }
    this.outLen = 0;
    return frames;
  }
  pollAt(now: number): number {
    if (this.pos < this.input.length) return now;
    return this.relay !== null ? this.relay.pollAt(now) : NEVER;
  }
}

export const PASSWORD = 'fuzz pass';

/** The firmware board the fuzz runs (192.0.2.2, MTU 1500, 8 sockets, telnet with PASSWORD), with `overrides`. */
export function fuzzBoard(link: ByteLink, overrides: Partial<FirmwareConfig> = {}): Board {
  const config: FirmwareConfig = {
    port: 'fuzz', baud: 115200, rtscts: false, ip: HOST_B, peer: HOST_A, mtu: 1500, password: PASSWORD,
    insecureNoLogin: false, pcap: null, verbose: false, uartTiming: false, dropPct: 0, reorderPct: 0, seed: 1, sockets: 8,
    proto: 'adaptive', ...overrides,
  };
  return new Board({ link, config, isnKey: [1, 2, 3, 4], version: 'fuzz', imageSha256: '00'.repeat(32) });
}

/** `frame` SLIP-encoded between two ENDs. */
export function slipFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(slipEncodedMaxLen(frame.length) + 2);
  out[0] = SLIP_END;
  const n = slipEncode(frame, 0, frame.length, out, 1);
  out[1 + n] = SLIP_END;
  return out.subarray(0, n + 2);
}

/** A TCP segment from A to B with a valid checksum (no options). */
export function tcpSegment(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, srcPort);
  dv.setUint16(2, dstPort);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, ack >>> 0);
  b[12] = 5 << 4;
  b[13] = flags;
  dv.setUint16(14, 8192);
  b.set(data, 20);
  fixTransportChecksum(b, 6);
  return ipv4({ protocol: 6 }, b).slice(20);
}

/**
 * A TCP connection a surface keeps with the board (mutated mode): a real handshake, then
 * in-window data, FIN or RST, with the board's sequence numbers read from what it sent, so that
 * mutated segments reach the states past SYN-RECEIVED (ESTABLISHED, CLOSE-WAIT, ...).
 */
export interface FuzzSession {
  srcPort: number;
  dstPort: number;
  /** Our next sequence number. */
  seq: number;
  /** The board's next sequence number (what we acknowledge), -1 before its SYN-ACK, -2 after a RST. */
  ack: number;
  /** The acknowledgment number of the board's last segment (its RCV.NXT), or -1. */
  boardAck: number;
}

/** A RST of session `s` with sequence number `seq`. */
export function rstOf(s: FuzzSession, seq: number): Uint8Array {
  return slipFrame(ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, seq, 0, RST, new Uint8Array(0))));
}

/** Reads the board's segments to `s`: its SYN-ACK, and how far its data and FIN reached. */
export function followBoard(s: FuzzSession, frames: Uint8Array[]): void {
  for (const f of frames) {
    if (f.length < 40 || f[9] !== 6) continue;
    const ihl = (f[0]! & 0x0f) * 4;
    const t = ihl;
    if (read16(f, t) !== s.dstPort || read16(f, t + 2) !== s.srcPort) continue;
    const flags = f[t + 13]!;
    const seq = ((f[t + 4]! << 24) | (f[t + 5]! << 16) | (f[t + 6]! << 8) | f[t + 7]!) >>> 0;
    if ((flags & ACK) !== 0) s.boardAck = ((f[t + 8]! << 24) | (f[t + 9]! << 16) | (f[t + 10]! << 8) | f[t + 11]!) >>> 0;
    const len = read16(f, 2) - ihl - (f[t + 12]! >> 4) * 4;
    if ((flags & RST) !== 0) {
      s.ack = -2;
      continue;
    }
    const end = (seq + len + ((flags & SYN) !== 0 ? 1 : 0) + ((flags & FIN) !== 0 ? 1 : 0)) >>> 0;
    if ((flags & SYN) !== 0 || (s.ack >= 0 && ((end - s.ack) | 0) > 0)) s.ack = end;
  }
}

/**
 * Ends a session the fuzz moves on from with a clean RST, as a peer that goes away with a reset
 * would, so its socket is not left open with nobody on the other side (an idle connection has
 * no deadline): at our next sequence number, and, if a segment far out of the window still
 * gets an ACK (our idea of its RCV.NXT was off: mutated data taken or dropped), again at the
 * number that ACK carries. `step` runs the board until it is quiet. The segments go as plain
 * IPv4 (TYPE_IP on a compressing line, which leaves both ends' compression state alone). What
 * the board sent meanwhile goes to `others` (the surface's other sessions), when given.
 */
export function endSession(link: FeedLink, step: () => void, s: FuzzSession, others?: (frames: Uint8Array[]) => void): void {
  link.input = rstOf(s, s.seq);
  link.pos = 0;
  step();
  // Still there? A segment far out of its window makes it answer with an ACK at RCV.NXT (RFC 9293 §3.10.7.4).
  const far = (s.seq + 0x80000000) >>> 0;
  link.input = slipFrame(ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, far, s.ack < 0 ? 0 : s.ack, ACK, new Uint8Array(0))));
  link.pos = 0;
  others?.(link.takeOutput());
  step();
  const probe: FuzzSession = { ...s, boardAck: -1 };
  const answers = link.takeOutput();
  followBoard(probe, answers);
  others?.(answers);
  if (probe.boardAck >= 0) {
    link.input = rstOf(s, probe.boardAck);
    link.pos = 0;
    step();
    others?.(link.takeOutput());
  }
}

/** Recomputes the UDP or TCP checksum of `segment` (from A to B). */
export function fixTransportChecksum(segment: Uint8Array, protocol: number): void {
  const at = protocol === 6 ? 16 : 6;
  if (segment.length < at + 2) return;
  segment[at] = 0;
  segment[at + 1] = 0;
  const sum = (HOST_A >>> 16) + (HOST_A & 0xffff) + (HOST_B >>> 16) + (HOST_B & 0xffff) + protocol + segment.length;
  let c = naiveChecksum(segment, 0, segment.length, sum);
  if (protocol === 17 && c === 0) c = 0xffff;
  segment[at] = c >> 8;
  segment[at + 1] = c & 0xff;
}

/** Recomputes the IPv4 header checksum of `frame` and, for a whole unfragmented UDP or TCP packet, its transport checksum. */
export function fixHeaders(frame: Uint8Array): void {
  if (frame.length < 20) return;
  const ihl = (frame[0]! & 0x0f) * 4;
  frame[10] = 0;
  frame[11] = 0;
  const c = naiveChecksum(frame, 0, Math.min(Math.max(ihl, 20), frame.length));
  frame[10] = c >> 8;
  frame[11] = c & 0xff;
  const total = read16(frame, 2);
  if (ihl === 20 && total === frame.length && (read16(frame, 6) & 0x3fff) === 0 && (frame[9] === 6 || frame[9] === 17)) {
    fixTransportChecksum(frame.subarray(20), frame[9]!);
  }
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

/** 1..4 random edits of a copy of `seed`, at most `max` octets long. */
export function mutate(rng: Xorshift32, seed: Uint8Array, max: number): Uint8Array {
  let out = seed.slice();
  const edits = 1 + rng.below(4);
  for (let e = 0; e < edits; e++) {
    const kind = rng.below(6);
    if (out.length === 0 && kind !== 3) out = new Uint8Array(1 + rng.below(8));
    if (kind === 0) out[rng.below(out.length)] = rng.next() & 0xff;
    else if (kind === 1) out[rng.below(Math.min(48, out.length))]! ^= 1 << rng.below(8);
    else if (kind === 2) out = out.subarray(0, rng.below(out.length + 1));
    else if (kind === 3) {
      const longer = new Uint8Array(Math.min(max, out.length + 1 + rng.below(64)));
      longer.set(out.subarray(0, longer.length));
      for (let i = out.length; i < longer.length; i++) longer[i] = rng.next() & 0xff;
      out = longer;
    } else if (kind === 4) {
      // A 16-bit field anywhere in the first 40 octets (lengths, ports, offsets, windows).
      const at = rng.below(Math.max(1, Math.min(39, out.length - 1)));
      const v = [0, 1, 0x7fff, 0x8000, 0xffff, rng.next() & 0xffff][rng.below(6)]!;
      if (at + 1 < out.length) {
        out[at] = v >> 8;
        out[at + 1] = v & 0xff;
      }
    } else if (out.length > 0) {
      // A run of one octet (SLIP END/ESC, IAC, CR) somewhere.
      const b = [0xc0, 0xdb, 0xff, 0x0d, 0x00, 0x03][rng.below(6)]!;
      const at = rng.below(out.length);
      out.fill(b, at, Math.min(out.length, at + 1 + rng.below(4)));
    }
  }
  return out;
}

/** The octets of `parts`, one after the other. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** `len` random octets. */
export function randomOctets(rng: Xorshift32, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i += 4) {
    const w = rng.next();
    b[i] = w;
    if (i + 1 < len) b[i + 1] = w >>> 8;
    if (i + 2 < len) b[i + 2] = w >>> 16;
    if (i + 3 < len) b[i + 3] = w >>> 24;
  }
  return b;
}
