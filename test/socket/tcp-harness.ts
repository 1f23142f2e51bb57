/**
 * TCP socket test harness, smoltcp `socket/tcp.rs` style: a TcpStack driven without IP, state
 * builders (`socketEstablished()` ...) that reach a state through real transitions, segment
 * templates, and three assertions:
 *
 * - `h.send(seg)`       the peer sends `seg` (fields not given come from the SEND template);
 * - `h.recv(a, b, ...)` exactly these segments come out now (immediate replies from `input`
 *                        first, then what `tick` + `dispatch` produce), fields not given
 *                        from the RECV template;
 * - `h.recvNothing()`   nothing comes out now.
 *
 * Whether the stack answers a segment from inside `input` or at the next `dispatch` is its own
 * business; the assertions only see "what went on the wire at `now`".
 *
 * Sequence numbers in templates are plain numbers (any value: they are taken mod 2^32) and are
 * shown as unsigned 32-bit values; flags are shown as names ("SYN|ACK"), so a failing
 * deep-equal reads like a tcpdump line.
 */
import { expect } from 'chai';
import type { CongestionFactory } from '../../src/socket/tcp/congestion.ts';
import type { TcpConfig } from '../../src/socket/tcp/config.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TCP_STATE_NAMES, TcpState } from '../../src/socket/tcp/state.ts';
import { TcpFlag, TcpRepr } from '../../src/wire/tcp.ts';

export { TcpFlag, TcpState };

export const LOCAL_ADDR = 0x0a000001 | 0; // 10.0.0.1, the stack under test
export const REMOTE_ADDR = 0x0a000002 | 0; // 10.0.0.2, the peer the test plays
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 49500;
/** MSS the stack advertises (the interface's MTU less 40). */
export const LOCAL_MSS = 1460;
/** Our ISS (the harness pins the ISN generator unless a test asks for the real one). */
export const LOCAL_SEQ = 10000;
/** The peer's ISS. */
export const REMOTE_SEQ = 50000;
/** TSval the peer puts in every segment (when it uses timestamps). */
export const PEER_TS = 7000;
/** Receive ring of the sockets under test, octets (the window we offer). */
export const RX_LEN = 4096;
/** Send ring, octets. */
export const TX_LEN = 8192;

export const SYN = TcpFlag.Syn;
export const ACK = TcpFlag.Ack;
export const FIN = TcpFlag.Fin;
export const RST = TcpFlag.Rst;
export const PSH = TcpFlag.Psh;
export const URG = TcpFlag.Urg;

/** A segment as a test writes it. Sequence fields: any number, taken mod 2^32. */
export interface Seg {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits. */
  flags: number;
  /** Raw 16-bit window field. */
  window: number;
  urgent: number;
  /** 0 = no MSS option. */
  mss: number;
  /** -1 = no window-scale option. */
  windowScale: number;
  sackPermitted: boolean;
  /** [TSval, TSecr], or null for no timestamps option. */
  ts: [number, number] | null;
  /** SACK blocks [left, right), most recent first. */
  sack: Array<[number, number]>;
  /** Payload, one char per octet (latin1). */
  payload: string;
}

/** A segment as assertions show it: unsigned sequence numbers, named flags. */
export interface ShownSeg extends Omit<Seg, 'flags'> {
  flags: string;
}

const FLAG_NAMES: Array<[number, string]> = [
  [TcpFlag.Syn, 'SYN'], [TcpFlag.Fin, 'FIN'], [TcpFlag.Rst, 'RST'], [TcpFlag.Psh, 'PSH'],
  [TcpFlag.Ack, 'ACK'], [TcpFlag.Urg, 'URG'], [TcpFlag.Ece, 'ECE'], [TcpFlag.Cwr, 'CWR'],
];

export function flagNames(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if ((flags & bit) !== 0) names.push(name);
  return names.length > 0 ? names.join('|') : '-';
}

/** Sequence number `n` as an unsigned 32-bit value (mod 2^32). */
export function u32(n: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(n))));
}

export function show(s: Seg): ShownSeg {
  return {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: u32(s.seq),
    ack: u32(s.ack),
    flags: flagNames(s.flags),
    window: s.window,
    urgent: s.urgent,
    mss: s.mss,
    windowScale: s.windowScale,
    sackPermitted: s.sackPermitted,
    ts: s.ts === null ? null : [u32(s.ts[0]), u32(s.ts[1])],
    sack: s.sack.map(([l, r]) => [u32(l), u32(r)] as [number, number]),
    payload: s.payload,
  };
}

