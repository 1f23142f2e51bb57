/**
 * Fuzzing surfaces: seeded, reproducible streams of random and mutated inputs into the real
 * firmware code, each checked for the same three things (the contract): no exception
 * escapes, every packet pool slot comes back once the stack has been left to time out, and the
 * stack still answers a ping afterwards.
 *
 *   slip    octets on the serial line into the whole Board (SLIP decoder, IPv4 and up, services)
 *   ipv4    whole IPv4 frames (ICMP, UDP, TCP, fragments) SLIP-framed into the whole Board
 *   telnet  the telnet protocol and the shell line, octets into a TelnetSession of the Board's
 *           telnet server (negotiation, Synch, line editing, every command, ping, xfer, Ctrl-C)
 *
 * "random" inputs are random octets (for ipv4 three quarters get a valid IPv4 header around
 * random contents); "mutated" inputs are valid ones (seeds) with 1..4 random edits: an octet
 * replaced, a bit flipped, cut short, lengthened, a header field changed (and for ipv4 half get
 * their checksums fixed up so they reach the layer above). Half of the ipv4 mutated inputs are
 * segments of real TCP connections to echo, discard, chargen and telnet (a handshake, in-window
 * data, FIN, RST, a third of them mutated), so the fuzz reaches ESTABLISHED and the services. Everything comes from Xorshift32(seed): the
 * same seed gives the same inputs, and a failure names the seed and the input's index.
 *
 * Used by test/iface/fuzz.test.ts (a short slice on every run) and scripts/fuzz.ts
 * (`npm run fuzz -- --iterations N`).
 */
import { Board } from '../../firmware-bridge/board.ts';
import type { FirmwareConfig } from '../../firmware-bridge/cli.ts';
import type { TelnetSession } from '../../firmware-bridge/telnet/session.ts';
import type { ByteLink } from '../../src/phy/device.ts';
import { SLIP_END, slipEncode, slipEncodedMaxLen } from '../../src/phy/slip.ts';
import { VJ_HEADROOM, VjDecompressor, VjResult, VjType } from '../../src/phy/vj.ts';
import { Xorshift32 } from '../../src/random.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { NEVER } from '../../src/time.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { echoRequest, fragment, ipv4, naiveChecksum, read16, udp } from '../helpers/packets.ts';

export type FuzzMode = 'random' | 'mutated';
export const FUZZ_SURFACES = ['slip', 'ipv4', 'telnet'] as const;
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
}

/** A throw out of the code under test, with what reproduces it. */
export class FuzzFailure extends Error {
  constructor(surface: FuzzSurface, mode: FuzzMode, seed: number, index: number, input: Uint8Array, cause: unknown) {
    super(`fuzz ${surface}/${mode} seed ${seed} input #${index} threw: ${(cause as Error)?.stack ?? String(cause)}\n` +
      `input (${input.length} octets): ${Buffer.from(input).toString('hex').slice(0, 400)}\n` +
      `reproduce: npm run fuzz -- --surface ${surface} --mode ${mode} --seed ${seed} --iterations ${index + 1}`, { cause });
  }
}

