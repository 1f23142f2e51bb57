/**
 * The `cslip` fuzzing surface: the RFC 1144 (Van Jacobson) decompressor of the whole firmware
 * board, run with `--proto cslip` so compression is on from the start (src/phy/vj.ts behind
 * src/phy/cslip-device.ts, then IPv4, TCP and the services). The inputs alternate between two
 * boards: one of the default profile (slots with headroom: a rebuilt header goes in front of
 * the data) and one of --profile small (MTU 296, no headroom: the data moves up, and a packet
 * that no longer fits its slot is dropped as "no room").
 *
 * - random: SLIP-framed random frames whose first octet is 0x70..0xFF (UNCOMPRESSED_TCP and
 *   COMPRESSED_TCP), half of the UNCOMPRESSED_TCP ones (40 octets and more) with a valid IPv4
 *   header naming a random connection slot (so they load the decompressor's table, half with a
 *   valid TCP checksum too) and half of the COMPRESSED_TCP ones naming a slot 0..15 explicitly
 *   (so they are rebuilt from what was loaded); plus random octets on the line and frame errors.
 * - mutated: the frames a CSLIP peer would send on real TCP connections with the board (up to
 *   three at once, to echo, discard, chargen and telnet), made by a VjCompressor: SYN as TYPE_IP,
 *   then UNCOMPRESSED_TCP and COMPRESSED_TCP with every delta kind (window, ACK, sequence, IP ID
 *   jumps, PSH, URG and its pointer, SPECIAL_I and SPECIAL_D), connection numbers implicit and
 *   explicit (the compressor's three `connectionId` modes in turn), retransmissions (sent whole,
 *   as RFC 1144 has them resynchronise), FIN and RST; a third get 1..4 random edits, and one in
 *   eight follows a frame error (a bad escape, a runt, or an oversize frame), so the toss
 *   state is entered and left again.
 *
 * The checks beyond the common ones: every frame the SLIP layer delivered is accounted for, as
 * a packet handed to IPv4 or as a decompressor error, toss or no-room drop; every unmutated
 * implicit-connection COMPRESSED_TCP frame sent right after a frame error was tossed (a lower
 * bound on `tossed`); and afterwards a real compressing peer (a second stack behind its own
 * CslipDevice) opens a fresh TCP connection to the echo port and gets 6000 octets back intact,
 * through UNCOMPRESSED_TCP and COMPRESSED_TCP frames both ways, with no decompressor error.
 */
import type { Board } from '../../firmware-bridge/board.ts';
import type { FirmwareConfig } from '../../firmware-bridge/cli.ts';
import { Interface } from '../../src/iface/interface.ts';
import { CslipDevice } from '../../src/phy/cslip-device.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SLIP_END, SLIP_ESC } from '../../src/phy/slip.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { VJ_HEADROOM, VJ_SPECIAL_D, VJ_SPECIAL_I, VjChange, VjCompressor, VjType, type VjConnectionId } from '../../src/phy/vj.ts';
import { Xorshift32 } from '../../src/random.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { echoRequest, naiveChecksum } from '../helpers/packets.ts';
import {
  ACK, FIN, FeedLink, concat, FuzzFailure, PSH, RST, SYN, URG, endSession, fixTransportChecksum, followBoard, fuzzBoard, mutate, randomOctets,
  slipFrame, type FuzzMode, type FuzzResult, type FuzzSession,
} from './common.ts';

/** A connection of the compressing peer. */
interface CslipSession extends FuzzSession {
  /** The window we advertise (changes now and then: W deltas). */
  window: number;
  /** A frame of this connection was damaged or may have been tossed: retransmit from the board's ACK next. */
  damaged: boolean;
}

/** Every `connectionId` mode of the compressor, 'when-changed' (Linux's) the most often. */
const CONNECTION_IDS: readonly VjConnectionId[] = ['when-changed', 'when-changed', 'unless-shortest', 'always'];

