/**
 * TcpStack: the fixed TCP socket table, listeners, demultiplexing and the stack-wide parts of
 * RFC 9293 (RST for segments that reach no connection, §3.10.7.1), RFC 6528 initial sequence
 * numbers and the RFC 5961 challenge-ACK budget.
 *
 * Every socket and its rings are carved at construction from one ArrayBuffer; `connect` and
 * listeners take sockets from the table and `close` gives them back. A SYN that finds the table
 * or the backlog full is refused with a RST and counted, never an exception. The stack knows
 * this host's address and MSS (from its options, or from the Interface it is given to), so
 * `connect(now, remoteAddr, remotePort, localPort?)` needs nothing else.
 */
import type { Arena } from '../../storage/arena.ts';
import { NEVER, TokenBucket } from '../../time.ts';
import { TcpFlag, type TcpRepr, seqAdd } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import type { CongestionFactory } from './congestion.ts';
import { TcpOwner, type TcpSocketOptions } from './connection.ts';
import { TcpSocket } from './socket.ts';
import { TcpState } from './state.ts';
import { DEFAULT_MSS, DEFAULT_TCP_CONFIG, newTcpStats, type TcpConfig, type TcpContext, type TcpStats, type TcpTracer } from './config.ts';

/** Options of a TcpStack; every one but `isnKey` has a default (DEFAULT_TCP_STACK_OPTIONS, DEFAULT_TCP_CONFIG). */
export interface TcpStackOptions {
  /** Sockets in the table (connections, including those waiting in backlogs). Defaults to 16. */
  sockets?: number;
  /** Send ring per socket, octets. Defaults to 65536. */
  txBufferLen?: number;
  /** Receive ring per socket, octets. Defaults to 65536. */
  rxBufferLen?: number;
  /** Listener slots. Defaults to 8. */
  listeners?: number;
  /** Protocol settings; anything missing takes DEFAULT_TCP_CONFIG. */
  config?: Partial<TcpConfig>;
  /** RFC 6528 secret: four 32-bit words from the host's random source at start-up. */
  isnKey: ArrayLike<number>;
  /** This host's IPv4 address (int32). The Interface given this stack sets it. Defaults to 0. */
  localAddr?: number;
  /** MSS this host advertises, octets. The Interface given this stack sets it (its MTU less 40). Defaults to 536. */
  localMss?: number;
  /** Makes each socket's congestion controller, once per socket. Defaults to NewReno (RFC 5681, RFC 6582). */
  congestion?: CongestionFactory;
  /** Carve the rings from this arena (the packet pool's, so segment copies are copyWithin). Defaults to a buffer of the stack's own. */
  arena?: Arena;
}

/** The TcpStackOptions that have a default, and their defaults (as DEFAULT_TCP_CONFIG is for `config`). */
export type TcpStackDefaults = Required<Pick<TcpStackOptions, 'sockets' | 'txBufferLen' | 'rxBufferLen' | 'listeners' | 'localAddr' | 'localMss'>>;

/** Defaults of the TcpStack options; frozen. */
export const DEFAULT_TCP_STACK_OPTIONS: Readonly<TcpStackDefaults> = Object.freeze({
  sockets: 16,
  txBufferLen: 65536,
  rxBufferLen: 65536,
  listeners: 8,
  localAddr: 0,
  localMss: DEFAULT_MSS,
});

/** Octets of ring memory a stack with these options carves. */
export function tcpRingBytes(options: Pick<TcpStackOptions, 'sockets' | 'txBufferLen' | 'rxBufferLen'>): number {
  const d = DEFAULT_TCP_STACK_OPTIONS;
  return (options.sockets ?? d.sockets) * ((options.txBufferLen ?? d.txBufferLen) + (options.rxBufferLen ?? d.rxBufferLen));
}

