/**
 * TCP output: what one connection sends next. `dispatchSegment` fills a TcpRepr with at most
 * one segment and commits it as sent, in this order: a pending RST (abort), the SYN or SYN-ACK,
 * loss-recovery retransmissions (RFC 6675 NextSeg, RFC 6582), new data and the FIN under the
 * congestion window, the peer's window, Nagle and SWS avoidance, a zero-window probe (RFC 9293
 * §3.8.6.1), a keepalive probe (RFC 1122 §4.2.3.6), a bare ACK. `wantsToSend` answers the same
 * question without committing anything, so the two never disagree. Like lwIP's tcp_out.c,
 * functions over the connection's control block (TcpConnection, connection.ts).
 *
 * The payload is never copied here: it stays in the send ring (`sock.tx`), and `out.payloadOff`
 * says where, for the interface to copy into its slot. Nothing here allocates.
 */
import { TcpFlag, type TcpRepr, seqAdd, seqDiff, seqGt, seqLt } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import type { TcpConnection } from './connection.ts';
import { OFF } from './deadlines.ts';
import { TcpState, isOpening, isSynchronized, sendsData } from './state.ts';

/** True if dispatch would produce a segment now. */
export function wantsToSend(sock: TcpConnection): boolean {
  const s = sock.state;
  if (s === TcpState.Closed || s === TcpState.Listen) return false;
  if (sock.rstPending || sock.ackNow || sock.timers.probeDue || sock.timers.keepaliveDue) return true;
  if (isOpening(s)) return sock.sndNxt === sock.iss;
  if (s === TcpState.TimeWait) return false;
  if (sock.recovery.sendableHole(sock.sndUna, sock.sndMax) >= 0) return true;
  return newDataLen(sock) > 0 || finReady(sock, 0);
}

/**
 * Fills `out` with the next segment and commits it as sent. Returns false when there is
 * nothing to send. The payload is `out.payloadLen` octets at offset `out.payloadOff` of the
 * send ring `sock.tx` (it may wrap: copy it with `tx.readAt`).
 */