/** Writes a TCP/IP packet (no options) of `s` to the board at `b[off..]`, checksums valid; returns its length. */
function writeSegment(b: Uint8Array, off: number, ident: number, s: CslipSession, flags: number, urgent: number, data: Uint8Array): number {
  const len = 40 + data.length;
  b.fill(0, off, off + 40);
  const dv = new DataView(b.buffer, b.byteOffset + off, len);
  dv.setUint8(0, 0x45);
  dv.setUint16(2, len);
  dv.setUint16(4, ident & 0xffff);
  dv.setUint8(8, 64);
  dv.setUint8(9, 6);
  dv.setInt32(12, HOST_A);
  dv.setInt32(16, HOST_B);
  dv.setUint16(10, naiveChecksum(b, off, off + 20));
  dv.setUint16(20, s.srcPort);
  dv.setUint16(22, s.dstPort);
  dv.setUint32(24, s.seq >>> 0);
  dv.setUint32(28, s.ack < 0 ? 0 : s.ack >>> 0);
  dv.setUint8(32, 5 << 4);
  dv.setUint8(33, flags);
  dv.setUint16(34, s.window);
  dv.setUint16(38, urgent);
  b.set(data, off + 40);
  fixTransportChecksum(b.subarray(off + 20, off + len), 6);
  return len;
}

/**
 * A damaged frame on the line, which the SLIP decoder drops and counts (and the CslipDevice
 * turns into RFC 1144's toss state): mostly an ESC followed by neither ESC_END nor ESC_ESC,
 * else a runt (1 or 2 octets) or a frame longer than the MTU.
 */
function frameError(rng: Xorshift32): Uint8Array {
  const kind = rng.below(8);
  const out: number[] = [SLIP_END];
  const filler = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const b = rng.below(256);
      out.push(b === SLIP_END || b === SLIP_ESC ? 0x55 : b);
    }
  };
  if (kind === 0) filler(1 + rng.below(2));
  else if (kind === 1) filler(1501 + rng.below(200));
  else {
    filler(rng.below(24));
    let bad = rng.below(256);
    if (bad === 0xdc || bad === 0xdd) bad = 0x00;
    out.push(SLIP_ESC, bad);
    if (bad !== SLIP_END) filler(rng.below(24));
  }
  out.push(SLIP_END);
  return Uint8Array.from(out);
}

/**
 * A random frame of the VJ types (first octet 0x70..0xFF), up to a little over `mtu` octets,
 * some made plausible enough to load or use a slot.
 */
function randomVjFrame(rng: Xorshift32, mtu: number): Uint8Array {
  const len = rng.below(4) === 0 ? rng.below(24) : 1 + rng.below(Math.min(1100, mtu + 64));
  const f = randomOctets(rng, len);
  if (len === 0) return f;
  f[0] = 0x70 + rng.below(0x90);
  if (f[0]! < VjType.CompressedTcp && len >= 40 && rng.below(2) === 0) {
    // UNCOMPRESSED_TCP with a valid IPv4 header: the protocol field carries the slot (mostly 0..15).
    f[0] = 0x75;
    f[1] = 0;
    f[2] = len >> 8;
    f[3] = len & 0xff;
    f[6] = 0;
    f[7] = 0;
    f[8] = 64;
    f.set([192, 0, 2, 1, 192, 0, 2, 2], 12);
    f[32] = (5 + (rng.below(4) === 0 ? rng.below(11) : 0)) << 4;
    if (rng.below(2) === 0) {
      // A valid TCP checksum too (computed with the protocol in place, as the peer would have).
      f[0] = 0x45;
      f[9] = 6;
      f[22] = 0;
      f[23] = [7, 9, 19, 23, 80][rng.below(5)]!;
      fixTransportChecksum(f.subarray(20), 6);
      f[0] = 0x75;
    }
    // The IPv4 checksum as the sender computed it, before the version and protocol were replaced.
    f[0] = 0x45;
    f[9] = 6;
    f[10] = 0;
    f[11] = 0;
    const c = naiveChecksum(f, 0, 20);
    f[10] = c >> 8;
    f[11] = c & 0xff;
    f[0] = 0x75;
    f[9] = rng.below(4) === 0 ? rng.below(256) : rng.below(16);
  } else if (f[0]! >= VjType.CompressedTcp && len >= 2 && rng.below(2) === 0) {
    f[0] |= VjChange.C;
    f[1] = rng.below(16);
  }
  return f;
}

