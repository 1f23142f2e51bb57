/**
 * TcpSocket: one TCP connection (RFC 9293) on fixed memory, as the application and the stack
 * see it.
 *
 * One socket is one connection (or one entry of a listener's backlog). It owns a send ring and
 * a receive ring handed in at construction, an Assembler for out-of-order data placed in the
 * receive ring past RCV.NXT, and its parts, each created once here and reset by `reset()`:
 * - `window` (window.ts): send and receive windows, scaling, SWS avoidance, the probe octet;
 * - `rtt` (rtt.ts): RFC 6298 RTO with Karn's rule and RFC 7323 RTTM;
 * - `recovery` (recovery.ts) and `cc` (congestion.ts, newreno.ts): loss recovery and the
 *   congestion controller behind one interface;
 * - `timers` (timers.ts): every deadline as data, `tick` and `pollAt`.
 * The fields declared here are the rest of the transmission control block: the connection's
 * identity, the sequence variables as RFC 9293 names them (int32, computed only with seqAdd and
 * seqDiff and compared only with seqLt and its kin, all mod 2^32), negotiated options, close
 * and ACK state. input.ts and
 * output.ts read and write them (functions over the socket, as lwIP's tcp_in.c and tcp_out.c
 * work on a pcb); an application uses the methods and getters.
 *
 * The socket never sends by itself and never reads a clock:
 * - `process(now, seg, bytes, reply)` handles one arriving segment (input.ts);
 * - `dispatch(now, out)` fills `out` with the next segment to send, if any, and commits it as
 *   sent (output.ts). The payload is `out.payloadLen` octets at offset `out.payloadOff` of
 *   the send ring `tx`, which the caller copies with `tx.readAt` (it may wrap);
 * - `tick(now)` fires due timers and `pollAt(now)` reports the earliest deadline (timers.ts).
 *
 * Sender: RFC 6298 RTO with Karn's rule (or RTTM from timestamps), RFC 5681 slow start and
 * congestion avoidance, fast retransmit and RFC 6582 NewReno recovery, RFC 3042 limited
 * transmit, RFC 6675 SACK-based recovery when the peer permits SACK, RFC 6928 initial window,
 * Nagle (RFC 896) and sender SWS avoidance, persist timer with zero-window probes.
 * Receiver: out-of-order queueing with SACK blocks (RFC 2018), delayed ACKs (every second full
 * segment), receiver SWS avoidance, window scaling and timestamps with PAWS (RFC 7323), urgent
 * pointer, RFC 5961 challenge ACKs. Nothing on these paths allocates or throws.
 */
import { Assembler } from '../../storage/assembler.ts';
import { RingBuffer } from '../../storage/ring-buffer.ts';
import { NEVER } from '../../time.ts';
import { type TcpRepr, seqAdd, seqDiff } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import { DEFAULT_MSS, type TcpContext } from './config.ts';
import type { CongestionController } from './congestion.ts';
import { processSegment, takeSynOptions } from './input.ts';
import { NewRenoController } from './newreno.ts';
import { dispatchSegment, wantsToSend } from './output.ts';
import { LossRecovery } from './recovery.ts';
import { RttEstimator } from './rtt.ts';
import { TCP_STATE_NAMES, TcpState, assertNever, isOpening, isSynchronized, isWritable, receivesData } from './state.ts';
import { TcpTimers, pollAt, tick } from './timers.ts';
import { TcpWindow } from './window.ts';

/**
 * Who holds a socket of the stack's table. One value replaces what were four booleans (in use,
 * orphan, closed by the application, acceptable).
 */
export const TcpOwner = {
  /** Free in the table: `connect` or a SYN for a listener may take it. */
  Free: 0,
  /** A passive open in its listener's backlog, handshake not complete; nobody holds it yet. */
  Backlog: 1,
  /** Established (or further) and waiting in its listener's accept queue; nobody holds it yet. */
  AcceptQueue: 2,
  /** Held by the application (it connected, or accepted the socket); freed only by `close()`. */
  Application: 3,
  /** Given back by the application (`close()`): the stack finishes the connection, then frees it. */
  Orphan: 4,
} as const;

/** One of the TcpOwner values. */
export type TcpOwner = (typeof TcpOwner)[keyof typeof TcpOwner];