/** The serial line of the fuzzed board: reads return the input being fed, writes are counted and dropped. */
class FeedLink implements ByteLink {
  input: Uint8Array = new Uint8Array(0);
  pos = 0;
  written = 0;
  read(_now: number, dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.input.length - this.pos);
    if (n <= 0) return 0;
    dst.set(this.input.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }
  /** What the board wrote since the last `takeOutput` (SLIP octets), for the TCP sessions of the ipv4 surface. */
  private out = new Uint8Array(1 << 18);
  private outLen = 0;
  write(_now: number, src: Uint8Array, off: number, len: number): number {
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
  private readonly peerDecompressor = new VjDecompressor();
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
  private takeSlipFrames(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let cur: number[] = [];
    let esc = false;
    for (let i = 0; i < this.outLen; i++) {
      const b = this.out[i]!;
      if (b === SLIP_END) {
        if (cur.length > 0) frames.push(Uint8Array.from(cur));
        cur = [];
      } else if (esc) {
        cur.push(b === 0xdc ? SLIP_END : 0xdb);
        esc = false;
      } else if (b === 0xdb) esc = true;
      else cur.push(b);
    }
    this.outLen = 0;
    return frames;
  }
  pollAt(now: number): number {
    return this.pos < this.input.length ? now : NEVER;
  }
}

const PASSWORD = 'fuzz pass';

function fuzzBoard(link: ByteLink): Board {
  const config: FirmwareConfig = {
    port: 'fuzz', baud: 115200, rtscts: false, ip: HOST_B, peer: HOST_A, mtu: 1500, password: PASSWORD,
    insecureNoLogin: false, pcap: null, verbose: false, uartTiming: false, dropPct: 0, reorderPct: 0, seed: 1, sockets: 8,
    proto: 'adaptive',
  };
  return new Board({ link, config, isnKey: [1, 2, 3, 4], version: 'fuzz', imageSha256: '00'.repeat(32) });
}

function slipFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(slipEncodedMaxLen(frame.length) + 2);
  out[0] = SLIP_END;
  const n = slipEncode(frame, 0, frame.length, out, 1);
  out[1 + n] = SLIP_END;
  return out.subarray(0, n + 2);
}

/** A TCP segment from A to B with a valid checksum (no options). */
function tcpSegment(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, data: Uint8Array): Uint8Array {
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
 * A TCP connection the ipv4 surface keeps with the board (mutated mode): a real handshake, then
 * in-window data, FIN or RST, with the board's sequence numbers read from what it sent, so that
 * mutated segments reach the states past SYN-RECEIVED (ESTABLISHED, CLOSE-WAIT, ...).
 */
interface FuzzSession {
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
function rstOf(s: FuzzSession, seq: number): Uint8Array {
  return slipFrame(ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, seq, 0, RST, new Uint8Array(0))));
}

/** Reads the board's segments to `s`: its SYN-ACK, and how far its data and FIN reached. */
function followBoard(s: FuzzSession, frames: Uint8Array[]): void {
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

/** Recomputes the UDP or TCP checksum of `segment` (from A to B). */
function fixTransportChecksum(segment: Uint8Array, protocol: number): void {
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

function fixHeaders(frame: Uint8Array): void {
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

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const RST = 0x04;

function ipv4Seeds(): Uint8Array[] {
  const seeds: Uint8Array[] = [
    echoRequest(new Uint8Array(56).fill(7)),
    echoRequest(new Uint8Array(1200).fill(9), 2),
    ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 7, new TextEncoder().encode('udp echo me'))),
    ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 99, new Uint8Array(10))),
    ...fragment(echoRequest(new Uint8Array(2500).fill(3), 3, 0x7777), 800),
  ];
  for (const port of [7, 9, 19, 23, 80]) {
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1000, 0, SYN, new Uint8Array(0))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, ACK | PSH, new TextEncoder().encode('data\r\n'))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, ACK | FIN, new Uint8Array(0))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, RST, new Uint8Array(0))));
  }
  return seeds;
}

function telnetSeeds(): Uint8Array[] {
  const t = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const IAC = 255;
  const lines = [
    `${PASSWORD}\r\n`, 'help\r\n', 'stats\r\n', 'pool\r\n', 'netstat\r\n', 'ifconfig\r\n', 'uptime\r\n', 'version\r\n',
    'ping 192.0.2.1 -c 2\r\n', 'ping 192.0.2.1 -s 300 -i 0.2\r\n', 'xfer 192.0.2.1 5555 1000\r\n', 'echo hello\r\n',
    'wrong password\r\n', 'exit\r\n', '\x03', 'abc\x08\x7f\x15def\r\0',
  ];
  const seeds = lines.map((l) => Uint8Array.from(t(l)));
  seeds.push(Uint8Array.from([IAC, 253, 1, IAC, 251, 31, IAC, 250, 31, 0, 80, 0, 24, IAC, 240]));
  seeds.push(Uint8Array.from([IAC, 244, IAC, 246, IAC, 247, IAC, 248, IAC, 242, IAC, IAC]));
  seeds.push(Uint8Array.from([IAC, 250, 24, ...new Array(100).fill(1), IAC, 240]));
  return seeds;
}