export function dispatchSegment(sock: TcpConnection, now: number, out: TcpRepr): boolean {
  sock.lastNow = now;
  const s = sock.state;
  if (s === TcpState.Closed || s === TcpState.Listen) return false;
  const stats = sock.ctx.stats;

  if (sock.rstPending) {
    // abort(): <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5).
    out.clear();
    out.srcPort = sock.localPort;
    out.dstPort = sock.remotePort;
    out.seq = sock.sndNxt;
    out.ack = sock.rcvNxt;
    out.flags = TcpFlag.Rst | TcpFlag.Ack;
    stats.outRsts++;
    sock.rstPending = false;
    countOut(sock, out);
    if (sock.state === TcpState.Established || sock.state === TcpState.CloseWait) stats.estabResets++;
    sock.becomeClosed(sock.error !== 0 ? sock.error : SocketError.ConnectionReset);
    return true;
  }

  if (isOpening(s)) {
    if (sock.sndNxt !== sock.iss && !sock.ackNow) return false;
    if (sock.sndNxt === sock.iss) {
      // The SYN (or SYN-ACK), first time or again.
      fillHeader(sock, now, out, sock.iss, s === TcpState.SynSent ? TcpFlag.Syn : TcpFlag.Syn | TcpFlag.Ack);
      out.mss = sock.localMss;
      const cfg = sock.ctx.config;
      if (s === TcpState.SynSent) {
        if (cfg.windowScaling) out.windowScale = sock.window.rcvScale;
        out.sackPermitted = cfg.sack;
        if (cfg.timestamps) {
          out.hasTimestamp = true;
          out.tsVal = sock.rtt.tsVal(now);
          out.tsEcr = 0;
        }
      } else {
        if (sock.window.wsOffered) out.windowScale = sock.window.rcvScale;
        out.sackPermitted = sock.sackOk;
      }
      out.window = sock.window.synWindow();
      sock.sndNxt = seqAdd(sock.iss, 1);
      if (seqGt(sock.sndNxt, sock.sndMax)) sock.sndMax = sock.sndNxt;
      if (sock.timers.retries > 0) stats.retransSegs++;
      else sock.rtt.timeSyn(now, sock.iss);
      sock.timers.armRetransmit(now, sock.rtt.rto);
      noteAckSent(sock);
      countOut(sock, out);
      return true;
    }
    // SYN-RECEIVED with a pending ACK (e.g. a challenge): plain ACK.
    fillHeader(sock, now, out, sock.sndNxt, TcpFlag.Ack);
    noteAckSent(sock);
    countOut(sock, out);
    return true;
  }

  if (s === TcpState.TimeWait) {
    if (!sock.ackNow) return false;
    fillHeader(sock, now, out, sock.sndNxt, TcpFlag.Ack);
    noteAckSent(sock);
    countOut(sock, out);
    return true;
  }

  // Loss recovery retransmissions first (RFC 6675 §5 NextSeg rule 1, RFC 6582 step 2/5).
  const hole = sock.recovery.sendableHole(sock.sndUna, sock.sndMax);
  if (hole >= 0) {
    sendRetransmission(sock, now, out, seqAdd(sock.sndUna, hole));
    return true;
  }

  // New data (or a go-back-N retransmission after an RTO), and the FIN.
  const len = newDataLen(sock);
  const fin = finReady(sock, len);
  if (len > 0 || fin) {
    sendData(sock, now, out, sock.sndNxt, len, fin);
    return true;
  }

  // Zero-window probe: one octet past the window (RFC 9293 §3.8.6.1), the next byte to send.
  if (sock.timers.probeDue) {
    sock.timers.probeDue = false;
    const offset = seqDiff(sock.sndNxt, sock.txBase);
    if (offset < sock.tx.length) {
      fillHeader(sock, now, out, sock.sndNxt, TcpFlag.Ack);
      out.payloadLen = 1;
      out.payloadOff = offset;
      // The octet is not counted as sent (SND.NXT stays): a peer whose window is still zero
      // drops it. One that takes it may ACK one past SND.NXT.
      sock.window.probeSent(sock.sndNxt);
      stats.zeroWindowProbes++;
      sock.timers.probeSent(now, sock.rtt.rto);
      noteAckSent(sock);
      countOut(sock, out);
      return true;
    }
  }

  // Keepalive: <SEQ=SND.NXT-1> with no data, which makes the peer ACK (RFC 1122 §4.2.3.6).
  if (sock.timers.keepaliveDue) {
    sock.timers.keepaliveDue = false;
    sock.timers.keepaliveProbes++;
    stats.keepaliveProbes++;
    fillHeader(sock, now, out, seqAdd(sock.sndNxt, -1), TcpFlag.Ack);
    noteAckSent(sock);
    countOut(sock, out);
    return true;
  }

  if (sock.ackNow) {
    fillHeader(sock, now, out, sock.sndNxt, TcpFlag.Ack);
    noteAckSent(sock);
    countOut(sock, out);
    return true;
  }
  return false;
}

/**
 * True if `seg`, the segment dispatch just filled, may overtake this connection's data segments
 * still queued below the interface (`TxPriority.Control`): a pure ACK or window update (no
 * payload, no SYN, FIN or RST, SEG.SEQ = SND.NXT) that the peer will find acceptable whatever
 * part of the data sent before it has arrived (RFC 9293 §3.10.7.4, a segment without text:
 * RCV.NXT =< SEG.SEQ < RCV.NXT + RCV.WND, or SEG.SEQ = RCV.NXT when RCV.WND = 0).
 *
 * The peer's RCV.NXT lies in [SND.UNA, SND.NXT] (it acknowledged SND.UNA and cannot be past what
 * we sent; a value past SND.NXT after a go-back-N retransmission makes the ACK old whenever it
 * arrives) and its right edge never moves left (§3.8.6.2.2), so it is at least SND.UNA + SND.WND,
 * the edge its last window update offered. Hence:
 * - SND.NXT = SND.UNA: nothing is outstanding, RCV.NXT = SEG.SEQ, acceptable even at RCV.WND = 0;
 * - SND.NXT < SND.UNA + SND.WND: RCV.NXT =< SEG.SEQ < right edge, so RCV.WND > 0 and SEG.SEQ is
 *   inside it.
 * Otherwise (SND.NXT at or past the offered right edge, in particular a closed window with data
 * outstanding) an ACK that passed the data could arrive beyond the peer's window, unacceptable,
 * and be answered with another ACK; were answers sent first as well, two ends with closed
 * windows could keep answering each other while the data that would end it waits (an ACK
 * storm). Such an ACK keeps FIFO order behind the data, and arrives after it. Data, FINs,
 * keepalives (SEG.SEQ = SND.NXT - 1) and zero-window probes always keep FIFO order.
 */
