/**
 * TCP input: one arriving segment for one connection, RFC 9293 §3.10.7.3 (SYN-SENT) and
 * §3.10.7.4 (every other state), in the RFC's order: acceptability (with PAWS, RFC 7323 §5),
 * RST (RFC 5961 §3), SYN (RFC 5961 §4), the ACK field (window update, RFC 5961 §5 ACK range,
 * RTT, loss recovery), URG, the segment text (in order into the receive ring, out of order into
 * the Assembler), FIN. Like lwIP's tcp_in.c, these are functions over the connection's control
 * block (TcpConnection, connection.ts); its parts (window, rtt, recovery, timers) do the
 * arithmetic.
 *
 * An immediate answer (a RST, a challenge ACK, an ACK for an unacceptable segment) is written
 * into the caller's `reply`, never sent from here; ordinary ACKs are left to dispatch. Nothing
 * here allocates or throws.
 */
import { TcpFlag, type TcpRepr, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp.ts';
import { SocketError } from '../error.ts';
import { DEFAULT_MSS, TS_OPTION_LEN } from './config.ts';
import { type TcpConnection, TcpOwner } from './connection.ts';
import { OFF } from './deadlines.ts';
import { countOut, fillHeader, noteAckSent } from './output.ts';
import { TcpState, assertNever, isSynchronized, receivesData } from './state.ts';

/**
 * Processes one segment for this connection (RFC 9293 §3.10.7.3 and §3.10.7.4). `bytes`
 * holds the payload at `seg.payloadOff`. Returns true when `reply` was filled with a segment
 * to send at once.
 */
export function processSegment(sock: TcpConnection, now: number, seg: TcpRepr, bytes: Uint8Array, reply: TcpRepr): boolean {
  const stats = sock.ctx.stats;
  sock.lastNow = now;
  if (sock.ctx.tracer !== null) sock.ctx.tracer.segment(sock.index, false, seg);
  const flags = seg.flags;
  const hasAck = (flags & TcpFlag.Ack) !== 0;
  const hasRst = (flags & TcpFlag.Rst) !== 0;
  const hasSyn = (flags & TcpFlag.Syn) !== 0;

  if (sock.state === TcpState.SynSent) return processSynSent(sock, now, seg, reply);

  // RFC 7323 §5.3 (PAWS): a timestamp older than TS.Recent marks an old duplicate.
  if (sock.tsOk && seg.hasTimestamp && !hasRst && seqLt(seg.tsVal, sock.tsRecent)) {
    stats.pawsDrops++;
    sock.ackNow = true;
    return false;
  }

  // RFC 9293 §3.10.7.4 first: is the segment acceptable (in the receive window)?
  const segLen = seg.payloadLen + (hasSyn ? 1 : 0) + ((flags & TcpFlag.Fin) !== 0 ? 1 : 0);
  const wnd = sock.window.receiveWindow(sock.rcvNxt);
  if (!acceptable4(sock, seg.seq, segLen, wnd)) {
    if (sock.state === TcpState.SynReceived && hasSyn && seg.seq === sock.irs) {
      if (!hasAck) {
        // A retransmitted SYN: our SYN-ACK was lost; send it again.
        sock.sndNxt = sock.iss;
        return false;
      }
      // Simultaneous open (RFC 9293 §3.5, figure 8 line 6): the peer's SYN,ACK repeats its
      // SYN, already counted in RCV.NXT, and acknowledges ours: ESTABLISHED, nothing to send.
      if (seqGt(seg.ack, sock.sndUna) && seqLe(seg.ack, sock.sndMax)) {
        establishFromSynReceived(sock, now, seg);
        processAck(sock, now, seg);
        return false;
      }
    }
    stats.outOfWindow++;
    if (hasRst) return false;
    // RFC 5961 §4.2: a SYN gets a (rate-limited) challenge ACK whatever its sequence number.
    if (hasSyn) return challengeAck(sock, now, reply);
    // RFC 9293 §3.10.7.4: with RCV.WND = 0 no text is acceptable, but "special allowance
    // should be made to accept valid ACKs": a zero-window probe may carry one.
    if (wnd === 0 && hasAck && seg.seq === sock.rcvNxt && isSynchronized(sock.state) &&
        seqLe(seg.ack, sock.window.ackLimit(sock.sndMax)) && seqGe(seg.ack, sock.sndUna)) {
      processAck(sock, now, seg);
      if (sock.state === TcpState.Closed) return false;
    } else if (hasAck && oldDuplicateAcksNew(sock, seg, segLen)) {
      processAck(sock, now, seg);
      if (sock.state === TcpState.Closed) return false;
    }
    // RFC 9293 §3.10.7.4 (TIME-WAIT): a retransmitted FIN is acknowledged and restarts 2·MSL.
    if (sock.state === TcpState.TimeWait && (flags & TcpFlag.Fin) !== 0) sock.timers.restartTimeWait(now);
    // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply."
    return fillAck(sock, now, reply);
  }

  // Second: the RST bit (RFC 5961 §3.2: exact match resets, in-window gets a challenge ACK).
  if (hasRst) {
    if (seg.seq !== sock.rcvNxt) return challengeAck(sock, now, reply);
    onReset(sock);
    return false;
  }

  // Fourth: a SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
  if (hasSyn) {
    if (sock.state === TcpState.SynReceived && seg.seq === sock.irs) {
      // Our SYN-ACK was lost and the peer retransmitted its SYN: send the SYN-ACK again.
      sock.sndNxt = sock.iss;
      return false;
    }
    return challengeAck(sock, now, reply);
  }

  // Fifth: the ACK field. Without ACK the segment is dropped.
  if (!hasAck) return false;

  if (sock.state === TcpState.SynReceived) {
    // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT moves us to ESTABLISHED, else RST.
    if (seqLe(seg.ack, sock.sndUna) || seqGt(seg.ack, sock.sndMax)) return fillRstForAck(sock, seg, reply);
    establishFromSynReceived(sock, now, seg);
  }

  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  if (seqGt(seg.ack, sock.window.ackLimit(sock.sndMax))) {
    // Acknowledges something not yet sent: ACK and drop.
    stats.outOfWindow++;
    return fillAck(sock, now, reply);
  }
  const maxSndWnd = sock.window.maxSndWnd;
  if (seqLt(seg.ack, seqAdd(sock.sndUna, -maxSndWnd)) && maxSndWnd > 0) {
    return challengeAck(sock, now, reply);
  }

  sock.timers.heard(now);
  if (sock.tsOk && seg.hasTimestamp && seqLe(seg.seq, sock.lastAckSent)) sock.tsRecent = seg.tsVal;

  processAck(sock, now, seg);
  if (sock.state === TcpState.Closed) return false;

  // Sixth: the URG bit (RFC 9293 §3.10.7.4, sixth).
  if ((flags & TcpFlag.Urg) !== 0 && seg.urgent > 0 && receivesData(sock.state)) {
    const up = seqDiff(seqAdd(seg.seq, seg.urgent), sock.rcvNxt); // octets past RCV.NXT where urgent data ends
    const mark = sock.rx.length + up;
    if (!sock.urgentPending || mark > sock.rcvUp) {
      sock.rcvUp = mark;
      sock.urgentPending = mark > 0;
    }
  }

  // Seventh: the segment text.
  if (seg.payloadLen > 0) {
    if (receivesData(sock.state)) {
      if (sock.owner === TcpOwner.Orphan) {
        // Data for a socket the application has closed: nobody will read it (RFC 9293 §3.10.7.4).
        sock.abort();
        return false;
      }
      receiveText(sock, now, seg, bytes);
    } else {
      sock.ackNow = true;
    }
  }

  // Eighth: the FIN bit.
  if ((flags & TcpFlag.Fin) !== 0) receiveFin(sock, now, seqAdd(seg.seq, seg.payloadLen));
  else if (sock.remoteFinPending && sock.rcvNxt === sock.remoteFinSeq) receiveFin(sock, now, sock.remoteFinSeq);
  return false;
}

/** SYN-RECEIVED -> ESTABLISHED on an acceptable ACK of our SYN. */
function establishFromSynReceived(sock: TcpConnection, now: number, seg: TcpRepr): void {
  sock.window.takeHandshakeAck(seg);
  afterHandshake(sock, now);
  sock.setState(TcpState.Established);
  if (sock.owner === TcpOwner.Backlog) sock.owner = TcpOwner.AcceptQueue;
}

/** The handshake is over: the RTO after a timed-out SYN (RFC 6298 §5.7), retries, keepalive. */
function afterHandshake(sock: TcpConnection, now: number): void {
  sock.rtt.afterHandshake();
  sock.timers.established(now);
}

/** RFC 9293 §3.10.7.3: SYN-SENT. */
function processSynSent(sock: TcpConnection, now: number, seg: TcpRepr, reply: TcpRepr): boolean {
  const flags = seg.flags;
  const hasAck = (flags & TcpFlag.Ack) !== 0;
  // First: an ACK outside ISS < SEG.ACK =< SND.NXT is answered with a RST (unless it is one).
  if (hasAck && (seqLe(seg.ack, sock.iss) || seqGt(seg.ack, sock.sndMax))) {
    if ((flags & TcpFlag.Rst) !== 0) return false;
    return fillRstForAck(sock, seg, reply);
  }
  // Second: RST. Only with an acceptable ACK does it refuse the connection.
  if ((flags & TcpFlag.Rst) !== 0) {
    if (hasAck) {
      sock.ctx.stats.attemptFails++;
      sock.becomeClosed(SocketError.ConnectionRefused);
    }
    return false;
  }
  // Fourth: SYN.
  if ((flags & TcpFlag.Syn) === 0) return false;
  sock.irs = seg.seq;
  sock.rcvNxt = seqAdd(seg.seq, 1);
  sock.window.startReceive(sock.rcvNxt);
  takeSynOptions(sock, seg);
  sock.ackNow = true;
  if (hasAck) {
    // Our SYN is acknowledged: ESTABLISHED.
    sock.rtt.onSynAck(now, seg, sock.tsOk, sock.timers.retries);
    sock.sndUna = seg.ack;
    sock.window.takeSynWindow(seg, seg.ack);
    sock.timers.retransmitAt = OFF;
    afterHandshake(sock, now);
    sock.setState(TcpState.Established);
    return false;
  }
  // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, send SYN-ACK with our ISS.
  sock.window.takeSynWindow(seg, seg.ack);
  sock.sndNxt = sock.iss;
  sock.timers.retransmitAt = OFF;
  sock.setState(TcpState.SynReceived);
  return false;
}

/** RFC 9293 §3.10.7.4 acceptability test (the four cases). */
function acceptable4(sock: TcpConnection, seq: number, segLen: number, wnd: number): boolean {
  const rcvNxt = sock.rcvNxt;
  if (segLen === 0) {
    if (wnd === 0) return seq === rcvNxt;
    return seqLe(rcvNxt, seq) && seqLt(seq, seqAdd(rcvNxt, wnd));
  }
  if (wnd === 0) return false;
  const last = seqAdd(seq, segLen - 1);
  const right = seqAdd(rcvNxt, wnd);
  return (seqLe(rcvNxt, seq) && seqLt(seq, right)) || (seqLe(rcvNxt, last) && seqLt(last, right));
}

/** The ACK field of an acceptable segment (RFC 9293 §3.10.7.4 fifth; RFC 5681; RFC 6582; RFC 6675). */
function processAck(sock: TcpConnection, now: number, seg: TcpRepr): void {
  const ack = seg.ack;
  const win = sock.window;
  const oldWnd = win.sndWnd;
  // Window update (RFC 9293 §3.10.7.4).
  let windowChanged = false;
  if (win.update(seg, ack)) {
    windowChanged = win.sndWnd !== oldWnd;
    if (win.sndWnd > 0) sock.timers.windowOpened();
  }

  // SACK blocks update the scoreboard (RFC 2018 §3, RFC 6675 §4).
  let newSack = false;
  if (sock.sackOk && seg.sackCount > 0) newSack = sock.recovery.takeSackBlocks(seg, ack, sock.sndUna, sock.sndMax);

  if (seqGt(ack, sock.sndUna)) {
    onNewAck(sock, now, seg, ack);
  } else if (ack === sock.sndUna && seg.payloadLen === 0 && (seg.flags & (TcpFlag.Syn | TcpFlag.Fin)) === 0 &&
             !windowChanged && sock.sndMax !== sock.sndUna) {
    // RFC 5681 §2: a duplicate ACK.
    onDupAck(sock, now, newSack);
  } else if (ack === sock.sndUna && newSack && sock.sndMax !== sock.sndUna) {
    // RFC 6675 §5: an ACK with new SACK information counts toward loss detection too.
    onDupAck(sock, now, true);
  }

  // Our FIN acknowledged?
  const finAcked = sock.finQueued && seqGt(sock.sndUna, sock.finSeq);
  const state = sock.state;
  switch (state) {
    case TcpState.FinWait1:
      if (finAcked) {
        sock.setState(TcpState.FinWait2);
        if (sock.owner === TcpOwner.Orphan) sock.timers.finWait2(now);
      }
      break;
    case TcpState.Closing:
      if (finAcked) enterTimeWait(sock, now);
      break;
    case TcpState.LastAck:
      if (finAcked) sock.becomeClosed(0);
      break;
    case TcpState.Closed:
    case TcpState.Listen:
    case TcpState.SynSent:
    case TcpState.SynReceived:
    case TcpState.Established:
    case TcpState.FinWait2:
    case TcpState.CloseWait:
    case TcpState.TimeWait:
      // No FIN of ours in flight that this ACK could complete a transition for.
      break;
    default:
      assertNever(state);
  }
}

/** An ACK that advances SND.UNA. */
function onNewAck(sock: TcpConnection, now: number, seg: TcpRepr, ack: number): void {
  const acked = seqDiff(ack, sock.sndUna);
  sock.rtt.onAck(now, seg, ack, sock.tsOk);
  // Remove acknowledged octets from the send ring (the SYN and FIN occupy no ring space).
  let dataAcked = seqDiff(ack, sock.txBase);
  if (dataAcked > sock.tx.length) dataAcked = sock.tx.length;
  if (dataAcked > 0) {
    sock.tx.discard(dataAcked);
    sock.txBase = seqAdd(sock.txBase, dataAcked);
  }
  sock.sndUna = ack;
  if (seqLt(sock.sndNxt, ack)) sock.sndNxt = ack; // the peer took a zero-window probe octet
  if (seqLt(sock.sndMax, ack)) sock.sndMax = ack;
  sock.window.acked(ack);
  sock.timers.progress();

  // Congestion control and loss recovery.
  sock.recovery.onNewAck(now, acked, sock.sndUna, sock.sndMax, sock.tx.capacity + 2 * sock.sendMss, sock.rtt.srttMs);

  // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it; on every
  // partial ACK too (RFC 6582 §4.3's "Slow-but-Steady" variant: §3.2 step 5 restarts it on the
  // first one only).
  sock.timers.retransmitAt = sock.sndUna === sock.sndMax ? OFF : now + sock.rtt.rto;
}

/** A duplicate ACK (or one with new SACK information): fast retransmit when loss is detected. */
function onDupAck(sock: TcpConnection, now: number, newSack: boolean): void {
  if (!sock.recovery.onDupAck(now, newSack, sock.sndUna, sock.sndMax)) return;
  const stats = sock.ctx.stats;
  sock.rtt.cancelTiming(); // Karn: the timed segment may be retransmitted
  if (sock.sackOk) stats.sackRecoveries++;
  stats.fastRetransmits++;
  sock.timers.retransmitAt = now + sock.rtt.rto;
}

/** Places segment text in the receive ring (in order, or out of order tracked by the Assembler). */
function receiveText(sock: TcpConnection, now: number, seg: TcpRepr, bytes: Uint8Array): void {
  let seq = seg.seq;
  let off = seg.payloadOff;
  let len = seg.payloadLen;
  // Trim what we already have (RFC 9293 §3.10.7.4: "trim any portion ... that lies outside").
  const behind = seqDiff(sock.rcvNxt, seq);
  if (behind > 0) {
    seq = sock.rcvNxt;
    off += behind;
    len -= behind;
  }
  // Keep what fits the window we offered and the ring actually has.
  const wnd = sock.window.receiveWindow(sock.rcvNxt);
  const free = sock.rx.window;
  const room = wnd < free ? wnd : free;
  const start = seqDiff(seq, sock.rcvNxt); // >= 0
  if (start + len > room) len = room - start;
  if (len <= 0) {
    sock.ackNow = true;
    return;
  }
  const full = seg.payloadLen >= sendMssForAck(sock);
  if (start === 0) {
    const hadOoo = !sock.ooo.isEmpty();
    const n = sock.rx.enqueue(bytes, off, len);
    sock.ooo.advance(n);
    let advance = n;
    // Data that was waiting out of order is now contiguous.
    const more = sock.ooo.removeFront();
    if (more > 0) {
      sock.rx.commit(more);
      advance += more;
    }
    sock.rcvNxt = seqAdd(sock.rcvNxt, advance);
    if (hadOoo) {
      // RFC 5681 §4.2: ACK at once when a segment fills (part of) a gap.
      sock.ackNow = true;
    } else if (full) {
      // RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment.
      if (++sock.unackedSegs >= 2) sock.ackNow = true;
    }
    if (!sock.ackNow) {
      if (sock.ctx.config.delayedAckMs === 0) sock.ackNow = true;
      else sock.timers.delayAck(now);
    }
    return;
  }
  // Out of order: store it past the contiguous data and send a duplicate ACK at once (RFC 5681 §4.2).
  sock.ackNow = true;
  if (!sock.ooo.add(start, start + len)) {
    sock.ctx.stats.oooDrops++;
    return;
  }
  sock.rx.writeAt(start, bytes, off, len);
}

function sendMssForAck(sock: TcpConnection): number {
  // A "full-sized" segment for delayed-ACK purposes: our advertised MSS less options.
  return sock.localMss - (sock.tsOk ? TS_OPTION_LEN : 0);
}

/** The FIN bit (RFC 9293 §3.10.7.4 eighth). `finSeq` is the sequence number the FIN occupies. */
function receiveFin(sock: TcpConnection, now: number, finSeq: number): void {
  if (finSeq !== sock.rcvNxt) {
    // FIN past a hole: remember it until the data before it arrives.
    if (seqGt(finSeq, sock.rcvNxt)) {
      sock.remoteFinPending = true;
      sock.remoteFinSeq = finSeq;
    }
    sock.ackNow = true;
    return;
  }
  sock.remoteFinPending = false;
  if (!sock.remoteClosed) {
    sock.rcvNxt = seqAdd(sock.rcvNxt, 1);
    sock.remoteClosed = true;
  }
  sock.ackNow = true;
  const state = sock.state;
  switch (state) {
    case TcpState.SynReceived:
    case TcpState.Established:
      sock.setState(TcpState.CloseWait);
      break;
    case TcpState.FinWait1:
      // Our FIN not yet acknowledged: simultaneous close.
      if (sock.finQueued && seqGt(sock.sndUna, sock.finSeq)) enterTimeWait(sock, now);
      else sock.setState(TcpState.Closing);
      break;
    case TcpState.FinWait2:
      enterTimeWait(sock, now);
      break;
    case TcpState.TimeWait:
      // A retransmitted FIN: ACK it again and restart the 2·MSL timer.
      sock.timers.restartTimeWait(now);
      break;
    case TcpState.Closed:
    case TcpState.Listen:
    case TcpState.SynSent:
    case TcpState.CloseWait:
    case TcpState.Closing:
    case TcpState.LastAck:
      // RFC 9293 §3.10.7.4 eighth: CLOSE-WAIT, CLOSING, LAST-ACK remain; the others never get here.
      break;
    default:
      assertNever(state);
  }
}

function enterTimeWait(sock: TcpConnection, now: number): void {
  sock.setState(TcpState.TimeWait);
  sock.timers.timeWait(now);
}

/** A RST for this connection was accepted (RFC 9293 §3.10.7.4 second). */
function onReset(sock: TcpConnection): void {
  const stats = sock.ctx.stats;
  const state = sock.state;
  switch (state) {
    case TcpState.SynReceived:
      stats.attemptFails++;
      sock.becomeClosed(SocketError.ConnectionRefused);
      break;
    case TcpState.Established:
    case TcpState.CloseWait:
      stats.estabResets++;
      sock.becomeClosed(SocketError.ConnectionReset);
      break;
    case TcpState.FinWait1:
    case TcpState.FinWait2:
      sock.becomeClosed(SocketError.ConnectionReset);
      break;
    case TcpState.Closed:
    case TcpState.Listen:
    case TcpState.SynSent:
    case TcpState.Closing:
    case TcpState.LastAck:
    case TcpState.TimeWait:
      // CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED, no error to report.
      sock.becomeClosed(0);
      break;
    default:
      assertNever(state);
  }
}

/** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> into `reply`. */
function fillAck(sock: TcpConnection, now: number, reply: TcpRepr): boolean {
  fillHeader(sock, now, reply, sock.sndNxt, TcpFlag.Ack);
  noteAckSent(sock);
  countOut(sock, reply);
  return true;
}

/** RFC 5961 §3.2, §4.2, §5.2: a rate-limited challenge ACK. */
function challengeAck(sock: TcpConnection, now: number, reply: TcpRepr): boolean {
  if (!sock.ctx.takeChallengeAck(now)) {
    sock.ctx.stats.challengeAcksLimited++;
    return false;
  }
  sock.ctx.stats.challengeAcks++;
  return fillAck(sock, now, reply);
}

/** <SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK. */
function fillRstForAck(sock: TcpConnection, seg: TcpRepr, reply: TcpRepr): boolean {
  reply.clear();
  reply.srcPort = sock.localPort;
  reply.dstPort = sock.remotePort;
  reply.seq = seg.ack;
  reply.flags = TcpFlag.Rst;
  sock.ctx.stats.outRsts++;
  countOut(sock, reply);
  return true;
}

/** Reads MSS, window scale, SACK-permitted and timestamps from a SYN (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
export function takeSynOptions(sock: TcpConnection, syn: TcpRepr): void {
  const cfg = sock.ctx.config;
  let mss = syn.mss > 0 ? syn.mss : DEFAULT_MSS;
  if (mss > sock.localMss) mss = sock.localMss;
  sock.window.takeSynScale(syn.windowScale, sock.state === TcpState.Closed);
  sock.sackOk = syn.sackPermitted && cfg.sack;
  sock.tsOk = syn.hasTimestamp && cfg.timestamps;
  if (sock.tsOk) {
    sock.tsRecent = syn.tsVal;
    mss -= TS_OPTION_LEN;
  }
  sock.sendMss = mss;
  sock.recovery.start(mss, sock.sackOk);
}


/**
 * True if `seg`, unacceptable, is an old duplicate whose ACK field acknowledges new data: it
 * ends at or before RCV.NXT and starts at most one receive buffer behind it (no further back
 * than a peer could still be retransmitting: it never had more than the window we offered
 * unacknowledged), and SND.UNA < SEG.ACK =< SND.MAX. Its text is dropped and it is answered
 * with an ACK as RFC 9293 §3.10.7.4 says, but the ACK is taken first, as BSD does ("keep on
 * processing for RST or ACK"). Otherwise two ends that both sit behind each other's RCV.NXT
 * never learn it: after an outage both go back to SND.UNA (RTO) for data the other already
 * has, or both had a zero-window probe octet taken (probes do not advance SND.NXT); each then
 * finds every segment of the other old, drops its ACK, and answers it with an ACK the other
 * also finds old: an ACK storm that never ends, with both connections stalled. Duplicate ACKs
 * (SEG.ACK = SND.UNA) are not taken, so an old segment never counts towards fast retransmit.
 */
function oldDuplicateAcksNew(sock: TcpConnection, seg: TcpRepr, segLen: number): boolean {
  if (!isSynchronized(sock.state)) return false;
  const behind = seqDiff(sock.rcvNxt, seqAdd(seg.seq, segLen));
  if (behind < 0 || seqDiff(sock.rcvNxt, seg.seq) > sock.rx.capacity + (1 << sock.window.rcvScale)) return false;
  return seqGt(seg.ack, sock.sndUna) && seqLe(seg.ack, sock.window.ackLimit(sock.sndMax));
}