/** 1..4 random edits of a copy of `seed`, at most `max` octets long. */
function mutate(rng: Xorshift32, seed: Uint8Array, max: number): Uint8Array {
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

/** A socket for a TelnetSession that reads the fuzz input and takes all output (sent nowhere). */
class FeedSocket {
  input: Uint8Array = new Uint8Array(0);
  pos = 0;
  remoteClosed = false;
  urgentMark = 0;
  sendSpace = 1 << 20;
  state = 4;
  get readable(): boolean {
    return this.pos < this.input.length;
  }
  get recvQueue(): number {
    return this.input.length - this.pos;
  }
  recv(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.input.length - this.pos);
    if (n <= 0) return this.remoteClosed ? 0 : -1;
    dst.set(this.input.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }
  send(_src: Uint8Array, _off: number, len: number): number {
    return len;
  }
  close(): void {}
  abort(): void {}
  shutdown(): void {}
}

/** Feeds `iterations` inputs of one surface and mode into a fresh board, then checks it. */
export function fuzz(surface: FuzzSurface, mode: FuzzMode, iterations: number, seed: number): FuzzResult {
  const rng = new Xorshift32(seed === 0 ? 1 : seed);
  const link = new FeedLink();
  const board = fuzzBoard(link);
  let now = 1;
  const step = (): void => {
    for (let spins = 0; spins < 64 && board.poll(now); spins++) { /* until quiet */ }
  };
  const ipSeeds = ipv4Seeds();
  const tSeeds = telnetSeeds();
  const slipSeeds = ipSeeds.map(slipFrame);
  let tcpSession: FuzzSession | null = null;
  /**
   * Ends a session the fuzz moves on from with a clean RST, as a peer that goes away with a reset
   * would, so its socket is not left open with nobody on the other side (an idle connection has
   * no deadline): at our next sequence number, and, if a segment far out of the window still
   * gets an ACK (our idea of its RCV.NXT was off: mutated data taken or dropped), again at the
   * number that ACK carries.
   */
  const endSession = (s: FuzzSession): void => {
    link.input = rstOf(s, s.seq);
    link.pos = 0;
    step();
    // Still there? A segment far out of its window makes it answer with an ACK at RCV.NXT (RFC 9293 §3.10.7.4).
    const far = (s.seq + 0x80000000) >>> 0;
    link.input = slipFrame(ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, far, s.ack < 0 ? 0 : s.ack, ACK, new Uint8Array(0))));
    link.pos = 0;
    link.takeOutput();
    step();
    const probe: FuzzSession = { ...s, boardAck: -1 };
    followBoard(probe, link.takeOutput());
    if (probe.boardAck >= 0) {
      link.input = rstOf(s, probe.boardAck);
      link.pos = 0;
      step();
      link.takeOutput();
    }
  };
  let nextPort = 30000;
  let session: TelnetSession | null = null;
  let sock: FeedSocket | null = null;
  const passwordLine = new TextEncoder().encode(`${PASSWORD}\r\n`);
  const openSession = (): void => {
    session = board.telnet!.sessions[0]!;
    sock = new FeedSocket();
    session.open(now, sock as unknown as TcpSocket);
    // Most sessions log in first, so the fuzz reaches the shell, not only the password prompt.
    if (rng.below(4) !== 0) {
      sock.input = passwordLine;
      session.poll(now);
    }
  };
  if (surface === 'telnet') openSession();

  let input: Uint8Array = new Uint8Array(0);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    try {
      if (surface === 'slip') {
        input = mode === 'random' ? randomOctets(rng, rng.below(4) === 0 ? rng.below(16) : rng.below(1600))
          : mutate(rng, slipSeeds[rng.below(slipSeeds.length)]!, 3200);
        link.input = input;
        link.pos = 0;
      } else if (surface === 'ipv4') {
        let frame: Uint8Array;
        if (mode === 'random') {
          frame = randomOctets(rng, rng.below(4) === 0 ? rng.below(28) : rng.below(1500));
          if (frame.length >= 20 && rng.below(4) !== 0) {
            frame[0] = 0x45;
            frame[2] = frame.length >> 8;
            frame[3] = frame.length & 0xff;
            frame[6] = frame[6]! & 0x40;
            frame[7] = 0;
            frame[9] = [1, 6, 17][rng.below(3)]!;
            frame.set([192, 0, 2, 1, 192, 0, 2, 2], 12);
            fixHeaders(frame);
          }
        } else if (rng.below(2) === 0) {
          frame = mutate(rng, ipSeeds[rng.below(ipSeeds.length)]!, 1500);
          if (rng.below(2) === 0) fixHeaders(frame);
        } else {
          // A segment of a real connection, valid or mutated.
          const s = tcpSession as FuzzSession | null;
          if (s !== null) followBoard(s, link.takeOutput());
          if (s === null || s.ack === -2 || (s.ack === -1 && rng.below(2) === 0) || rng.below(64) === 0) {
            nextPort = nextPort >= 60000 ? 30000 : nextPort + 1;
            const fresh: FuzzSession = { srcPort: nextPort, dstPort: [7, 9, 19, 23][rng.below(4)]!, seq: rng.next(), ack: -1, boardAck: -1 };
            tcpSession = fresh;
            frame = ipv4({ protocol: 6 }, tcpSegment(fresh.srcPort, fresh.dstPort, fresh.seq, 0, SYN, new Uint8Array(0)));
            fresh.seq = (fresh.seq + 1) >>> 0;
            if (s !== null) endSession(s);
          } else {
            const kind = rng.below(16);
            const flags = kind === 0 ? RST : kind === 1 ? ACK | FIN : ACK | PSH;
            const data = kind <= 1 ? new Uint8Array(0) : randomOctets(rng, rng.below(4) === 0 ? 0 : 1 + rng.below(900));
            frame = ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, s.seq, s.ack < 0 ? 0 : s.ack, flags, data));
            s.seq = (s.seq + data.length + (kind === 1 ? 1 : 0)) >>> 0;
            if (kind === 0) s.ack = -2;
            if (rng.below(3) === 0) {
              frame = mutate(rng, frame, 1500);
              if (rng.below(2) === 0) fixHeaders(frame);
            }
          }
        }
        if (frame.length > 0) {
          input = slipFrame(frame);
          link.input = input;
          link.pos = 0;
        }
      } else {
        input = mode === 'random' ? randomOctets(rng, rng.below(96)) : mutate(rng, tSeeds[rng.below(tSeeds.length)]!, 512);
        const s = sock!;
        s.input = input;
        s.pos = 0;
        // Now and then the peer closes.
        if (rng.below(512) === 0) s.remoteClosed = true;
        session!.poll(now);
        if (session!.done) {
          session!.reset();
          openSession();
        }
      }
      step();
      // Time moves by a little, and now and then by a lot (so timers, back-offs and timeouts fire).
      now += rng.below(64) === 0 ? 1 + rng.below(120_000) : 1 + rng.below(20);
    } catch (e) {
      throw new FuzzFailure(surface, mode, seed, i, input, e);
    }
  }
  const ms = performance.now() - started;

  // Let everything time out, then check.
  if (session !== null) (session as TelnetSession).reset();
  link.input = new Uint8Array(0);
  if (tcpSession !== null) {
    step();
    followBoard(tcpSession, link.takeOutput());
    endSession(tcpSession);
  }
  for (let t = 0; t < 40; t++) {
    now += 60_000;
    step();
  }
  // The ping's leading END also ends a frame the fuzz left half-decoded (which holds its slot).
  const before = board.iface.stats.icmp.echoReplied;
  link.input = slipFrame(echoRequest(new Uint8Array(32), 9, 0x4321));
  link.pos = 0;
  step();
  const answersPing = board.iface.stats.icmp.echoReplied === before + 1;
  const leakedSlots = board.pool.stats.used;
  const leakedSockets = board.tcp.used;
  board.shutdown();
  return {
    surface, mode, seed, inputs: iterations, ms, leakedSlots, leakedSockets, answersPing, framesOut: board.iface.stats.ip.xmit,
    echoedOctets: board.tcpEcho.echoed,
  };
}

function randomOctets(rng: Xorshift32, len: number): Uint8Array {
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