export function ackMayOvertake(sock: TcpConnection, seg: TcpRepr): boolean {
  if (seg.payloadLen !== 0 || (seg.flags & (TcpFlag.Syn | TcpFlag.Fin | TcpFlag.Rst)) !== 0) return false;
  if ((seg.flags & TcpFlag.Ack) === 0 || !isSynchronized(sock.state) || seg.seq !== sock.sndNxt) return false;
  return sock.sndNxt === sock.sndUna || sock.window.usable(sock.sndUna, sock.sndNxt) > 0;
}

/** Octets of new data (from SND.NXT) that may go out now under window, cwnd, Nagle and SWS. */
function newDataLen(sock: TcpConnection): number {
  if (!sendsData(sock.state)) return 0;
  const offset = seqDiff(sock.sndNxt, sock.txBase);
  const unsent = sock.tx.length - offset;
  if (unsent <= 0) return 0;
  const flight = seqDiff(sock.sndNxt, sock.sndUna);
  // Congestion control (with limited transmit, or the pipe in SACK recovery), then the peer's window.
  let budget = sock.recovery.sendBudget(sock.sndUna, sock.sndNxt, sock.sndMax);
  const wndLeft = sock.window.usable(sock.sndUna, sock.sndNxt);
  if (wndLeft < budget) budget = wndLeft;
  const cap = segmentCap(sock);
  let len = unsent < cap ? unsent : cap;
  if (len > budget) len = budget;
  if (len <= 0) return 0;
  if (len === cap) return len;
  // A short segment: sender SWS avoidance and Nagle decide.
  return sock.window.sendsShort(len, unsent, flight, sock.nagle, sock.finQueued) ? len : 0;
}

/**
 * Payload octets that fit one segment now: the send MSS less any SACK blocks this segment
 * will carry (RFC 2018 §3: options share the MSS; Linux shrinks segments the same way).
 */
function segmentCap(sock: TcpConnection): number {
  if (!sock.sackOk || sock.ooo.isEmpty()) return sock.sendMss;
  const max = sock.tsOk ? 3 : 4;
  const n = sock.ooo.rangeCount < max ? sock.ooo.rangeCount : max;
  return sock.sendMss - 4 - 8 * n;
}

/** True if the FIN can follow the `len` octets about to be sent from SND.NXT. */
function finReady(sock: TcpConnection, len: number): boolean {
  if (!sock.finQueued) return false;
  if (!sendsData(sock.state)) return false;
  const end = seqAdd(sock.sndNxt, len);
  return end === sock.finSeq;
}

function sendData(sock: TcpConnection, now: number, out: TcpRepr, seq: number, len: number, fin: boolean): void {
  const stats = sock.ctx.stats;
  let flags = TcpFlag.Ack;
  const offset = seqDiff(seq, sock.txBase);
  if (len > 0 && offset + len === sock.tx.length) flags |= TcpFlag.Psh;
  if (fin) flags |= TcpFlag.Fin;
  fillHeader(sock, now, out, seq, flags);
  out.payloadLen = len;
  out.payloadOff = offset;
  const end = seqAdd(seq, len + (fin ? 1 : 0));
  const retransmission = seqLt(seq, sock.sndMax);
  if (retransmission) stats.retransSegs++;
  // Time this segment for an RTT sample (Karn: never a retransmitted one).
  else if (!sock.tsOk) sock.rtt.timeSegment(now, seq);
  sock.sndNxt = end;
  if (seqGt(end, sock.sndMax)) sock.sndMax = end;
  sock.timers.armRetransmit(now, sock.rtt.rto);
  if (fin) {
    if (sock.state === TcpState.Established) sock.setState(TcpState.FinWait1);
    else if (sock.state === TcpState.CloseWait) sock.setState(TcpState.LastAck);
  }
  // Nothing left to send but the window is closed: arm the persist timer.
  sock.armPersistIfBlocked(now);
  noteAckSent(sock);
  countOut(sock, out);
}