/** Memory and parts of one TcpSocket, handed in by its stack at construction. */
export interface TcpSocketOptions {
  /** Send ring storage; its length is the send buffer size in octets. */
  txBuffer: Uint8Array;
  /** Receive ring storage; its length bounds the receive window, octets. */
  rxBuffer: Uint8Array;
  /** Holes tracked in out-of-order data (and SACK ranges in the scoreboard). Defaults to 8. */
  oooRanges?: number;
  /** The congestion controller. Defaults to a NewRenoController. */
  congestion?: CongestionController;
}

/** One TCP connection: the application interface, the control block and its parts (see the module header). */
export class TcpSocket {
  /** Index in the stack's socket table (used in traces). */
  readonly index: number;
  /** The stack's configuration, counters, ISN generator, challenge-ACK budget and tracer. */
  readonly ctx: TcpContext;
  readonly tx: RingBuffer;
  readonly rx: RingBuffer;
  /** Out-of-order data in `rx` past RCV.NXT, offsets relative to RCV.NXT. */
  readonly ooo: Assembler;

  // --- Parts, created once ---
  /** Send and receive windows, scaling, SWS avoidance, the zero-window probe octet. */
  readonly window: TcpWindow;
  /** RTT estimator and RTO (RFC 6298, Karn, RFC 7323 RTTM); owns our timestamp clock. */
  readonly rtt: RttEstimator;
  /** Congestion window and slow-start threshold (RFC 5681; NewReno unless the stack was given another). */
  readonly cc: CongestionController;
  /** Duplicate ACKs, limited transmit, fast retransmit, NewReno and SACK recovery (RFC 5681, 3042, 6582, 6675). */
  readonly recovery: LossRecovery;
  /** Retransmission, persist, delayed-ACK, keepalive and close deadlines (ms, NEVER when idle). */
  readonly timers: TcpTimers;

  state: TcpState = TcpState.Closed;
  /** Last error (a SocketError), 0 if none. Set when the connection fails or is reset. */
  error = 0;

  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;

  // --- Ownership ---
  /**
   * Who holds the socket. Anything but Application means no application will read or close it:
   * the socket returns to the table (Free) when its connection ends.
   */
  owner: TcpOwner = TcpOwner.Free;
  /** Listener this socket was created for (a passive open), or -1. */
  listener = -1;

  // --- Per-socket options ---
  /** Nagle's algorithm (RFC 896). */
  nagle = true;
  /**
   * The `now` of the last process / tick / dispatch: application calls, which take no time
   * argument, start their timers from it (at most one poll interval early).
   */
  lastNow = 0;

  // --- Send sequence space (RFC 9293 §3.3.1) ---
  iss = 0;
  /** Oldest unacknowledged sequence number. */
  sndUna = 0;
  /** Next sequence number to send. Rewinds to SND.UNA on a retransmission timeout. */
  sndNxt = 0;
  /** Highest sequence number sent so far (SND.NXT before any rewind). */
  sndMax = 0;
  /** Sequence number of the first octet in the send ring. */
  txBase = 0;
  /** Effective send MSS, octets: peer MSS, our MTU, less the timestamp option. */
  sendMss = DEFAULT_MSS;

  // --- Receive sequence space ---
  irs = 0;
  rcvNxt = 0;
  /** MSS we advertise, octets. */
  localMss = DEFAULT_MSS;

  // --- Options negotiated ---
  sackOk = false;
  tsOk = false;
  /** Peer's timestamp to echo (RFC 7323 §4.3). */
  tsRecent = 0;
  /** RCV.NXT carried by the last ACK we sent (RFC 7323 §4.3 update rule). */
  lastAckSent = 0;

  // --- Close ---
  /** The application asked for a FIN after the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies (valid when finQueued). */
  finSeq = 0;
  /** Peer's FIN seen out of order: its sequence number. */
  remoteFinPending = false;
  remoteFinSeq = 0;
  /** The peer's FIN has been received in order (no more data will come). */
  remoteClosed = false;
  /** A RST is to be sent by the next dispatch (abort), then the socket closes. */
  rstPending = false;

  // --- ACK generation ---
  /** An ACK must go out at the next dispatch. */
  ackNow = false;
  /** Full-sized segments received since our last ACK. */
  unackedSegs = 0;