/** The TCP socket table of one host, its listeners and the stack-wide state every socket shares (TcpContext). */
export class TcpStack implements TcpContext {
  readonly config: TcpConfig;
  readonly stats: TcpStats = newTcpStats();
  tracer: TcpTracer | null = null;
  readonly sockets: TcpSocket[];
  /** This host's IPv4 address (int32), the local end of every active open. */
  localAddr: number;
  /** MSS this host advertises, octets. */
  localMss: number;
  /** Octets preallocated for rings. */
  readonly ringBytes: number;

  /** Per listener: local port (0 = free slot) and backlog. */
  private readonly listenPort: Int32Array;
  private readonly listenBacklog: Int32Array;
  private readonly key: Int32Array;
  private nextEphemeral = 49152;
  /** RFC 5961 §7: challenge ACKs per second, shared by every connection of the stack. */
  private readonly challengeAcks: TokenBucket;

  constructor(options: TcpStackOptions) {
    const d = DEFAULT_TCP_STACK_OPTIONS;
    this.config = { ...DEFAULT_TCP_CONFIG, ...options.config };
    this.localAddr = (options.localAddr ?? d.localAddr) | 0;
    this.localMss = options.localMss ?? d.localMss;
    const n = options.sockets ?? d.sockets;
    const txLen = options.txBufferLen ?? d.txBufferLen;
    const rxLen = options.rxBufferLen ?? d.rxBufferLen;
    this.ringBytes = n * (txLen + rxLen);
    const memory = options.arena !== undefined ? options.arena.carve(this.ringBytes) : new Uint8Array(this.ringBytes);
    this.sockets = [];
    for (let i = 0; i < n; i++) {
      const base = memory.byteOffset + i * (txLen + rxLen);
      const socketOptions: TcpSocketOptions = {
        txBuffer: new Uint8Array(memory.buffer, base, txLen),
        rxBuffer: new Uint8Array(memory.buffer, base + txLen, rxLen),
      };
      if (options.congestion !== undefined) socketOptions.congestion = options.congestion();
      this.sockets.push(new TcpSocket(i, this, socketOptions));
    }
    const l = options.listeners ?? d.listeners;
    this.listenPort = new Int32Array(l);
    this.listenBacklog = new Int32Array(l);
    this.key = new Int32Array(4);
    for (let i = 0; i < 4; i++) this.key[i] = options.isnKey[i] ?? 0;
    this.challengeAcks = new TokenBucket(this.config.challengeAcksPerSecond, this.config.challengeAcksPerSecond);
  }

  /**
   * Tells the stack the address and MSS of the interface it serves: the Interface constructor
   * calls this. `localMss` is in octets (the MTU less the IPv4 and TCP headers).
   */
  attach(localAddr: number, localMss: number): void {
    this.localAddr = localAddr | 0;
    this.localMss = localMss;
  }

  // ---------------------------------------------------------------------------------------------
  // Application interface