/** `n` octets of recognizable text ("abcd..."), starting `from` letters into the alphabet. */
export function text(n: number, from = 0): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + ((from + i) % 26));
  return s;
}

export function bytesOf(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

export function stringOf(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(b[off + i]!);
  return s;
}

function blankSeg(): Seg {
  return {
    srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, mss: 0, windowScale: -1,
    sackPermitted: false, ts: null, sack: [], payload: '',
  };
}

/** Payload octets start this far into the input buffer (as if after IP and TCP headers). */
const PAYLOAD_OFF = 40;

export interface HarnessOptions {
  sockets?: number;
  txBufferLen?: number;
  rxBufferLen?: number;
  listeners?: number;
  config?: Partial<TcpConfig>;
  /** RFC 6528 key. Defaults to four fixed words. */
  isnKey?: number[];
  /** Our ISS for every connection; null = use the stack's RFC 6528 generator. Defaults to LOCAL_SEQ. */
  iss?: number | null;
  localMss?: number;
  /** Congestion controller factory for the stack. Defaults to the stack's (NewReno). */
  congestion?: CongestionFactory;
  /** Virtual time at the start, ms. Defaults to 0. */
  now?: number;
}

/**
 * Harness config defaults: window scaling, timestamps and SACK are off so that ordinary tests
 * see plain segments; the tests of those options turn them on.
 */
export const PLAIN_CONFIG: Partial<TcpConfig> = { windowScaling: false, timestamps: false, sack: false };

export class TcpHarness {
  readonly stack: TcpStack;
  now: number;
  /** The socket under test. */
  sock!: TcpSocket;
  /** Listener handle (socketListen and the passive builders). */
  listener = -1;
  readonly localMss: number;
  readonly rxBufferLen: number;
  /** Our TSval minus `now` (learnt from our SYN or SYN-ACK when timestamps are on). */
  tsOffset = 0;
  /** Fields merged into every segment the peer sends (e.g. its timestamps option). */
  peerDefaults: Partial<Seg> = {};
  /** Fields merged into every expected segment before the test's own. */
  recvDefaults: Partial<Seg> = {};
  /**
   * Timestamps negotiated: expected segments carry [our TSval now, `echoTs`] unless the test
   * gives `ts` itself.
   */
  autoTs = false;
  /** TSecr we expect to echo (the peer's TS.Recent). */
  echoTs = PEER_TS;
  /** "A => B" for every state transition, in order. */
  readonly transitions: string[] = [];

  private readonly inRepr = new TcpRepr();
  private readonly reply = new TcpRepr();
  private readonly out = new TcpRepr();
  private readonly inBytes = new Uint8Array(PAYLOAD_OFF + 200_000);
  private readonly outBytes = new Uint8Array(200_000);
  private pending: Seg[] = [];

  constructor(options: HarnessOptions = {}) {
    this.rxBufferLen = options.rxBufferLen ?? RX_LEN;
    this.localMss = options.localMss ?? LOCAL_MSS;
    this.stack = new TcpStack({
      sockets: options.sockets ?? 4,
      txBufferLen: options.txBufferLen ?? TX_LEN,
      rxBufferLen: this.rxBufferLen,
      listeners: options.listeners ?? 2,
      config: { ...PLAIN_CONFIG, ...options.config },
      isnKey: options.isnKey ?? [0x01234567, 0x89abcdef, 0x0badf00d, 0x5eed5eed],
      localAddr: LOCAL_ADDR,
      localMss: this.localMss,
      ...(options.congestion !== undefined ? { congestion: options.congestion } : {}),
    });
    const iss = options.iss === undefined ? LOCAL_SEQ : options.iss;
    if (iss !== null) this.stack.isn = () => iss | 0;
    this.now = options.now ?? 0;
    this.stack.tracer = {
      state: (_socket, from, to) => this.transitions.push(`${TCP_STATE_NAMES[from]} => ${TCP_STATE_NAMES[to]}`),
      segment: () => {},
    };
  }

  /** Moves virtual time to `t` ms. */
  at(t: number): this {
    expect(t, 'virtual time only moves forward').to.be.at.least(this.now);
    this.now = t;
    return this;
  }

  /** Moves virtual time forward by `ms`. */
  advance(ms: number): this {
    return this.at(this.now + ms);
  }

  /** A peer segment: the SEND template, then `peerDefaults`, then `seg`. */
  sendTemplate(seg: Partial<Seg>): Seg {
    return { ...blankSeg(), srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, window: 65535, ...this.peerDefaults, ...seg };
  }

  /** An expected segment: the RECV template, then `recvDefaults`, then `seg`. */
  recvTemplate(seg: Partial<Seg>): Seg {
    return {
      ...blankSeg(), srcPort: LOCAL_PORT, dstPort: REMOTE_PORT, window: Math.min(this.rxBufferLen, 0xffff),
      ...(this.autoTs ? { ts: [this.tsVal(), this.echoTs] as [number, number] } : {}),
      ...this.recvDefaults, ...seg,
    };
  }

  /**
   * Feeds one peer segment to `stack.input` and returns the immediate reply (null if none),
   * without queuing it for `recv`.
   */
  input(seg: Partial<Seg>, remoteAddr = REMOTE_ADDR): Seg | null {
    const s = this.sendTemplate(seg);
    const r = this.inRepr;
    r.clear();
    r.srcPort = s.srcPort;
    r.dstPort = s.dstPort;
    r.seq = s.seq | 0;
    r.ack = s.ack | 0;
    r.flags = s.flags;
    r.window = s.window;
    r.urgent = s.urgent;
    r.mss = s.mss;
    r.windowScale = s.windowScale;
    r.sackPermitted = s.sackPermitted;
    if (s.ts !== null) {
      r.hasTimestamp = true;
      r.tsVal = s.ts[0] | 0;
      r.tsEcr = s.ts[1] | 0;
    }
    r.sackCount = s.sack.length;
    s.sack.forEach(([left, right], i) => {
      r.sackLeft[i] = left | 0;
      r.sackRight[i] = right | 0;
    });
    this.inBytes.fill(0xee);
    this.inBytes.set(bytesOf(s.payload), PAYLOAD_OFF);
    r.payloadOff = PAYLOAD_OFF;
    r.payloadLen = s.payload.length;
    const answered = this.stack.input(this.now, remoteAddr, r, this.inBytes, this.reply);
    if (!answered) return null;
    return this.segOf(this.reply, null);
  }

  /** The peer sends `seg`; an immediate reply is queued for the next `recv`/`output`. */
  send(seg: Partial<Seg>, remoteAddr = REMOTE_ADDR): this {
    const r = this.input(seg, remoteAddr);
    if (r !== null) this.pending.push(r);
    return this;
  }

  /** Everything that goes out now: queued immediate replies, then tick + dispatch of every socket. */
  output(): Seg[] {
    const segs = this.pending;
    this.pending = [];
    for (const s of this.stack.sockets) {
      if (!s.inUse) continue;
      s.tick(this.now);
      for (let n = 0; s.dispatch(this.now, this.out); n++) {
        if (n > 1000) throw new Error('dispatch never stops');
        segs.push(this.segOf(this.out, s));
      }
    }
    return segs;
  }

  /** Asserts that exactly `expected` (RECV template + fields) go out now, in this order. */
  recv(...expected: Array<Partial<Seg>>): Seg[] {
    const got = this.output();
    expect(got.map(show), `segments sent at t=${this.now} ms`).to.deep.equal(expected.map((e) => show(this.recvTemplate(e))));
    return got;
  }

  /** Asserts that nothing goes out now. */
  recvNothing(): void {
    const got = this.output();
    expect(got.map(show), `segments sent at t=${this.now} ms`).to.deep.equal([]);
  }

  /** Reads everything in the socket's receive ring as text (recv must return data or WouldBlock/0). */
  read(max = 1 << 20): string {
    const buf = new Uint8Array(max);
    const n = this.sock.recv(buf, 0, max);
    return n > 0 ? stringOf(buf, 0, n) : '';
  }

  /** Queues text on the socket under test; asserts it was all taken. */
  write(s: string): void {
    expect(this.sock.send(bytesOf(s), 0, s.length), 'octets taken by send()').to.equal(s.length);
  }

  /**
   * The window field we advertise with the receive ring empty, after the peer has used
   * `consumed` sequence numbers beyond what the last advertised right edge allowed for
   * (a FIN: 1). The right edge never moves left and moves right only by a full step (receiver
   * SWS avoidance, RFC 9293 §3.8.6.2.2), so a FIN costs one octet of window; a scaled field is
   * rounded up (RFC 7323 §2.3) so the edge does not recede.
   */
  window(consumed: number): number {
    const shift = this.sock.window.rcvScale;
    const w = Math.ceil((this.rxBufferLen - consumed) / 2 ** shift);
    return w > 0xffff ? 0xffff : w;
  }

  /** Our TSval at `now` (timestamps on). */
  tsVal(): number {
    return this.now + this.tsOffset;
  }

  get state(): string {
    return this.sock.stateName;
  }

  private segOf(r: TcpRepr, sock: TcpSocket | null): Seg {
    let payload = '';
    if (r.payloadLen > 0) {
      expect(sock, 'an immediate reply carries no payload').to.not.equal(null);
      sock!.tx.readAt(r.payloadOff, this.outBytes, 0, r.payloadLen);
      payload = stringOf(this.outBytes, 0, r.payloadLen);
    }
    const sack: Array<[number, number]> = [];
    for (let i = 0; i < r.sackCount; i++) sack.push([r.sackLeft[i]!, r.sackRight[i]!]);
    return {
      srcPort: r.srcPort, dstPort: r.dstPort, seq: r.seq, ack: r.ack, flags: r.flags, window: r.window,
      urgent: r.urgent, mss: r.mss, windowScale: r.windowScale, sackPermitted: r.sackPermitted,
      ts: r.hasTimestamp ? [r.tsVal, r.tsEcr] : null, sack, payload,
    };
  }
}

// -------------------------------------------------------------------------------------------------
// State builders. Each drives real transitions with template segments and asserts every segment
// on the way, so a builder is itself a test of the path to its state.

export interface BuildOptions extends HarnessOptions {
  /** Fields of the peer's SYN (or SYN-ACK) beyond the template: mss, windowScale, sackPermitted, ts, window. */
  peerSyn?: Partial<Seg>;
  /**
   * Raw window field the peer sends after its SYN (the handshake ACK and every later segment
   * unless the test says otherwise). Defaults to 65535.
   */
  peerWindow?: number;
  /** FIN-WAIT builders: close() instead of shutdown() (the socket is then orphaned). */
  close?: boolean;
}

/** Options our SYN or SYN-ACK carries for a peer SYN `peer` (null = active open). */
function expectedSynOptions(h: TcpHarness, peer: Partial<Seg> | null): Partial<Seg> {
  const cfg = h.stack.config;
  const rcvScale = scaleFor(h.rxBufferLen);
  if (peer === null) {
    return {
      mss: h.localMss,
      windowScale: cfg.windowScaling ? rcvScale : -1,
      sackPermitted: cfg.sack,
      ts: cfg.timestamps ? [h.tsVal(), 0] : null,
    };
  }
  return {
    mss: h.localMss,
    windowScale: cfg.windowScaling && (peer.windowScale ?? -1) >= 0 ? rcvScale : -1,
    sackPermitted: cfg.sack && (peer.sackPermitted ?? false),
    ts: cfg.timestamps && peer.ts != null ? [h.tsVal(), peer.ts[0]] : null,
  };
}

/** Our window-scale shift for a receive ring of `capacity` octets (RFC 7323 §2.3). */
export function scaleFor(capacity: number): number {
  let s = 0;
  while (s < 14 && capacity >> s > 0xffff) s++;
  return s;
}

/** Learns our timestamp offset from the first segment of a handshake. */
function learnTsOffset(h: TcpHarness, first: Seg | undefined): void {
  if (first !== undefined && first.ts !== null) h.tsOffset = u32(first.ts[0] - h.now) | 0;
}

/** Sets the peer's defaults after the handshake: timestamps in every segment if negotiated. */
function settle(h: TcpHarness): void {
  h.recvDefaults = { ...h.recvDefaults, window: h.window(0) };
  if (h.sock.tsOk) {
    h.peerDefaults = { ...h.peerDefaults, ts: [PEER_TS, 0] };
    h.autoTs = true;
  }
}

/** LISTEN on LOCAL_PORT (backlog 4 unless `backlog`). */
export function socketListen(o: BuildOptions = {}, backlog = 4): TcpHarness {
  const h = new TcpHarness(o);
  h.listener = h.stack.listen(LOCAL_PORT, backlog);
  expect(h.listener).to.be.at.least(0);
  return h;
}

/** SYN-RECEIVED: LISTEN, then the peer's SYN <SEQ=REMOTE_SEQ>, answered with our SYN-ACK. */
export function socketSynReceived(o: BuildOptions = {}): TcpHarness {
  const h = socketListen(o);
  const syn: Partial<Seg> = { flags: SYN, seq: REMOTE_SEQ, mss: 1460, ...o.peerSyn };
  h.send(syn);
  const sock = h.stack.sockets.find((s) => s.inUse && s.remotePort === (syn.srcPort ?? REMOTE_PORT));
  expect(sock, 'a socket taken for the SYN').to.not.equal(undefined);
  h.sock = sock!;
  expect(h.state).to.equal('SYN-RECEIVED');
  const got = h.output();
  learnTsOffset(h, got[0]);
  expect(got.map(show)).to.deep.equal([show(h.recvTemplate({
    flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, ...expectedSynOptions(h, syn),
  }))]);
  return h;
}

/** ESTABLISHED by a passive open: SYN-RECEIVED, then the peer's ACK; accepted. */
export function socketEstablished(o: BuildOptions = {}): TcpHarness {
  const h = socketSynReceived(o);
  if (o.peerWindow !== undefined) h.peerDefaults = { ...h.peerDefaults, window: o.peerWindow };
  const ts = h.sock.tsOk ? { ts: [PEER_TS, h.tsVal()] as [number, number] } : {};
  h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, ...ts });
  h.recvNothing();
  expect(h.state).to.equal('ESTABLISHED');
  expect(h.stack.accept(h.listener)).to.equal(h.sock);
  settle(h);
  return h;
}