  // --- Urgent data (RFC 9293 §3.8.5) ---
  /** Octets from the front of the receive ring to just past the urgent data (meaningful while `urgentPending`). */
  rcvUp = 0;
  /** Urgent data is in the receive ring, not yet read past (`urgentMark` is -1 otherwise). */
  urgentPending = false;

  constructor(index: number, ctx: TcpContext, options: TcpSocketOptions) {
    this.index = index;
    this.ctx = ctx;
    this.tx = new RingBuffer(options.txBuffer);
    this.rx = new RingBuffer(options.rxBuffer);
    this.ooo = new Assembler(options.oooRanges ?? 8);
    this.window = new TcpWindow(this.rx, ctx.config);
    this.rtt = new RttEstimator(ctx.config);
    this.cc = options.congestion ?? new NewRenoController();
    this.recovery = new LossRecovery(this.cc, options.oooRanges ?? 8);
    this.timers = new TcpTimers(ctx.config);
    this.nagle = ctx.config.nagle;
  }

  // ===============================================================================================
  // Application interface

  /** True unless the socket is free in the table (the application, a listener or the stack holds it). */
  get inUse(): boolean {
    return this.owner !== TcpOwner.Free;
  }

  /** Keepalive probes when idle (RFC 1122 §4.2.3.6); the idle time counts from now on. */
  get keepalive(): boolean {
    return this.timers.keepalive;
  }

  set keepalive(on: boolean) {
    const s = this.state;
    this.timers.setKeepalive(on, this.lastNow, s === TcpState.Established || s === TcpState.CloseWait);
  }

  /** RFC 9293 name of the state. */
  get stateName(): string {
    return TCP_STATE_NAMES[this.state]!;
  }

  /** True in ESTABLISHED and CLOSE-WAIT: data can be sent. */
  get mayWrite(): boolean {
    return isWritable(this.state) && !this.finQueued;
  }

  /** Octets that `send` would take now. */
  get sendSpace(): number {
    return this.mayWrite ? this.tx.window : 0;
  }

  /** Octets waiting in the receive ring. */
  get recvQueue(): number {
    return this.rx.length;
  }

  /** Octets in the send ring (unsent plus unacknowledged). */
  get sendQueue(): number {
    return this.tx.length;
  }

  /** True if `recv` would return data, or the peer closed (recv returns 0). */
  get readable(): boolean {
    return this.rx.length > 0 || this.remoteClosed || this.state === TcpState.Closed;
  }

  /**
   * Copies `src[off..off+len)` into the send ring; returns octets taken (possibly fewer than
   * `len`, 0 when the ring is full) or NotConnected when this side is closed for writing.
   */
  send(src: Uint8Array, off: number, len: number): number {
    if (isOpening(this.state)) {
      // RFC 9293 §3.10.2: data may be queued before the connection is established.
      if (this.finQueued) return SocketError.NotConnected;
      return this.tx.enqueue(src, off, len);
    }
    if (!this.mayWrite) return this.error !== 0 ? this.error : SocketError.NotConnected;
    const n = this.tx.enqueue(src, off, len);
    // Data behind a zero window with nothing in flight: start probing (RFC 9293 §3.8.6.1).
    if (n > 0) this.armPersistIfBlocked(this.lastNow);
    return n;
  }

  /**
   * Moves up to `len` received octets into `dst[off..]`. Returns the count, 0 at end of stream
   * (peer closed and everything read), WouldBlock when nothing is there yet, or the error that
   * ended the connection.
   */
  recv(dst: Uint8Array, off: number, len: number): number {
    const before = this.window.toAdvertise(this.rcvNxt, this.localMss);
    const n = this.rx.dequeue(dst, off, len);
    if (n > 0) {
      if (this.urgentPending) {
        this.rcvUp -= n;
        if (this.rcvUp <= 0) this.urgentPending = false;
      }
      this.windowOpened(before);
      return n;
    }
    if (this.remoteClosed) return 0;
    if (this.state === TcpState.Closed) return this.error !== 0 ? this.error : 0;
    return SocketError.WouldBlock;
  }

  /**
   * Octets of received data, from the front of the receive ring, that end the urgent data
   * (the telnet Synch: everything before this mark may be discarded); -1 if none is pending.
   */
  get urgentMark(): number {
    return this.urgentPending ? this.rcvUp : -1;
  }

