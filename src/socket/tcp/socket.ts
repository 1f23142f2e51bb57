/**
 * TCP socket: RFC 9293 on fixed memory.
 *
 * One socket is one connection (or one half of a listener's backlog). It owns a send ring and
 * a receive ring handed in at construction, and an Assembler that tracks out-of-order data
 * placed in the receive ring past RCV.NXT. Sequence variables are named as RFC 9293 names them
 * and kept as int32 (compare them only with the seq* helpers, which work mod 2^32).
 *
 * The socket never sends by itself and never reads a clock:
 * - `process(now, seg, bytes, reply)` handles one arriving segment (already checksummed and
 *   parsed); when RFC 9293 wants an immediate answer (a RST, a challenge ACK, an ACK for an
 *   unacceptable segment) it fills `reply` and returns true. Ordinary ACKs are left to dispatch.
 * - `dispatch(now, out)` fills `out` with the next segment to send, if any, and commits it as
 *   sent (the caller has already secured a pool slot). The payload is `out.payloadLen` octets
 *   at `txOffset` in the send ring, copied by the caller with `copyPayload`.
 * - `pollAt()` reports the earliest timer deadline (retransmit, persist, delayed ACK,
 *   keepalive, TIME-WAIT, FIN-WAIT-2), or `now` when a segment is waiting to go out.
 *
 * Sender: RFC 6298 RTO with Karn's rule (or RTTM from timestamps), RFC 5681 slow start and
 * congestion avoidance, fast retransmit and RFC 6582 NewReno recovery, RFC 3042 limited
 * transmit, RFC 6675 SACK-based recovery when the peer permits SACK, RFC 6928 initial window,
 * Nagle (RFC 896) and sender SWS avoidance, persist timer with zero-window probes.
 * Receiver: out-of-order queueing with SACK blocks (RFC 2018), delayed ACKs (every second full
 * segment), receiver SWS avoidance, window scaling and timestamps with PAWS (RFC 7323), urgent
 * pointer, RFC 5961 challenge ACKs.
 */