/** SYN-SENT: connect() from LOCAL_PORT, our SYN out. */
export function socketSynSent(o: BuildOptions = {}): TcpHarness {
  const h = new TcpHarness(o);
  const sock = h.stack.connect(h.now, REMOTE_ADDR, REMOTE_PORT, LOCAL_PORT);
  expect(sock).to.not.equal(null);
  h.sock = sock!;
  expect(h.state).to.equal('SYN-SENT');
  const got = h.output();
  learnTsOffset(h, got[0]);
  expect(got.map(show)).to.deep.equal([show(h.recvTemplate({
    flags: SYN, seq: LOCAL_SEQ, ack: 0, ...expectedSynOptions(h, null),
  }))]);
  return h;
}

/** ESTABLISHED by an active open: SYN-SENT, the peer's SYN-ACK, our ACK. */
export function socketEstablishedActive(o: BuildOptions = {}): TcpHarness {
  const h = socketSynSent(o);
  if (o.peerWindow !== undefined) h.peerDefaults = { ...h.peerDefaults, window: o.peerWindow };
  h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460, ...o.peerSyn });
  expect(h.state).to.equal('ESTABLISHED');
  const ts = h.sock.tsOk ? { ts: [h.tsVal(), o.peerSyn?.ts?.[0] ?? 0] as [number, number] } : {};
  h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, window: h.window(0), ...ts });
  settle(h);
  return h;
}