function sendRetransmission(sock: TcpConnection, now: number, out: TcpRepr, holeSeq: number): void {
  const stats = sock.ctx.stats;
  const offset = seqDiff(holeSeq, sock.txBase);
  let len = sock.tx.length - offset;
  const cap = segmentCap(sock);
  if (len > cap) len = cap;
  // Stop at the next SACKed range.
  len = sock.recovery.clipToSacked(seqDiff(holeSeq, sock.sndUna), len);
  let fin = false;
  if (len <= 0) {
    // Only the FIN is left unacknowledged.
    len = 0;
    fin = sock.finQueued && holeSeq === sock.finSeq;
  } else if (sock.finQueued && seqAdd(holeSeq, len) === sock.finSeq) fin = true;
  let flags = TcpFlag.Ack;
  if (fin) flags |= TcpFlag.Fin;
  fillHeader(sock, now, out, holeSeq, flags);
  out.payloadLen = len;
  out.payloadOff = offset;
  sock.recovery.retransmitted(seqAdd(holeSeq, len + (fin ? 1 : 0)));
  stats.retransSegs++;
  sock.timers.armRetransmit(now, sock.rtt.rto);
  noteAckSent(sock);
  countOut(sock, out);
}

/** Header fields common to every segment we send: ports, ACK, window, timestamps, SACK. */
export function fillHeader(sock: TcpConnection, now: number, out: TcpRepr, seq: number, flags: number): void {
  out.clear();
  out.srcPort = sock.localPort;
  out.dstPort = sock.remotePort;
  out.seq = seq;
  out.flags = flags;
  if ((flags & TcpFlag.Ack) !== 0) out.ack = sock.rcvNxt;
  out.window = sock.window.advertise(sock.rcvNxt, sock.localMss);
  if (sock.tsOk) {
    out.hasTimestamp = true;
    out.tsVal = sock.rtt.tsVal(now);
    out.tsEcr = sock.tsRecent;
  }
  if (sock.sackOk && !sock.ooo.isEmpty() && (flags & TcpFlag.Syn) === 0) {
    // RFC 2018 §4: the most recently received block first; 3 fit beside timestamps, 4 without.
    const max = sock.tsOk ? 3 : 4;
    let n = 0;
    for (let k = 0; k < max; k++) {
      const r = sock.ooo.recentRange(k);
      if (r < 0) break;
      out.sackLeft[n] = seqAdd(sock.rcvNxt, sock.ooo.rangeStart(r));
      out.sackRight[n] = seqAdd(sock.rcvNxt, sock.ooo.rangeEnd(r));
      n++;
    }
    out.sackCount = n;
  }
  out.payloadLen = 0;
}

/** Any segment we send acknowledges RCV.NXT: no ACK is owed any more (RFC 7323 §4.3 Last.ACK.sent). */
export function noteAckSent(sock: TcpConnection): void {
  sock.lastAckSent = sock.rcvNxt;
  sock.ackNow = false;
  sock.unackedSegs = 0;
  sock.timers.ackDelayAt = OFF;
}

/** Counts a segment going out (outSegs) and shows it to the tracer, if one is installed. */
export function countOut(sock: TcpConnection, out: TcpRepr): void {
  sock.ctx.stats.outSegs++;
  if (sock.ctx.tracer !== null) sock.ctx.tracer.segment(sock.index, true, out);
}