  /** Listens on `port` with room for `backlog` connections not yet accepted. Returns a listener handle or a SocketError. */
  listen(port: number, backlog = 4): number {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff || backlog < 1) return SocketError.Invalid;
    let free = -1;
    for (let i = 0; i < this.listenPort.length; i++) {
      if (this.listenPort[i] === port) return SocketError.AddressInUse;
      if (this.listenPort[i] === 0 && free < 0) free = i;
    }
    if (free < 0) return SocketError.WouldBlock;
    this.listenPort[free] = port;
    this.listenBacklog[free] = backlog;
    return free;
  }

  /** Stops listening; connections not yet accepted are reset. */
  unlisten(listener: number): void {
    if (this.listenPort[listener] === undefined) return;
    this.listenPort[listener] = 0;
    for (const s of this.sockets) {
      // Only the backlog: a connection the application accepted is its own, closed or not.
      const o = s.owner;
      if ((o === TcpOwner.Backlog || o === TcpOwner.AcceptQueue) && s.listener === listener && s.state !== TcpState.Closed) s.abort();
    }
  }

  /** Port a listener serves (0 if the handle is free). */
  listenerPort(listener: number): number {
    return this.listenPort[listener] ?? 0;
  }

  /** True when `accept(listener)` would return a connection. */
  hasAcceptable(listener: number): boolean {
    for (const s of this.sockets) if (s.owner === TcpOwner.AcceptQueue && s.listener === listener) return true;
    return false;
  }

  /** Takes the oldest established connection from a listener's queue, or null. The caller owns it and must `close()` it. */
  accept(listener: number): TcpSocket | null {
    for (const s of this.sockets) {
      if (s.owner === TcpOwner.AcceptQueue && s.listener === listener) {
        s.owner = TcpOwner.Application;
        return s;
      }
    }
    return null;
  }

  /**
   * Active open at `now` (ms) from this host's address to remoteAddr:remotePort, from
   * `localPort` (an ephemeral port when 0). Returns the socket in SYN-SENT, owned by the caller,
   * or null when every socket is in use.
   */
  connect(now: number, remoteAddr: number, remotePort: number, localPort = 0): TcpSocket | null {
    const sock = this.freeSocket();
    if (sock === null) return null;
    sock.connect(now, remoteAddr, remotePort, localPort);
    return sock;
  }

  /** Sockets in use (owned by an application, in a backlog, or closing). */
  get used(): number {
    let n = 0;
    for (const s of this.sockets) if (s.owner !== TcpOwner.Free) n++;
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Interface side

  /**
   * Demultiplexes one parsed segment from `remoteAddr` to this host (`localAddr`, set by
   * `attach`) (RFC 9293 §3.10.7).
   * Returns true when `reply` holds a segment to send back at once.
   */
  input(now: number, remoteAddr: number, seg: TcpRepr, bytes: Uint8Array, reply: TcpRepr): boolean {
    const localAddr = this.localAddr;
    this.stats.inSegs++;
    // A connection: the full 4-tuple.
    for (let i = 0; i < this.sockets.length; i++) {
      const s = this.sockets[i]!;
      if (s.owner !== TcpOwner.Free && s.state !== TcpState.Closed && s.localPort === seg.dstPort && s.remotePort === seg.srcPort &&
          s.remoteAddr === remoteAddr && s.localAddr === localAddr) {
        return s.process(now, seg, bytes, reply);
      }
    }
    const flags = seg.flags;
    // A listener (RFC 9293 §3.10.7.2).
    const l = this.findListener(seg.dstPort);
    if (l >= 0) {
      if ((flags & TcpFlag.Rst) !== 0) return false;
      if ((flags & TcpFlag.Ack) !== 0) return this.resetFor(seg, reply);
      if ((flags & TcpFlag.Syn) === 0) return false;
      if (this.backlogUsed(l) >= this.listenBacklog[l]!) {
        this.stats.listenOverflow++;
        return this.resetFor(seg, reply);
      }
      const sock = this.freeSocket();
      if (sock === null) {
        this.stats.synTableFull++;
        return this.resetFor(seg, reply);
      }
      sock.acceptSyn(now, seg, localAddr, remoteAddr, this.localMss, l);
      return false;
    }
    // RFC 9293 §3.10.7.1: CLOSED. Everything but a RST gets a RST.
    this.stats.noSocket++;
    if ((flags & TcpFlag.Rst) !== 0) return false;
    return this.resetFor(seg, reply);
  }

  /**
   * Earliest deadline of any socket; `now` if one has a segment ready and `canSend` (a slot and
   * device room are available), else only the timers count.
   */
  pollAt(now: number, canSend = true): number {
    let t = NEVER;
    for (let i = 0; i < this.sockets.length; i++) {
      const s = this.sockets[i]!;
      if (s.owner === TcpOwner.Free) continue;
      const p = s.pollAt(now, canSend);
      if (p < t) t = p;
    }
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // TcpContext

  /**
   * RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), with M a 4 µs
   * clock (here `now` ms × 250) and F HalfSipHash-2-4 keyed by the host's secret.
   */
  isn(now: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const f = halfSipHash(this.key, localAddr, remoteAddr, ((localPort << 16) | remotePort) | 0);
    return seqAdd(f, Math.imul(now | 0, 250));
  }

  /** RFC 5961 §7: true if a challenge ACK may be sent at `now` (ms); spends one. */
  takeChallengeAck(now: number): boolean {
    return this.challengeAcks.take(now);
  }

  // ---------------------------------------------------------------------------------------------

  /** RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
  private resetFor(seg: TcpRepr, reply: TcpRepr): boolean {
    const flags = seg.flags;
    const segLen = seg.payloadLen + ((flags & TcpFlag.Syn) !== 0 ? 1 : 0) + ((flags & TcpFlag.Fin) !== 0 ? 1 : 0);
    reply.clear();
    reply.srcPort = seg.dstPort;
    reply.dstPort = seg.srcPort;
    if ((flags & TcpFlag.Ack) !== 0) {
      reply.seq = seg.ack;
      reply.flags = TcpFlag.Rst;
    } else {
      reply.seq = 0;
      reply.ack = seqAdd(seg.seq, segLen);
      reply.flags = TcpFlag.Rst | TcpFlag.Ack;
    }
    this.stats.outRsts++;
    return true;
  }

  private findListener(port: number): number {
    for (let i = 0; i < this.listenPort.length; i++) if (this.listenPort[i] === port) return i;
    return -1;
  }

  private backlogUsed(listener: number): number {
    let n = 0;
    for (const s of this.sockets) {
      const o = s.owner;
      if (o !== TcpOwner.Free && o !== TcpOwner.Application && s.listener === listener &&
          (s.state === TcpState.SynReceived || o === TcpOwner.AcceptQueue)) n++;
    }
    return n;
  }

  /**
   * A free socket, or, when every socket is in use, the orphaned TIME-WAIT connection that has
   * waited longest, ended early (counted in `timeWaitRecycled`): a peer that opens and closes
   * many connections would otherwise fill the table with TIME-WAITs for 2·MSL and be refused.
   * lwIP does the same when it runs out of PCBs (tcp_kill_timewait); the RFC 6528 ISN of the
   * new connection still moves on with time. Null when nothing can be taken.
   */
  private freeSocket(): TcpSocket | null {
    let oldest: TcpSocket | null = null;
    for (const s of this.sockets) {
      if (s.owner === TcpOwner.Free) return s;
      if (s.owner === TcpOwner.Orphan && s.state === TcpState.TimeWait && (oldest === null || s.lastFinAt < oldest.lastFinAt)) oldest = s;
    }
    if (oldest === null) return null;
    oldest.becomeClosed(0);
    this.stats.timeWaitRecycled++;
    return oldest;
  }

  /** A local port for an active open to remoteAddr:remotePort that no listener or connection uses. */
  ephemeralPort(remoteAddr: number, remotePort: number): number {
    // RFC 6056 algorithm 1 would randomize; sequential with a collision check is enough on one link.
    for (let tries = 0; tries < 16384; tries++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= 65535 ? 49152 : p + 1;
      let taken = this.findListener(p) >= 0;
      for (const s of this.sockets) {
        if (s.owner !== TcpOwner.Free && s.localPort === p && s.remoteAddr === remoteAddr && s.remotePort === remotePort) taken = true;
      }
      if (!taken) return p;
    }
    return this.nextEphemeral;
  }
}

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** HalfSipHash-2-4 of three 32-bit words under a 64-bit key (key[0], key[1]); key[2..3] fold into the input. */
function halfSipHash(key: Int32Array, a: number, b: number, c: number): number {
  const k0 = key[0]! ^ key[2]!;
  const k1 = key[1]! ^ key[3]!;
  let v0 = k0;
  let v1 = k1;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let i = 0; i < 4; i++) {
    const m = i === 0 ? a : i === 1 ? b : i === 2 ? c : (12 << 24);
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
      v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
      v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 4; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  return (v1 ^ v3) | 0;
}