/** FIN-WAIT-1: ESTABLISHED (passive), shutdown() (or close()), our FIN <SEQ=LOCAL_SEQ+1> out. */
export function socketFinWait1(o: BuildOptions = {}): TcpHarness {
  const h = socketEstablished(o);
  if (o.close === true) h.sock.close();
  else h.sock.shutdown();
  h.recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
  expect(h.state).to.equal('FIN-WAIT-1');
  return h;
}

/** FIN-WAIT-2: FIN-WAIT-1, then the peer ACKs our FIN. */
export function socketFinWait2(o: BuildOptions = {}): TcpHarness {
  const h = socketFinWait1(o);
  h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
  h.recvNothing();
  expect(h.state).to.equal('FIN-WAIT-2');
  return h;
}

/** CLOSING: FIN-WAIT-1, then the peer's FIN that does not ACK ours; we ACK it. */
export function socketClosing(o: BuildOptions = {}): TcpHarness {
  const h = socketFinWait1(o);
  h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
  h.recvDefaults = { ...h.recvDefaults, window: h.window(1) };
  h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2 });
  expect(h.state).to.equal('CLOSING');
  return h;
}

/** TIME-WAIT: FIN-WAIT-2, then the peer's FIN; we ACK it. */
export function socketTimeWait(o: BuildOptions = {}): TcpHarness {
  const h = socketFinWait2(o);
  h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
  h.recvDefaults = { ...h.recvDefaults, window: h.window(1) };
  h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2 });
  expect(h.state).to.equal('TIME-WAIT');
  return h;
}

/** CLOSE-WAIT: ESTABLISHED (passive), then the peer's FIN; we ACK it. */
export function socketCloseWait(o: BuildOptions = {}): TcpHarness {
  const h = socketEstablished(o);
  h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
  h.recvDefaults = { ...h.recvDefaults, window: h.window(1) };
  h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2 });
  expect(h.state).to.equal('CLOSE-WAIT');
  return h;
}

/** LAST-ACK: CLOSE-WAIT, then shutdown() (or close()); our FIN out. */
export function socketLastAck(o: BuildOptions = {}): TcpHarness {
  const h = socketCloseWait(o);
  if (o.close === true) h.sock.close();
  else h.sock.shutdown();
  h.recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2 });
  expect(h.state).to.equal('LAST-ACK');
  return h;
}