/** The two boards the inputs alternate between: where the decompressor puts a rebuilt header back. */
const TARGETS: readonly { label: string; config: Partial<FirmwareConfig> }[] = [
  // Slots with headroom (VJ_HEADROOM): the header is rebuilt in front of the data, in place.
  { label: 'default', config: { proto: 'cslip' } },
  // --profile small: no headroom, MTU 296, so the data moves up, and a frame whose rebuilt packet no longer fits is dropped (no room).
  { label: 'small', config: { proto: 'cslip', profile: 'small', mtu: 296, sockets: 4 } },
];

/**
 * Feeds `iterations` inputs, alternately to a board of the default profile and one of --profile
 * small (each with its own random stream, peer and clock, so the first N inputs are the same
 * whatever the total), then checks both. Counters are the two boards' sums.
 */
export function fuzzCslip(mode: FuzzMode, iterations: number, seed: number): FuzzResult {
  const targets = TARGETS.map((t, k) => new CslipTarget(mode, k === 0 ? seed : new Xorshift32(seed === 0 ? 1 : seed).next(), t.config));
  let input: Uint8Array = new Uint8Array(0);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    try {
      input = targets[i & 1]!.next();
    } catch (e) {
      throw new FuzzFailure('cslip', mode, seed, i, input, e);
    }
  }
  const ms = performance.now() - started;
  const r: FuzzResult = {
    surface: 'cslip', mode, seed, inputs: iterations, ms, leakedSlots: 0, leakedSockets: 0, answersPing: true, framesOut: 0,
    echoedOctets: 0, problems: [], counters: {},
  };
  targets.forEach((t, k) => {
    const f = t.finish();
    r.leakedSlots += f.leakedSlots;
    r.leakedSockets += f.leakedSockets;
    r.answersPing &&= f.answersPing;
    r.framesOut += t.board.iface.stats.ip.xmit;
    r.echoedOctets += t.board.tcpEcho.echoed;
    for (const p of f.problems) r.problems.push(`${TARGETS[k]!.label} board: ${p}`);
    for (const [c, n] of Object.entries(t.counters)) r.counters[c] = (r.counters[c] ?? 0) + n;
  });
  return r;
}

/** One board with header compression on, its serial line, clock and (mutated mode) compressing peer. */
class CslipTarget {
  readonly board: Board;
  /** What the peer sent (mutated mode): frame types, the change-mask bits of its COMPRESSED_TCP frames, damage; then the board's counters. */
  readonly counters: Record<string, number>;
  private readonly mode: FuzzMode;
  private readonly rng: Xorshift32;
  private readonly link = new FeedLink();
  private now = 1;
  private readonly compressor = new VjCompressor();
  private readonly packet = new Uint8Array(VJ_HEADROOM + 1600);
  private readonly sessions: (CslipSession | null)[] = [null, null, null];
  private ident: number;
  private nextPort = 30000;
  /** Longest TCP data the peer sends: what the board's MTU carries. */
  private readonly maxData: number;
  private readonly step = (): void => {
    for (let spins = 0; spins < 64 && this.board.poll(this.now); spins++) { /* until quiet */ }
  };
  private readonly followAll = (frames: Uint8Array[]): void => {
    for (const s of this.sessions) if (s !== null) followBoard(s, frames);
  };

  constructor(mode: FuzzMode, seed: number, config: Partial<FirmwareConfig>) {
    this.mode = mode;
    this.rng = new Xorshift32(seed === 0 ? 1 : seed);
    this.board = fuzzBoard(this.link, config);
    this.maxData = Math.min(700, this.board.config.mtu - 40);
    this.ident = this.rng.below(0x10000);
    this.counters = mode === 'random' ? {} : {
      sent_ip: 0, sent_uncompressed: 0, sent_compressed: 0, sent_mutated: 0, frame_errors_sent: 0, must_toss: 0,
      delta_C: 0, delta_I: 0, delta_P: 0, delta_S: 0, delta_A: 0, delta_W: 0, delta_U: 0, special_I: 0, special_D: 0, retransmits: 0,
    };
  }

