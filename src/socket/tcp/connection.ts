/**
 * TcpConnection: the transmission control block of one TCP connection (RFC 9293 §3.2), lwIP's
 * pcb, and the few helpers every part of the TCP code shares.
 *
 * It holds the send ring and the receive ring handed in at construction, an Assembler for
 * out-of-order data placed in the receive ring past RCV.NXT, and the parts, each created once
 * here and reset by `reset()`:
 * - `window` (window.ts): send and receive windows, scaling, SWS avoidance, the probe octet;
 * - `rtt` (rtt.ts): RFC 6298 RTO with Karn's rule and RFC 7323 RTTM;
 * - `recovery` (recovery.ts) and `cc` (congestion.ts, newreno.ts): loss recovery and the
 *   congestion controller behind one interface;
 * - `timers` (deadlines.ts): every deadline as data.
 * The fields are the rest of the block: the connection's identity and owner, the sequence
 * variables as RFC 9293 names them (int32, computed only with seqAdd and seqDiff and compared
 * only with seqLt and its kin, all mod 2^32), negotiated options, close and ACK state.
 *
 * input.ts (process), output.ts (dispatch) and timers.ts (tick, pollAt) are functions over a
 * TcpConnection, as lwIP's tcp_in.c and tcp_out.c work on a pcb; they change state only with
 * `setState`, close with `becomeClosed` and `abort`, and arm the persist timer with
 * `armPersistIfBlocked`. TcpSocket (socket.ts) extends this class with the application's
 * interface and the entry points that call those functions; this module knows none of them.
 * Nothing here allocates after construction or reads a clock.
 */
import { Assembler } from '../../storage/assembler.ts';
import { RingBuffer } from '../../storage/ring-buffer.ts';
import { seqDiff } from '../../wire/tcp.ts';
import { DEFAULT_MSS, type TcpContext } from './config.ts';
import type { CongestionController } from './congestion.ts';
import { OFF, TcpTimers } from './deadlines.ts';
import { NewRenoController } from './newreno.ts';
import { LossRecovery } from './recovery.ts';
import { RttEstimator } from './rtt.ts';
import { TcpState, isSynchronized } from './state.ts';
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

/** Memory and parts of one connection (one TcpSocket of the table), handed in by its stack at construction. */
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

/** The control block of one TCP connection and its shared helpers (see the module header); TcpSocket extends it. */
export class TcpConnection {
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
  /** Retransmission, persist, delayed-ACK, keepalive and close deadlines (ms, OFF when idle). */
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

  /** Back to a blank CLOSED connection (rings emptied, timers off): every part resets itself. */
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

  /**
   * RFC 9293 §3.8.6.1: data waiting, a window too small to send it (zero, or below a segment so
   * that sender SWS avoidance holds it, RFC 1122 §4.2.3.4) and nothing in flight (so no
   * retransmission timer to wake us): the persist timer must run, or the connection deadlocks
   * and, should the peer be gone, never ends (Linux arms its probe timer the same way).
   */
  armPersistIfBlocked(now: number): void {
    const timers = this.timers;
    if (timers.persistAt !== OFF || timers.retransmitAt !== OFF) return;
    if (!isSynchronized(this.state) || this.state === TcpState.TimeWait) return;
    const unsent = this.tx.length - seqDiff(this.sndNxt, this.txBase);
    if (unsent <= 0) return;
    const wnd = this.window.sndWnd;
    if (wnd === 0 || (wnd < this.sendMss && wnd < unsent)) timers.armPersist(now, this.rtt.rto);
  }

}
