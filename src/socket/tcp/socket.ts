/**
 * TcpSocket: one TCP connection (RFC 9293) on fixed memory, as the application and the stack
 * see it.
 *
 * One socket is one connection (or one entry of a listener's backlog). It is a TcpConnection
 * (connection.ts: the control block with its rings and parts, and the helpers every part of the
 * TCP code shares: `setState`, `becomeClosed`, `abort`, `reset`, `armPersistIfBlocked`), extended
 * here with what an application uses (`send`, `recv`, `shutdown`, `close`, the getters; `abort`
 * is inherited), the opens (`connect`, `acceptSyn`), and the entry points the stack and the
 * interface call, which hand the control block to input.ts, output.ts and timers.ts. Those
 * modules know only the TcpConnection, so the imports run one way: socket.ts above them, they
 * above connection.ts.
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
import { type TcpRepr, seqAdd } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import { TcpConnection, TcpOwner } from './connection.ts';
import { processSegment, takeSynOptions } from './input.ts';
import { ackMayOvertake, dispatchSegment, wantsToSend } from './output.ts';
import { TCP_STATE_NAMES, TcpState, assertNever, isOpening, isWritable, receivesData } from './state.ts';
import { pollAt, tick } from './timers.ts';

/** One TCP connection: the control block (TcpConnection) with the application interface and the segment entry points (see the module header). */
export class TcpSocket extends TcpConnection {
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
   * True if `seg`, which `dispatch` just filled, may be sent ahead of this connection's data
   * segments queued below (a pure ACK or window update the peer is sure to accept even if it
   * arrives before them; output.ts `ackMayOvertake`). The interface sends it as
   * `TxPriority.Control` then.
   */
  mayOvertake(seg: TcpRepr): boolean {
    return ackMayOvertake(this, seg);
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

  /** After the application read: ACK at once if the window opened enough to matter (no delayed ACK). */
  private windowOpened(before: number): void {
    if (!receivesData(this.state)) return;
    if (this.window.openedEnough(before, this.rcvNxt, this.localMss)) this.ackNow = true;
  }
}