  /**
   * Closes the sending direction: a FIN follows the queued data (RFC 9293 §3.10.4). Before the
   * connection is established the FIN waits for ESTABLISHED, as RFC 9293 says for SYN-RECEIVED.
   */
  shutdown(): void {
    const state = this.state;
    switch (state) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
      case TcpState.Established:
      case TcpState.CloseWait:
        if (this.finQueued) return;
        this.finQueued = true;
        this.finSeq = seqAdd(this.txBase, this.tx.length);
        return;
      case TcpState.Closed:
      case TcpState.Listen:
      case TcpState.FinWait1:
      case TcpState.FinWait2:
      case TcpState.Closing:
      case TcpState.LastAck:
      case TcpState.TimeWait:
        // Not open, or our FIN is already on its way.
        return;
      default:
        assertNever(state);
    }
  }

  /**
   * Gives the socket back: a FIN follows the queued data and the table frees the socket when the
   * connection is over. Unread received data means the application lost data: RST instead
   * (RFC 2525 §2.17, as Linux does).
   */
  close(): void {
    this.owner = TcpOwner.Orphan;
    if (this.state === TcpState.Closed || this.state === TcpState.Listen) {
      this.becomeClosed(this.error);
      return;
    }
    if (this.rx.length > 0 && this.state !== TcpState.SynSent) {
      this.abort();
      return;
    }
    if (this.state === TcpState.SynSent && this.tx.length === 0) {
      // RFC 9293 §3.10.4: nothing to deliver, so the attempt is simply abandoned.
      this.becomeClosed(0);
      return;
    }
    this.shutdown();
    // In FIN-WAIT-2 already (shutdown came first): the orphan timeout starts now.
    if (this.state === TcpState.FinWait2) this.timers.finWait2(this.lastNow);
  }

  /** Resets the connection: a RST is sent (when synchronized) and the socket is CLOSED. */
  abort(): void {
    const s = this.state;
    if (s === TcpState.SynReceived || s === TcpState.Established || s === TcpState.FinWait1 ||
        s === TcpState.FinWait2 || s === TcpState.CloseWait) {
      this.rstPending = true;
      return;
    }
    this.becomeClosed(this.error);
  }

  // ===============================================================================================
  // Opening

  /**
   * Active open (RFC 9293 §3.10.1) at `now` (ms) from the stack's address to
   * remoteAddr:remotePort, from `localPort` (an ephemeral port when 0): SYN-SENT; the SYN goes
   * out at the next dispatch.
   */
  connect(now: number, remoteAddr: number, remotePort: number, localPort = 0): void {
    this.reset();
    this.localAddr = this.ctx.localAddr;
    this.localPort = localPort !== 0 ? localPort : this.ctx.ephemeralPort(remoteAddr, remotePort);
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.localMss = this.ctx.localMss;
    this.initSend(now);
    this.owner = TcpOwner.Application;
    this.window.offerScaling();
    this.ctx.stats.activeOpens++;
    this.setState(TcpState.SynSent);
  }

  /**
   * Passive open from a SYN that reached a listener (RFC 9293 §3.10.7.2): SYN-RECEIVED, with
   * the peer's options taken from `syn`; the SYN-ACK goes out at the next dispatch.
   */
  acceptSyn(now: number, syn: TcpRepr, localAddr: number, remoteAddr: number, localMss: number, listener: number): void {
    this.reset();
    this.localAddr = localAddr;
    this.localPort = syn.dstPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = syn.srcPort;
    this.localMss = localMss;
    this.listener = listener;
    this.initSend(now);
    // Not the application's until accept().
    this.owner = TcpOwner.Backlog;
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.window.startReceive(this.rcvNxt);
    takeSynOptions(this, syn);
    this.window.takeSynWindow(syn, this.iss);
    this.ctx.stats.passiveOpens++;
    this.setState(TcpState.SynReceived);
  }

  private initSend(now: number): void {
    const iss = this.ctx.isn(now, this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.txBase = seqAdd(iss, 1);
    this.rtt.open(iss);
    this.lastNow = now;
    this.recovery.open(iss);
  }

  /** Back to a blank CLOSED socket (rings emptied, timers off): every part resets itself. */
  reset(): void {
    this.tx.clear();
    this.rx.clear();
    this.ooo.clear();
    this.window.reset();
    this.rtt.reset();
    this.cc.reset();
    this.recovery.reset();
    this.timers.reset();
    this.error = 0;
    this.listener = -1;
    this.nagle = this.ctx.config.nagle;
    this.sendMss = DEFAULT_MSS;
    this.sackOk = false;
    this.tsOk = false;
    this.tsRecent = 0;
    this.finQueued = false;
    this.remoteFinPending = false;
    this.remoteClosed = false;
    this.rstPending = false;
    this.ackNow = false;
    this.unackedSegs = 0;
    this.urgentPending = false;
  }

  // ===============================================================================================
  // Segments: input.ts, output.ts, timers.ts

  /**
   * Processes one segment for this connection (RFC 9293 §3.10.7.3 and §3.10.7.4) at `now` (ms).
   * `bytes` holds the payload at `seg.payloadOff`. Returns true when `reply` was filled with a
   * segment to send at once.
   */
  process(now: number, seg: TcpRepr, bytes: Uint8Array, reply: TcpRepr): boolean {
    return processSegment(this, now, seg, bytes, reply);
  }

  /** True if dispatch would produce a segment now. */
  wantsToSend(): boolean {
    return wantsToSend(this);
  }

  /**
   * Fills `out` with the next segment and commits it as sent. Returns false when there is
   * nothing to send. The payload is `out.payloadLen` octets at offset `out.payloadOff` of the
   * send ring `tx`: copy it with `tx.readAt(out.payloadOff, ...)` (it may wrap).
   */
  dispatch(now: number, out: TcpRepr): boolean {
    return dispatchSegment(this, now, out);
  }

  /**
   * Earliest deadline of this socket, ms: `now` when a segment is waiting (and `canSend`), else
   * the first timer; NEVER when idle.
   */
  pollAt(now: number, canSend = true): number {
    return pollAt(this, now, canSend);
  }

  /** Fires expired timers at `now` (ms; call before dispatch). */
  tick(now: number): void {
    tick(this, now);
  }

  /**
   * In TIME-WAIT: when the peer's FIN last arrived, ms (each retransmitted FIN restarts 2·MSL
   * from its arrival). Meaningless in other states.
   */
  get lastFinAt(): number {
    return this.timers.lastFinAt;
  }

  /**
   * RFC 9293 §3.8.6.1: data waiting, a window too small to send it (zero, or below a segment so
   * that sender SWS avoidance holds it, RFC 1122 §4.2.3.4) and nothing in flight (so no
   * retransmission timer to wake us): the persist timer must run, or the connection deadlocks
   * and, should the peer be gone, never ends (Linux arms its probe timer the same way).
   */
  armPersistIfBlocked(now: number): void {
    const timers = this.timers;
    if (timers.persistAt !== NEVER || timers.retransmitAt !== NEVER) return;
    if (!isSynchronized(this.state) || this.state === TcpState.TimeWait) return;
    const unsent = this.tx.length - seqDiff(this.sndNxt, this.txBase);
    if (unsent <= 0) return;
    const wnd = this.window.sndWnd;
    if (wnd === 0 || (wnd < this.sendMss && wnd < unsent)) timers.armPersist(now, this.rtt.rto);
  }

  /** After the application read: ACK at once if the window opened enough to matter (no delayed ACK). */
  private windowOpened(before: number): void {
    if (!receivesData(this.state)) return;
    if (this.window.openedEnough(before, this.rcvNxt, this.localMss)) this.ackNow = true;
  }

  // ===============================================================================================
  // State

  /** Every transition goes through here, so a tracer sees `A => B`. */
  setState(state: TcpState): void {
    const from = this.state;
    if (from === state) return;
    this.state = state;
    if (this.ctx.tracer !== null) this.ctx.tracer.state(this.index, from, state);
  }

  /**
   * CLOSED with `error` (a SocketError, or 0) for the application: every timer stops, nothing is
   * owed to the peer. A socket no application holds goes back to the table's free list.
   */
  becomeClosed(error: number): void {
    this.error = error;
    this.timers.stop();
    this.ackNow = false;
    this.rstPending = false;
    this.setState(TcpState.Closed);
    if (this.owner !== TcpOwner.Application) {
      // Nobody holds this socket any more: back to the table's free list.
      this.owner = TcpOwner.Free;
      this.tx.clear();
      this.rx.clear();
    }
  }
}