import { Assembler } from '../../storage/assembler.ts';
import { RingBuffer } from '../../storage/ring-buffer.ts';
import { NEVER } from '../../time.ts';
import { TcpFlag, TcpRepr, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import { DEFAULT_MSS, type TcpContext } from './config.ts';
import type { CongestionController } from './congestion.ts';
import { NewRenoController } from './newreno.ts';
import { LossRecovery } from './recovery.ts';
import { RttEstimator } from './rtt.ts';
import { TcpTimers, pollAt, tick } from './timers.ts';
import { TcpWindow } from './window.ts';
import { TCP_STATE_NAMES, TcpState, isOpening, isSynchronized, isWritable, receivesData, sendsData } from './state.ts';

/** Octets the timestamp option takes in every segment once negotiated (10 + 2 NOPs). */
const TS_OPTION_LEN = 12;

export interface TcpSocketOptions {
  /** Send ring storage; its length is the send buffer size. */
  txBuffer: Uint8Array;
  /** Receive ring storage; its length bounds the receive window. */
  rxBuffer: Uint8Array;
  /** Holes tracked in out-of-order data (and SACK ranges in the scoreboard). Defaults to 8. */
  oooRanges?: number;
  /** The congestion controller. Defaults to a NewRenoController. */
  congestion?: CongestionController;
}

export class TcpSocket {
  /** Index in the stack's socket table (used in traces). */
  readonly index: number;
  readonly ctx: TcpContext;
  readonly tx: RingBuffer;
  readonly rx: RingBuffer;
  /** Out-of-order data in `rx` past RCV.NXT, offsets relative to RCV.NXT. */
  readonly ooo: Assembler;

  state: TcpState = TcpState.Closed;
  /** Last error (a SocketError), 0 if none. Set when the connection fails or is reset. */
  error = 0;

  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;

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
  /** Effective send MSS: peer MSS, our MTU, less the timestamp option. */
  sendMss = DEFAULT_MSS;

  // --- Receive sequence space ---
  irs = 0;
  rcvNxt = 0;
  /** MSS we advertise. */
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
  /** No application holds the socket (closed by it, or not yet accepted); it is freed when the connection ends. */
  orphan = false;
  /** The application called close(): nobody will read, so arriving data is answered with RST. */
  appClosed = false;
  /** The application may still own it (false once it is free in the table). */
  inUse = false;
  /** Peer's FIN seen out of order: its sequence number. */
  private remoteFinPending = false;
  private remoteFinSeq = 0;
  /** The peer's FIN has been received in order (no more data will come). */
  remoteClosed = false;
  /** A RST is to be sent by the next dispatch (abort), then the socket closes. */
  private rstPending = false;

  /** Retransmission, persist, delayed-ACK, keepalive and close deadlines (ms, NEVER when idle). */
  readonly timers: TcpTimers;

  /** Send and receive windows, scaling, SWS avoidance, the zero-window probe octet. */
  readonly window: TcpWindow;

  // --- Retransmission ---
  /** RTT estimator and RTO (RFC 6298, Karn, RFC 7323 RTTM); owns our timestamp clock. */
  readonly rtt: RttEstimator;

  // --- Congestion control and loss recovery ---
  /** Congestion window and slow-start threshold (RFC 5681; NewReno unless the stack was given another). */
  readonly cc: CongestionController;
  /** Duplicate ACKs, limited transmit, fast retransmit, NewReno and SACK recovery (RFC 5681, 3042, 6582, 6675). */
  readonly recovery: LossRecovery;

  // --- ACK generation ---
  /** An ACK must go out at the next dispatch. */
  ackNow = false;
  /** Full-sized segments received since our last ACK. */
  private unackedSegs = 0;

  // --- Urgent data (RFC 9293 §3.8.5) ---
  /** Receive-ring offset just past the urgent data, or -1 when none is pending. */
  private rcvUp = 0;
  private urgentPending = false;

  /** Listener this socket was created for (a passive open), or -1. */
  listener = -1;
  /** Connection established and waiting in the listener's accept queue. */
  acceptable = false;

  constructor(index: number, ctx: TcpContext, options: TcpSocketOptions) {
    this.index = index;
    this.ctx = ctx;
    this.tx = new RingBuffer(options.txBuffer);
    this.rx = new RingBuffer(options.rxBuffer);
    this.ooo = new Assembler(options.oooRanges ?? 8);
    this.cc = options.congestion ?? new NewRenoController();
    this.recovery = new LossRecovery(this.cc, options.oooRanges ?? 8);
    this.rtt = new RttEstimator(ctx.config);
    this.window = new TcpWindow(this.rx, ctx.config);
    this.timers = new TcpTimers(ctx.config);
    this.nagle = ctx.config.nagle;
  }

  // ===============================================================================================
  // Application interface

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
    switch (this.state) {
      case TcpState.SynSent:
      case TcpState.SynReceived:
      case TcpState.Established:
      case TcpState.CloseWait:
        if (this.finQueued) return;
        this.finQueued = true;
        this.finSeq = (this.txBase + this.tx.length) | 0;
        return;
      default:
        return;
    }
  }

  /**
   * Gives the socket back: a FIN follows the queued data and the table frees the socket when the
   * connection is over. Unread received data means the application lost data: RST instead
   * (RFC 2525 §2.17, as Linux does).
   */
  close(): void {
    this.orphan = true;
    this.appClosed = true;
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

  /** Active open (RFC 9293 §3.10.1): SYN-SENT; the SYN goes out at the next dispatch. */
  connect(now: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number, localMss: number): void {
    this.reset();
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.localMss = localMss;
    this.initSend(now);
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
    this.irs = syn.seq;
    this.rcvNxt = (syn.seq + 1) | 0;
    this.window.startReceive(this.rcvNxt);
    this.takeSynOptions(now, syn);
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
    this.txBase = (iss + 1) | 0;
    this.rtt.open(iss);
    this.lastNow = now;
    this.recovery.open(iss);
    this.inUse = true;
  }

  /** Reads MSS, window scale, SACK-permitted and timestamps from a SYN (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
  private takeSynOptions(_now: number, syn: TcpRepr): void {
    const cfg = this.ctx.config;
    let mss = syn.mss > 0 ? syn.mss : DEFAULT_MSS;
    if (mss > this.localMss) mss = this.localMss;
    this.window.takeSynScale(syn.windowScale, this.state === TcpState.Closed);
    this.sackOk = syn.sackPermitted && cfg.sack;
    this.tsOk = syn.hasTimestamp && cfg.timestamps;
    if (this.tsOk) {
      this.tsRecent = syn.tsVal;
      mss -= TS_OPTION_LEN;
    }
    this.sendMss = mss;
    this.recovery.start(mss, this.sackOk);
  }

  /** Back to a blank CLOSED socket (rings emptied, timers off). */
  reset(): void {
    this.tx.clear();
    this.rx.clear();
    this.ooo.clear();
    this.error = 0;
    this.nagle = this.ctx.config.nagle;
    this.window.reset();
    this.sackOk = false;
    this.tsOk = false;
    this.tsRecent = 0;
    this.finQueued = false;
    this.orphan = false;
    this.appClosed = false;
    this.remoteFinPending = false;
    this.remoteClosed = false;
    this.rstPending = false;
    this.timers.reset();
    this.rtt.reset();
    this.cc.reset();
    this.recovery.reset();
    this.ackNow = false;
    this.unackedSegs = 0;
    this.urgentPending = false;
    this.listener = -1;
    this.acceptable = false;
    this.sendMss = DEFAULT_MSS;
  }

  // ===============================================================================================
  // Input

  /**
   * Processes one segment for this connection (RFC 9293 §3.10.7.3 and §3.10.7.4). `bytes`
   * holds the payload at `seg.payloadOff`. Returns true when `reply` was filled with a segment
   * to send at once.
   */
  process(now: number, seg: TcpRepr, bytes: Uint8Array, reply: TcpRepr): boolean {
    const stats = this.ctx.stats;
    this.lastNow = now;
    if (this.ctx.tracer !== null) this.ctx.tracer.segment(this.index, false, seg);
    const flags = seg.flags;
    const hasAck = (flags & TcpFlag.Ack) !== 0;
    const hasRst = (flags & TcpFlag.Rst) !== 0;
    const hasSyn = (flags & TcpFlag.Syn) !== 0;

    if (this.state === TcpState.SynSent) return this.processSynSent(now, seg, bytes, reply);

    // RFC 7323 §5.3 (PAWS): a timestamp older than TS.Recent marks an old duplicate.
    if (this.tsOk && seg.hasTimestamp && !hasRst && seqLt(seg.tsVal, this.tsRecent)) {
      stats.pawsDrops++;
      this.ackNow = true;
      return false;
    }

    // RFC 9293 §3.10.7.4 first: is the segment acceptable (in the receive window)?
    const segLen = seg.payloadLen + (hasSyn ? 1 : 0) + ((flags & TcpFlag.Fin) !== 0 ? 1 : 0);
    const wnd = this.window.receiveWindow(this.rcvNxt);
    if (!this.acceptable4(seg.seq, segLen, wnd)) {
      if (this.state === TcpState.SynReceived && hasSyn && seg.seq === this.irs) {
        if (!hasAck) {
          // A retransmitted SYN: our SYN-ACK was lost; send it again.
          this.sndNxt = this.iss;
          return false;
        }
        // Simultaneous open (RFC 9293 §3.5, figure 8 line 6): the peer's SYN,ACK repeats its
        // SYN, already counted in RCV.NXT, and acknowledges ours: ESTABLISHED, nothing to send.
        if (seqGt(seg.ack, this.sndUna) && seqLe(seg.ack, this.sndMax)) {
          this.establishFromSynReceived(now, seg);
          this.processAck(now, seg);
          return false;
        }
      }
      stats.outOfWindow++;
      if (hasRst) return false;
      // RFC 5961 §4.2: a SYN gets a (rate-limited) challenge ACK whatever its sequence number.
      if (hasSyn) return this.challengeAck(now, reply);
      // RFC 9293 §3.10.7.4: with RCV.WND = 0 no text is acceptable, but "special allowance
      // should be made to accept valid ACKs": a zero-window probe may carry one.
      if (wnd === 0 && hasAck && seg.seq === this.rcvNxt && isSynchronized(this.state) &&
          seqLe(seg.ack, this.window.ackLimit(this.sndMax)) && seqGe(seg.ack, this.sndUna)) {
        this.processAck(now, seg);
        if (this.state === TcpState.Closed) return false;
      }
      // RFC 9293 §3.10.7.4 (TIME-WAIT): a retransmitted FIN is acknowledged and restarts 2·MSL.
      if (this.state === TcpState.TimeWait && (flags & TcpFlag.Fin) !== 0) this.timers.restartTimeWait(now);
      // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply."
      return this.fillAck(now, reply);
    }

    // Second: the RST bit (RFC 5961 §3.2: exact match resets, in-window gets a challenge ACK).
    if (hasRst) {
      if (seg.seq !== this.rcvNxt) return this.challengeAck(now, reply);
      this.onReset();
      return false;
    }

    // Fourth: a SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
    if (hasSyn) {
      if (this.state === TcpState.SynReceived && seg.seq === this.irs) {
        // Our SYN-ACK was lost and the peer retransmitted its SYN: send the SYN-ACK again.
        this.sndNxt = this.iss;
        return false;
      }
      return this.challengeAck(now, reply);
    }

    // Fifth: the ACK field. Without ACK the segment is dropped.
    if (!hasAck) return false;

    if (this.state === TcpState.SynReceived) {
      // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT moves us to ESTABLISHED, else RST.
      if (seqLe(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndMax)) return this.fillRstForAck(seg, reply);
      this.establishFromSynReceived(now, seg);
    }

    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
    if (seqGt(seg.ack, this.window.ackLimit(this.sndMax))) {
      // Acknowledges something not yet sent: ACK and drop.
      stats.outOfWindow++;
      return this.fillAck(now, reply);
    }
    const maxSndWnd = this.window.maxSndWnd;
    if (seqLt(seg.ack, (this.sndUna - maxSndWnd) | 0) && maxSndWnd > 0) {
      return this.challengeAck(now, reply);
    }

    this.timers.heard(now);
    if (this.tsOk && seg.hasTimestamp && seqLe(seg.seq, this.lastAckSent)) this.tsRecent = seg.tsVal;

    this.processAck(now, seg);
    if (this.state === TcpState.Closed) return false;

    // Sixth: the URG bit (RFC 9293 §3.10.7.4, sixth).
    if ((flags & TcpFlag.Urg) !== 0 && seg.urgent > 0 && receivesData(this.state)) {
      const up = ((seg.seq + seg.urgent) - this.rcvNxt) | 0; // octets past RCV.NXT where urgent data ends
      const mark = this.rx.length + up;
      if (!this.urgentPending || mark > this.rcvUp) {
        this.rcvUp = mark;
        this.urgentPending = mark > 0;
      }
    }

    // Seventh: the segment text.
    if (seg.payloadLen > 0) {
      if (receivesData(this.state)) {
        if (this.appClosed) {
          // Data for a socket the application has closed: nobody will read it (RFC 9293 §3.10.7.4).
          this.abort();
          return false;
        }
        this.receiveText(now, seg, bytes);
      } else {
        this.ackNow = true;
      }
    }

    // Eighth: the FIN bit.
    if ((flags & TcpFlag.Fin) !== 0) this.receiveFin(now, (seg.seq + seg.payloadLen) | 0);
    else if (this.remoteFinPending && this.rcvNxt === this.remoteFinSeq) this.receiveFin(now, this.remoteFinSeq);
    return false;
  }

  /** SYN-RECEIVED -> ESTABLISHED on an acceptable ACK of our SYN. */
  private establishFromSynReceived(now: number, seg: TcpRepr): void {
    this.window.takeHandshakeAck(seg);
    this.afterHandshake(now);
    this.setState(TcpState.Established);
    if (this.listener >= 0) this.acceptable = true;
  }

  /** RFC 6298 §5.7: after a SYN timed out, data transfer starts with an RTO of at least 3 s. */
  private afterHandshake(now: number): void {
    this.rtt.afterHandshake();
    this.timers.established(now);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  private processSynSent(now: number, seg: TcpRepr, _bytes: Uint8Array, reply: TcpRepr): boolean {
    const flags = seg.flags;
    const hasAck = (flags & TcpFlag.Ack) !== 0;
    // First: an ACK outside ISS < SEG.ACK =< SND.NXT is answered with a RST (unless it is one).
    if (hasAck && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if ((flags & TcpFlag.Rst) !== 0) return false;
      return this.fillRstForAck(seg, reply);
    }
    // Second: RST. Only with an acceptable ACK does it refuse the connection.
    if ((flags & TcpFlag.Rst) !== 0) {
      if (hasAck) {
        this.ctx.stats.attemptFails++;
        this.becomeClosed(SocketError.ConnectionRefused);
      }
      return false;
    }
    // Fourth: SYN.
    if ((flags & TcpFlag.Syn) === 0) return false;
    this.irs = seg.seq;
    this.rcvNxt = (seg.seq + 1) | 0;
    this.window.startReceive(this.rcvNxt);
    this.takeSynOptions(now, seg);
    this.ackNow = true;
    if (hasAck) {
      // Our SYN is acknowledged: ESTABLISHED.
      this.rtt.onSynAck(now, seg, this.tsOk, this.timers.retries);
      this.sndUna = seg.ack;
      this.window.takeSynWindow(seg, seg.ack);
      this.timers.retransmitAt = NEVER;
      this.afterHandshake(now);
      this.setState(TcpState.Established);
      return false;
    }
    // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, send SYN-ACK with our ISS.
    this.window.takeSynWindow(seg, seg.ack);
    this.sndNxt = this.iss;
    this.timers.retransmitAt = NEVER;
    this.setState(TcpState.SynReceived);
    return false;
  }

  /** RFC 9293 §3.10.7.4 acceptability test (the four cases). */
  private acceptable4(seq: number, segLen: number, wnd: number): boolean {
    const rcvNxt = this.rcvNxt;
    if (segLen === 0) {
      if (wnd === 0) return seq === rcvNxt;
      return seqLe(rcvNxt, seq) && seqLt(seq, (rcvNxt + wnd) | 0);
    }
    if (wnd === 0) return false;
    const last = (seq + segLen - 1) | 0;
    const right = (rcvNxt + wnd) | 0;
    return (seqLe(rcvNxt, seq) && seqLt(seq, right)) || (seqLe(rcvNxt, last) && seqLt(last, right));
  }

  /** The ACK field of an acceptable segment (RFC 9293 §3.10.7.4 fifth; RFC 5681; RFC 6582; RFC 6675). */
  private processAck(now: number, seg: TcpRepr): void {
    const ack = seg.ack;
    const stats = this.ctx.stats;
    const win = this.window;
    const oldWnd = win.sndWnd;
    // Window update (RFC 9293 §3.10.7.4).
    let windowChanged = false;
    if (win.update(seg, ack)) {
      windowChanged = win.sndWnd !== oldWnd;
      if (win.sndWnd > 0) this.timers.windowOpened();
    }

    // SACK blocks update the scoreboard (RFC 2018 §3, RFC 6675 §4).
    let newSack = false;
    if (this.sackOk && seg.sackCount > 0) newSack = this.recovery.takeSackBlocks(seg, ack, this.sndUna, this.sndMax);

    if (seqGt(ack, this.sndUna)) {
      this.onNewAck(now, seg, ack);
    } else if (ack === this.sndUna && seg.payloadLen === 0 && (seg.flags & (TcpFlag.Syn | TcpFlag.Fin)) === 0 &&
               !windowChanged && this.sndMax !== this.sndUna) {
      // RFC 5681 §2: a duplicate ACK.
      this.onDupAck(now, newSack);
    } else if (ack === this.sndUna && newSack && this.sndMax !== this.sndUna) {
      // RFC 6675 §5: an ACK with new SACK information counts toward loss detection too.
      this.onDupAck(now, true);
    }
    void stats;

    // Our FIN acknowledged?
    const finAcked = this.finQueued && seqGt(this.sndUna, this.finSeq);
    switch (this.state) {
      case TcpState.FinWait1:
        if (finAcked) {
          this.setState(TcpState.FinWait2);
          if (this.appClosed) this.timers.finWait2(now);
        }
        break;
      case TcpState.Closing:
        if (finAcked) this.enterTimeWait(now);
        break;
      case TcpState.LastAck:
        if (finAcked) this.becomeClosed(0);
        break;
      default:
        break;
    }
  }

  /** An ACK that advances SND.UNA. */
  private onNewAck(now: number, seg: TcpRepr, ack: number): void {
    const stats = this.ctx.stats;
    const acked = (ack - this.sndUna) | 0;
    this.rtt.onAck(now, seg, ack, this.tsOk);
    // Remove acknowledged octets from the send ring (the SYN and FIN occupy no ring space).
    let dataAcked = (ack - this.txBase) | 0;
    if (dataAcked > this.tx.length) dataAcked = this.tx.length;
    if (dataAcked > 0) {
      this.tx.discard(dataAcked);
      this.txBase = (this.txBase + dataAcked) | 0;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack; // the peer took a zero-window probe octet
    if (seqLt(this.sndMax, ack)) this.sndMax = ack;
    this.window.acked(ack);
    this.timers.progress();

    // Congestion control and loss recovery.
    this.recovery.onNewAck(now, acked, this.sndUna, this.sndMax, this.tx.capacity + 2 * this.sendMss, this.rtt.srtt);

    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it; on every
    // partial ACK too (RFC 6582 §4.3's "Slow-but-Steady" variant: §3.2 step 5 restarts it on the
    // first one only).
    this.timers.retransmitAt = this.sndUna === this.sndMax ? NEVER : now + this.rtt.rto;
    void stats;
  }

  /** A duplicate ACK (or one with new SACK information): fast retransmit when loss is detected. */
  private onDupAck(now: number, newSack: boolean): void {
    if (!this.recovery.onDupAck(now, newSack, this.sndUna, this.sndMax)) return;
    const stats = this.ctx.stats;
    this.rtt.cancelTiming(); // Karn: the timed segment may be retransmitted
    if (this.sackOk) stats.sackRecoveries++;
    stats.fastRetransmits++;
    this.timers.retransmitAt = now + this.rtt.rto;
  }

  /** Places segment text in the receive ring (in order, or out of order tracked by the Assembler). */
  private receiveText(now: number, seg: TcpRepr, bytes: Uint8Array): void {
    let seq = seg.seq;
    let off = seg.payloadOff;
    let len = seg.payloadLen;
    // Trim what we already have (RFC 9293 §3.10.7.4: "trim any portion ... that lies outside").
    const behind = (this.rcvNxt - seq) | 0;
    if (behind > 0) {
      seq = this.rcvNxt;
      off += behind;
      len -= behind;
    }
    // Keep what fits the window we offered and the ring actually has.
    const wnd = this.window.receiveWindow(this.rcvNxt);
    const free = this.rx.window;
    const room = wnd < free ? wnd : free;
    const start = (seq - this.rcvNxt) | 0; // >= 0
    if (start + len > room) len = room - start;
    if (len <= 0) {
      this.ackNow = true;
      return;
    }
    const full = seg.payloadLen >= this.sendMssForAck();
    if (start === 0) {
      const hadOoo = !this.ooo.isEmpty();
      const n = this.rx.enqueue(bytes, off, len);
      this.ooo.advance(n);
      let advance = n;
      // Data that was waiting out of order is now contiguous.
      const more = this.ooo.removeFront();
      if (more > 0) {
        this.rx.commit(more);
        advance += more;
      }
      this.rcvNxt = (this.rcvNxt + advance) | 0;
      if (hadOoo) {
        // RFC 5681 §4.2: ACK at once when a segment fills (part of) a gap.
        this.ackNow = true;
      } else if (full) {
        // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment.
        if (++this.unackedSegs >= 2) this.ackNow = true;
      }
      if (!this.ackNow) {
        if (this.ctx.config.delayedAckMs === 0) this.ackNow = true;
        else this.timers.delayAck(now);
      }
      return;
    }
    // Out of order: store it past the contiguous data and send a duplicate ACK at once (RFC 5681 §4.2).
    this.ackNow = true;
    if (!this.ooo.add(start, start + len)) {
      this.ctx.stats.oooDrops++;
      return;
    }
    this.rx.writeAt(start, bytes, off, len);
  }

  private sendMssForAck(): number {
    // A "full-sized" segment for delayed-ACK purposes: our advertised MSS less options.
    return this.localMss - (this.tsOk ? TS_OPTION_LEN : 0);
  }

  /** The FIN bit (RFC 9293 §3.10.7.4 eighth). `finSeq` is the sequence number the FIN occupies. */
  private receiveFin(now: number, finSeq: number): void {
    if (finSeq !== this.rcvNxt) {
      // FIN past a hole: remember it until the data before it arrives.
      if (seqGt(finSeq, this.rcvNxt)) {
        this.remoteFinPending = true;
        this.remoteFinSeq = finSeq;
      }
      this.ackNow = true;
      return;
    }
    this.remoteFinPending = false;
    if (!this.remoteClosed) {
      this.rcvNxt = (this.rcvNxt + 1) | 0;
      this.remoteClosed = true;
    }
    this.ackNow = true;
    switch (this.state) {
      case TcpState.SynReceived:
      case TcpState.Established:
        this.setState(TcpState.CloseWait);
        break;
      case TcpState.FinWait1:
        // Our FIN not yet acknowledged: simultaneous close.
        if (this.finQueued && seqGt(this.sndUna, this.finSeq)) this.enterTimeWait(now);
        else this.setState(TcpState.Closing);
        break;
      case TcpState.FinWait2:
        this.enterTimeWait(now);
        break;
      case TcpState.TimeWait:
        // A retransmitted FIN: ACK it again and restart the 2·MSL timer.
        this.timers.restartTimeWait(now);
        break;
      default:
        break;
    }
  }

  /**
   * In TIME-WAIT: when the peer's FIN last arrived, ms (each retransmitted FIN restarts 2·MSL
   * from its arrival). Meaningless in other states.
   */
  get lastFinAt(): number {
    return this.timers.lastFinAt;
  }

  private enterTimeWait(now: number): void {
    this.setState(TcpState.TimeWait);
    this.timers.timeWait(now);
  }

  /** A RST for this connection was accepted (RFC 9293 §3.10.7.4 second). */
  private onReset(): void {
    const stats = this.ctx.stats;
    switch (this.state) {
      case TcpState.SynReceived:
        stats.attemptFails++;
        this.becomeClosed(SocketError.ConnectionRefused);
        break;
      case TcpState.Established:
      case TcpState.CloseWait:
        stats.estabResets++;
        this.becomeClosed(SocketError.ConnectionReset);
        break;
      case TcpState.FinWait1:
      case TcpState.FinWait2:
        this.becomeClosed(SocketError.ConnectionReset);
        break;
      default:
        this.becomeClosed(0);
        break;
    }
  }

  // ===============================================================================================
  // Replies built during input

  /** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> into `reply`. */
  private fillAck(now: number, reply: TcpRepr): boolean {
    this.fillHeader(now, reply, this.sndNxt, TcpFlag.Ack);
    this.noteAckSent();
    this.countOut(reply);
    return true;
  }

  /** RFC 5961 §3.2, §4.2, §5.2: a rate-limited challenge ACK. */
  private challengeAck(now: number, reply: TcpRepr): boolean {
    if (!this.ctx.takeChallengeAck(now)) {
      this.ctx.stats.challengeAcksLimited++;
      return false;
    }
    this.ctx.stats.challengeAcks++;
    return this.fillAck(now, reply);
  }

  /** <SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK. */
  private fillRstForAck(seg: TcpRepr, reply: TcpRepr): boolean {
    reply.clear();
    reply.srcPort = this.localPort;
    reply.dstPort = this.remotePort;
    reply.seq = seg.ack;
    reply.flags = TcpFlag.Rst;
    this.ctx.stats.outRsts++;
    this.countOut(reply);
    return true;
  }

  // ===============================================================================================
  // Timers

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

  // ===============================================================================================
  // Output

  /** True if dispatch would produce a segment now. */
  wantsToSend(): boolean {
    const s = this.state;
    if (s === TcpState.Closed || s === TcpState.Listen) return false;
    if (this.rstPending || this.ackNow || this.timers.probeDue || this.timers.keepaliveDue) return true;
    if (isOpening(s)) return this.sndNxt === this.iss;
    if (s === TcpState.TimeWait) return false;
    if (this.recovery.sendableHole(this.sndUna, this.sndMax) >= 0) return true;
    return this.newDataLen() > 0 || this.finReady(0);
  }

  /** Send-ring offset of the payload of the segment dispatch last produced. */
  txOffset = 0;

  /**
   * Fills `out` with the next segment and commits it as sent. Returns false when there is
   * nothing to send. Copy the payload with `copyPayload` after emitting the header.
   */
  dispatch(now: number, out: TcpRepr): boolean {
    this.lastNow = now;
    const s = this.state;
    if (s === TcpState.Closed || s === TcpState.Listen) return false;
    const stats = this.ctx.stats;

    if (this.rstPending) {
      // abort(): <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5).
      out.clear();
      out.srcPort = this.localPort;
      out.dstPort = this.remotePort;
      out.seq = this.sndNxt;
      out.ack = this.rcvNxt;
      out.flags = TcpFlag.Rst | TcpFlag.Ack;
      stats.outRsts++;
      this.rstPending = false;
      this.trace(out);
      if (this.state === TcpState.Established || this.state === TcpState.CloseWait) stats.estabResets++;
      this.becomeClosed(this.error !== 0 ? this.error : SocketError.ConnectionReset);
      return true;
    }

    if (isOpening(s)) {
      if (this.sndNxt !== this.iss && !this.ackNow) return false;
      if (this.sndNxt === this.iss) {
        // The SYN (or SYN-ACK), first time or again.
        this.fillHeader(now, out, this.iss, s === TcpState.SynSent ? TcpFlag.Syn : TcpFlag.Syn | TcpFlag.Ack);
        out.mss = this.localMss;
        const cfg = this.ctx.config;
        if (s === TcpState.SynSent) {
          if (cfg.windowScaling) out.windowScale = this.window.rcvScale;
          out.sackPermitted = cfg.sack;
          if (cfg.timestamps) {
            out.hasTimestamp = true;
            out.tsVal = this.rtt.tsVal(now);
            out.tsEcr = 0;
          }
        } else {
          if (this.window.wsOffered) out.windowScale = this.window.rcvScale;
          out.sackPermitted = this.sackOk;
        }
        out.window = this.window.synWindow();
        this.sndNxt = (this.iss + 1) | 0;
        if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
        if (this.timers.retries > 0) stats.retransSegs++;
        else this.rtt.timeSyn(now, this.iss);
        this.timers.armRetransmit(now, this.rtt.rto);
        this.noteAckSent();
        this.countOut(out);
        return true;
      }
      // SYN-RECEIVED with a pending ACK (e.g. a challenge): plain ACK.
      this.fillHeader(now, out, this.sndNxt, TcpFlag.Ack);
      this.noteAckSent();
      this.countOut(out);
      return true;
    }

    if (s === TcpState.TimeWait) {
      if (!this.ackNow) return false;
      this.fillHeader(now, out, this.sndNxt, TcpFlag.Ack);
      this.noteAckSent();
      this.countOut(out);
      return true;
    }

    // Loss recovery retransmissions first (RFC 6675 §5 NextSeg rule 1, RFC 6582 step 2/5).
    const hole = this.recovery.sendableHole(this.sndUna, this.sndMax);
    if (hole >= 0) {
      this.sendRetransmission(now, out, (this.sndUna + hole) | 0);
      return true;
    }

    // New data (or a go-back-N retransmission after an RTO), and the FIN.
    const len = this.newDataLen();
    const fin = this.finReady(len);
    if (len > 0 || fin) {
      this.sendData(now, out, this.sndNxt, len, fin);
      return true;
    }

    // Zero-window probe: one octet past the window (RFC 9293 §3.8.6.1), the next byte to send.
    if (this.timers.probeDue) {
      this.timers.probeDue = false;
      const offset = (this.sndNxt - this.txBase) | 0;
      if (offset < this.tx.length) {
        this.fillHeader(now, out, this.sndNxt, TcpFlag.Ack);
        out.payloadLen = 1;
        this.txOffset = offset;
        // The octet is not counted as sent (SND.NXT stays): a peer whose window is still zero
        // drops it. One that takes it may ACK one past SND.NXT.
        this.window.probeSent(this.sndNxt);
        stats.zeroWindowProbes++;
        this.timers.probeSent(now, this.rtt.rto);
        this.noteAckSent();
        this.countOut(out);
        return true;
      }
    }

    // Keepalive: <SEQ=SND.NXT-1> with no data, which makes the peer ACK (RFC 1122 §4.2.3.6).
    if (this.timers.keepaliveDue) {
      this.timers.keepaliveDue = false;
      this.timers.keepaliveProbes++;
      stats.keepaliveProbes++;
      this.fillHeader(now, out, (this.sndNxt - 1) | 0, TcpFlag.Ack);
      this.noteAckSent();
      this.countOut(out);
      return true;
    }

    if (this.ackNow) {
      this.fillHeader(now, out, this.sndNxt, TcpFlag.Ack);
      this.noteAckSent();
      this.countOut(out);
      return true;
    }
    return false;
  }

  /** Copies the payload of the segment `dispatch` produced into `dst[off..]`. */
  copyPayload(out: TcpRepr, dst: Uint8Array, off: number): void {
    if (out.payloadLen > 0) this.tx.readAt(this.txOffset, dst, off, out.payloadLen);
  }

  /** Octets of new data (from SND.NXT) that may go out now under window, cwnd, Nagle and SWS. */
  private newDataLen(): number {
    if (!sendsData(this.state)) return 0;
    const offset = (this.sndNxt - this.txBase) | 0;
    const unsent = this.tx.length - offset;
    if (unsent <= 0) return 0;
    const flight = (this.sndNxt - this.sndUna) | 0;
    // Congestion control (with limited transmit, or the pipe in SACK recovery), then the peer's window.
    let budget = this.recovery.sendBudget(this.sndUna, this.sndNxt, this.sndMax);
    const wndLeft = this.window.usable(this.sndUna, this.sndNxt);
    if (wndLeft < budget) budget = wndLeft;
    const cap = this.segmentCap();
    let len = unsent < cap ? unsent : cap;
    if (len > budget) len = budget;
    if (len <= 0) return 0;
    if (len === cap) return len;
    // A short segment: sender SWS avoidance and Nagle decide.
    return this.window.sendsShort(len, unsent, flight, this.nagle, this.finQueued) ? len : 0;
  }

  /**
   * Payload octets that fit one segment now: the send MSS less any SACK blocks this segment
   * will carry (RFC 2018 §3: options share the MSS; Linux shrinks segments the same way).
   */
  private segmentCap(): number {
    if (!this.sackOk || this.ooo.isEmpty()) return this.sendMss;
    const max = this.tsOk ? 3 : 4;
    const n = this.ooo.rangeCount < max ? this.ooo.rangeCount : max;
    return this.sendMss - 4 - 8 * n;
  }

  /** True if the FIN can follow the `len` octets about to be sent from SND.NXT. */
  private finReady(len: number): boolean {
    if (!this.finQueued) return false;
    if (!sendsData(this.state)) return false;
    const end = (this.sndNxt + len) | 0;
    return end === this.finSeq;
  }

  private sendData(now: number, out: TcpRepr, seq: number, len: number, fin: boolean): void {
    const stats = this.ctx.stats;
    let flags = TcpFlag.Ack;
    const offset = (seq - this.txBase) | 0;
    if (len > 0 && offset + len === this.tx.length) flags |= TcpFlag.Psh;
    if (fin) flags |= TcpFlag.Fin;
    this.fillHeader(now, out, seq, flags);
    out.payloadLen = len;
    this.txOffset = offset;
    const end = (seq + len + (fin ? 1 : 0)) | 0;
    const retransmission = seqLt(seq, this.sndMax);
    if (retransmission) stats.retransSegs++;
    // Time this segment for an RTT sample (Karn: never a retransmitted one).
    else if (!this.tsOk) this.rtt.timeSegment(now, seq);
    this.sndNxt = end;
    if (seqGt(end, this.sndMax)) this.sndMax = end;
    this.timers.armRetransmit(now, this.rtt.rto);
    if (fin) {
      if (this.state === TcpState.Established) this.setState(TcpState.FinWait1);
      else if (this.state === TcpState.CloseWait) this.setState(TcpState.LastAck);
    }
    // Nothing left to send but the window is closed: arm the persist timer.
    this.armPersistIfBlocked(now);
    this.noteAckSent();
    this.countOut(out);
  }

  private sendRetransmission(now: number, out: TcpRepr, holeSeq: number): void {
    const stats = this.ctx.stats;
    const offset = (holeSeq - this.txBase) | 0;
    let len = this.tx.length - offset;
    const cap = this.segmentCap();
    if (len > cap) len = cap;
    // Stop at the next SACKed range.
    len = this.recovery.clipToSacked((holeSeq - this.sndUna) | 0, len);
    let fin = false;
    if (len <= 0) {
      // Only the FIN is left unacknowledged.
      len = 0;
      fin = this.finQueued && holeSeq === this.finSeq;
    } else if (this.finQueued && ((holeSeq + len) | 0) === this.finSeq) fin = true;
    let flags = TcpFlag.Ack;
    if (fin) flags |= TcpFlag.Fin;
    this.fillHeader(now, out, holeSeq, flags);
    out.payloadLen = len;
    this.txOffset = offset;
    this.recovery.retransmitted((holeSeq + len + (fin ? 1 : 0)) | 0);
    stats.retransSegs++;
    this.timers.armRetransmit(now, this.rtt.rto);
    this.noteAckSent();
    this.countOut(out);
  }

  /**
   * RFC 9293 §3.8.6.1: data waiting, a zero window and nothing in flight (so no retransmission
   * timer to wake us): the persist timer must run or the connection deadlocks.
   */
  armPersistIfBlocked(now: number): void {
    const timers = this.timers;
    if (this.window.sndWnd !== 0 || timers.persistAt !== NEVER || timers.retransmitAt !== NEVER) return;
    if (!isSynchronized(this.state) || this.state === TcpState.TimeWait) return;
    const offset = (this.sndNxt - this.txBase) | 0;
    if (offset < this.tx.length) timers.armPersist(now, this.rtt.rto);
  }

  /** Header fields common to every segment we send: ports, ACK, window, timestamps, SACK. */
  private fillHeader(now: number, out: TcpRepr, seq: number, flags: number): void {
    out.clear();
    out.srcPort = this.localPort;
    out.dstPort = this.remotePort;
    out.seq = seq;
    out.flags = flags;
    if ((flags & TcpFlag.Ack) !== 0) out.ack = this.rcvNxt;
    out.window = this.window.advertise(this.rcvNxt, this.localMss);
    if (this.tsOk) {
      out.hasTimestamp = true;
      out.tsVal = this.rtt.tsVal(now);
      out.tsEcr = this.tsRecent;
    }
    if (this.sackOk && !this.ooo.isEmpty() && (flags & TcpFlag.Syn) === 0) {
      // RFC 2018 §4: the most recently received block first; 3 fit beside timestamps, 4 without.
      const max = this.tsOk ? 3 : 4;
      let n = 0;
      for (let k = 0; k < max; k++) {
        const r = this.ooo.recentRange(k);
        if (r < 0) break;
        out.sackLeft[n] = (this.rcvNxt + this.ooo.rangeStart(r)) | 0;
        out.sackRight[n] = (this.rcvNxt + this.ooo.rangeEnd(r)) | 0;
        n++;
      }
      out.sackCount = n;
    }
    out.payloadLen = 0;
  }

  /** After the application read: ACK at once if the window opened enough to matter (no delayed ACK). */
  private windowOpened(before: number): void {
    if (!receivesData(this.state)) return;
    if (this.window.openedEnough(before, this.rcvNxt, this.localMss)) this.ackNow = true;
  }

  private noteAckSent(): void {
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.unackedSegs = 0;
    this.timers.ackDelayAt = NEVER;
  }

  private countOut(out: TcpRepr): void {
    this.ctx.stats.outSegs++;
    if (this.ctx.tracer !== null) this.ctx.tracer.segment(this.index, true, out);
  }

  private trace(out: TcpRepr): void {
    this.ctx.stats.outSegs++;
    if (this.ctx.tracer !== null) this.ctx.tracer.segment(this.index, true, out);
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

  becomeClosed(error: number): void {
    this.error = error;
    this.timers.stop();
    this.ackNow = false;
    this.rstPending = false;
    this.acceptable = false;
    this.setState(TcpState.Closed);
    if (this.orphan) {
      // Nobody holds this socket any more: back to the table's free list.
      this.inUse = false;
      this.tx.clear();
      this.rx.clear();
    }
  }
}