  /** Makes one input, feeds it to the board, runs the board and moves the clock on; returns the input. */
  next(): Uint8Array {
    const rng = this.rng;
    const input = this.mode === 'random' ? this.randomInput() : this.peerInput();
    this.link.input = input;
    this.link.pos = 0;
    this.step();
    // Time moves by a little, and now and then by a lot (so timers, back-offs and timeouts fire).
    this.now += rng.below(64) === 0 ? 1 + rng.below(120_000) : 1 + rng.below(20);
    return input;
  }

  private randomInput(): Uint8Array {
    const rng = this.rng;
    const kind = rng.below(16);
    if (kind < 12) {
      const framed = slipFrame(randomVjFrame(rng, this.board.config.mtu));
      return rng.below(8) === 0 ? concat([frameError(rng), framed]) : framed;
    }
    if (kind < 15) return randomOctets(rng, rng.below(4) === 0 ? rng.below(16) : rng.below(1600));
    return frameError(rng);
  }

  /** A frame of the compressing peer on one of its connections, maybe edited, maybe after a frame error. */
  private peerInput(): Uint8Array {
    const { rng, link, sessions, packet, compressor, counters } = this;
    this.followAll(link.takeOutput());
    const k = rng.below(sessions.length);
    const s = sessions[k] ?? null;
    let len: number;
    let session: CslipSession;
    if (s === null || s.ack === -2 || (s.ack === -1 && rng.below(2) === 0) || rng.below(96) === 0) {
      if (s !== null) endSession(link, this.step, s, this.followAll);
      this.nextPort = this.nextPort >= 60000 ? 30000 : this.nextPort + 1;
      session = {
        srcPort: this.nextPort, dstPort: [7, 7, 9, 19, 23][rng.below(5)]!, seq: rng.next(), ack: -1, boardAck: -1,
        window: 4096 + rng.below(28672), damaged: false,
      };
      sessions[k] = session;
      len = writeSegment(packet, VJ_HEADROOM, this.ident, session, SYN, 0, new Uint8Array(0));
      session.seq = (session.seq + 1) >>> 0;
    } else {
      session = s;
      // A retransmission from what the board acknowledged, after damage and now and then
      // regardless: sequence numbers go back, so the compressor sends the header whole.
      const behind = (s.seq - s.boardAck) | 0;
      if (s.boardAck >= 0 && behind > 0 && behind < 0x10000 && rng.below(s.damaged ? 2 : 32) === 0) {
        s.seq = s.boardAck;
        counters['retransmits']!++;
      }
      s.damaged = false;
      if (rng.below(8) === 0) s.window = rng.below(8) === 0 ? rng.below(0x10000) : 1024 + rng.below(31744);
      const kind = rng.below(32);
      let flags = ACK;
      let data: Uint8Array = new Uint8Array(0);
      let urgent = 0;
      if (kind === 0) flags = RST;
      else if (kind === 1) flags = ACK | FIN;
      else if (kind >= 6) {
        data = randomOctets(rng, 1 + (rng.below(2) === 0 ? rng.below(16) : rng.below(this.maxData)));
        if (rng.below(2) === 0) flags |= PSH;
        if (rng.below(24) === 0) {
          flags |= URG;
          urgent = 1 + rng.below(data.length);
        }
      }
      len = writeSegment(packet, VJ_HEADROOM, this.ident, s, flags, urgent, data);
      s.seq = (s.seq + data.length + ((flags & FIN) !== 0 ? 1 : 0)) >>> 0;
      if (flags === RST) s.ack = -2;
    }
    // Our IP ID moves by 1 a packet, and now and then by more (I deltas).
    this.ident = (this.ident + (rng.below(16) === 0 ? 2 + rng.below(1000) : 1)) & 0xffff;
    compressor.connectionId = CONNECTION_IDS[rng.below(CONNECTION_IDS.length)]!;
    const type = compressor.compress(packet, VJ_HEADROOM, len);
    let frame: Uint8Array = packet.slice(compressor.outOff, compressor.outOff + compressor.outLen);
    let implicit = false;
    if (type === VjType.CompressedTcp) {
      counters['sent_compressed']!++;
      const changes = frame[0]!;
      const specials = changes & (VjChange.S | VjChange.A | VjChange.W | VjChange.U);
      if ((changes & VjChange.C) !== 0) counters['delta_C']!++;
      else implicit = true;
      if ((changes & VjChange.I) !== 0) counters['delta_I']!++;
      if ((changes & VjChange.P) !== 0) counters['delta_P']!++;
      if (specials === VJ_SPECIAL_I) counters['special_I']!++;
      else if (specials === VJ_SPECIAL_D) counters['special_D']!++;
      else {
        if ((changes & VjChange.S) !== 0) counters['delta_S']!++;
        if ((changes & VjChange.A) !== 0) counters['delta_A']!++;
        if ((changes & VjChange.W) !== 0) counters['delta_W']!++;
        if ((changes & VjChange.U) !== 0) counters['delta_U']!++;
      }
    } else if (type === VjType.UncompressedTcp) counters['sent_uncompressed']!++;
    else counters['sent_ip']!++;
    const mutated = rng.below(3) === 0;
    if (mutated) {
      frame = mutate(rng, frame, this.board.config.mtu);
      session.damaged = true;
      counters['sent_mutated']!++;
    }
    const parts = [slipFrame(frame)];
    if (rng.below(8) === 0) {
      // A frame lost on the line just before: the board must toss implicit COMPRESSED_TCP frames until it can trust one again.
      parts.unshift(frameError(rng));
      counters['frame_errors_sent']!++;
      if (!mutated && implicit) counters['must_toss']!++;
      for (const o of sessions) if (o !== null) o.damaged = true;
    }
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  /** Ends the peer's connections, lets everything time out, and checks the board. */
  finish(): { leakedSlots: number; leakedSockets: number; answersPing: boolean; problems: string[] } {
    const { link, board, counters } = this;
    link.input = new Uint8Array(0);
    this.step();
    this.followAll(link.takeOutput());
    for (const s of this.sessions) if (s !== null) endSession(link, this.step, s, this.followAll);
    this.wait(40);
    // The ping's leading END also ends a frame the fuzz left half-decoded (which holds its slot).
    const before = board.iface.stats.icmp.echoReplied;
    link.input = slipFrame(echoRequest(new Uint8Array(32), 9, 0x4321));
    link.pos = 0;
    this.step();
    const answersPing = board.iface.stats.icmp.echoReplied === before + 1;
    const leakedSlots = board.pool.stats.used;
    const leakedSockets = board.tcp.used;
    const problems = accountingProblems(board);
    const vj = board.cslip.stats.in;
    if (vj.tossed < (counters['must_toss'] ?? 0)) {
      problems.push(`${counters['must_toss']} unmutated implicit COMPRESSED_TCP frames followed a frame error, but only ${vj.tossed} were tossed`);
    }
    Object.assign(counters, {
      in_ip: vj.ip, in_uncompressed: vj.uncompressed, in_compressed: vj.compressed, in_errors: vj.errors, in_tossed: vj.tossed,
      in_no_room: vj.noRoom, frame_errors_seen: board.cslip.stats.frameErrors, slip_frames_in: board.slip.stats.rxFrames,
      ip_recv: board.iface.stats.ip.recv, echoed_octets: board.tcpEcho.echoed,
    });

    // The device carries on: a clean exchange through a real compressing peer.
    const exchange = cleanExchange(board, link, this.now, (now) => {
      this.now = now;
      this.step();
    });
    this.now = exchange.now;
    problems.push(...exchange.problems);
    this.wait(10);
    if (board.pool.stats.used !== 0 || board.tcp.used !== 0) {
      problems.push(`after the clean exchange: ${board.pool.stats.used} pool slots and ${board.tcp.used} TCP sockets still in use`);
    }
    problems.push(...accountingProblems(board));
    board.shutdown();
    return { leakedSlots, leakedSockets, answersPing, problems };
  }

  /** `minutes` of virtual time, a minute at a step. */
  private wait(minutes: number): void {
    for (let t = 0; t < minutes; t++) {
      this.now += 60_000;
      this.step();
    }
  }
}

/**
 * Every frame the SLIP layer delivered went on to IPv4 or was dropped by the decompressor with a
 * reason (error, toss, no room); none vanished, none was counted twice.
 */
function accountingProblems(board: Board): string[] {
  const vj = board.cslip.stats.in;
  const slipIn = board.slip.stats.rxFrames;
  const ipIn = board.iface.stats.ip.recv;
  const problems: string[] = [];
  const accounted = ipIn + vj.errors + vj.tossed + vj.noRoom + board.cslip.stats.ignored;
  if (slipIn !== accounted) {
    problems.push(`${slipIn} frames from SLIP, but IPv4 took ${ipIn} and the decompressor dropped ${vj.errors} (errors) + ` +
      `${vj.tossed} (tossed) + ${vj.noRoom} (no room), ${board.cslip.stats.ignored} ignored`);
  }
  const delivered = vj.ip + vj.uncompressed + vj.compressed - vj.noRoom;
  if (delivered !== ipIn) {
    problems.push(`the decompressor passed on ${vj.ip} TYPE_IP + ${vj.uncompressed} UNCOMPRESSED_TCP + ${vj.compressed - vj.noRoom} ` +
      `COMPRESSED_TCP frames, but IPv4 took ${ipIn}`);
  }
  return problems;
}

/**
 * A peer stack behind a CslipDevice of its own ('cslip') on a fresh in-memory line to the board
 * (FeedLink's relay) opens a TCP connection to the echo port, sends 6000 octets and reads them
 * back, then closes; `step(now)` runs the board at `now`. Returns what went wrong (nothing, when
 * the board's decompressor took UNCOMPRESSED_TCP and COMPRESSED_TCP frames without error and the
 * data came back intact).
 */
export function cleanExchange(board: Board, link: FeedLink, start: number, step: (now: number) => void): { problems: string[]; now: number } {
  let now = start;
  const pair = new MemoryLinkPair();
  const pool = new PacketPool({ slots: 32, mtu: board.config.mtu, headroom: VJ_HEADROOM, name: 'cslip peer' });
  const device = new CslipDevice(new SlipDevice(pair.b, pool), { proto: 'cslip' });
  const tcp = new TcpStack({ sockets: 2, txBufferLen: 8192, rxBufferLen: 8192, isnKey: [5, 6, 7, 8] });
  const iface = new Interface({ device, address: HOST_A, tcp });
  link.relay = pair.a;
  const vj = board.cslip.stats.in;
  const before = { ...vj };
  const payload = new Uint8Array(6000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
  const got = new Uint8Array(payload.length);
  let sent = 0;
  let gotLen = 0;
  const problems: string[] = [];
  const sock = tcp.connect(now, HOST_B, 7);
  const run = (): void => {
    for (let spins = 0; spins < 64; spins++) {
      step(now);
      if (!iface.poll(now)) break;
    }
  };
  if (sock === null) problems.push('clean exchange: the peer had no socket');
  else {
    for (let t = 0; t < 20_000 && gotLen < payload.length; t++) {
      if (sent < payload.length) {
        const n = sock.send(payload, sent, payload.length - sent);
        if (n > 0) sent += n;
      }
      run();
      const n = sock.recv(got, gotLen, got.length - gotLen);
      if (n > 0) gotLen += n;
      now += 5;
    }
    sock.close();
    for (let t = 0; t < 2000; t++) {
      run();
      now += 5;
    }
    if (gotLen !== payload.length) problems.push(`clean exchange: ${gotLen} of ${payload.length} octets echoed (connection ${sock.stateName})`);
    else if (!got.every((b, i) => b === payload[i])) problems.push('clean exchange: the echoed octets differ from those sent');
  }
  link.relay = null;
  if (vj.uncompressed <= before.uncompressed) problems.push('clean exchange: the board took no UNCOMPRESSED_TCP frame');
  if (vj.compressed <= before.compressed) problems.push('clean exchange: the board rebuilt no COMPRESSED_TCP frame');
  if (vj.errors !== before.errors || vj.tossed !== before.tossed || vj.noRoom !== before.noRoom) {
    problems.push(`clean exchange: the board's decompressor dropped frames (errors ${vj.errors - before.errors}, ` +
      `tossed ${vj.tossed - before.tossed}, no room ${vj.noRoom - before.noRoom})`);
  }
  if (device.stats.in.compressed === 0 || device.stats.in.errors !== 0) {
    problems.push(`clean exchange: the peer rebuilt ${device.stats.in.compressed} compressed frames from the board, ${device.stats.in.errors} errors`);
  }
  return { problems, now };
}
