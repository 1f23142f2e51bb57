/**
 * TCP timers: what one connection does when time passes. Its deadlines are data (TcpTimers in
 * deadlines.ts: retransmission, persist, delayed ACK, keepalive, the close deadline); nothing
 * registers a callback with a clock. `tick(sock, now)` fires what is due (RFC 6298 back-off and
 * go-back-N, the zero-window probe, the delayed ACK, keepalive probes, the end of TIME-WAIT or
 * FIN-WAIT-2) and `pollAt(sock, now)` reports the next deadline, or `now` when output.ts's
 * `wantsToSend` has a segment waiting (smoltcp `poll_at`, lwIP's tcp_slowtmr as a pure function
 * of `now`). Both are functions over the control block (TcpConnection, connection.ts).
 *
 * Neither function allocates; anything to send is left to dispatch.
 */
import { NEVER } from '../../time.ts';
import { SocketError } from '../error.ts';
import type { TcpConnection } from './connection.ts';
import { OFF, due } from './deadlines.ts';
import { wantsToSend } from './output.ts';
import { TcpState, isOpening } from './state.ts';

/**
 * Earliest deadline of `sock`: `now` when a segment is waiting (and `canSend`), else the first
 * timer; NEVER when idle.
 */
export function pollAt(sock: TcpConnection, now: number, canSend: boolean): number {
  if (sock.state === TcpState.Closed || sock.state === TcpState.Listen) return NEVER;
  if (canSend && wantsToSend(sock)) return now;
  return sock.timers.next();
}

/** Fires the expired timers of `sock` at `now` (call before dispatch). */
export function tick(sock: TcpConnection, now: number): void {
  if (sock.state === TcpState.Closed) return;
  const timers = sock.timers;
  const cfg = sock.ctx.config;
  const stats = sock.ctx.stats;
  sock.lastNow = now;
  sock.armPersistIfBlocked(now);
  if (due(timers.closeAt, now)) {
    timers.closeAt = OFF;
    if (sock.state === TcpState.TimeWait || sock.state === TcpState.FinWait2) {
      sock.becomeClosed(0);
      return;
    }
  }
  if (due(timers.retransmitAt, now)) {
    // RFC 6298 §5.4-5.7: retransmit the earliest unacknowledged segment, back off the timer.
    timers.retries++;
    stats.rtoExpirations++;
    const limit = isOpening(sock.state) ? cfg.synRetries : cfg.maxRetries;
    if (timers.retries > limit) {
      stats.timeouts++;
      if (isOpening(sock.state)) stats.attemptFails++;
      // Give up without a word to the peer: nothing is sent (Linux sends no RST here either); a
      // peer that is still there learns of it with a RST when it next sends.
      sock.becomeClosed(SocketError.TimedOut);
      return;
    }
    sock.rtt.onTimeout(now, isOpening(sock.state));
    // RFC 5681 §3.1: the window collapses; recovery, if any, is over.
    sock.recovery.onTimeout(now, sock.sndUna, sock.sndMax, timers.retries === 1);
    // Go back N: everything from SND.UNA goes out again.
    sock.sndNxt = sock.sndUna;
    timers.retransmitAt = OFF; // re-armed when the retransmission goes out
  }
  if (due(timers.persistAt, now)) {
    timers.persistAt = OFF;
    // RFC 9293 §3.8.6.1 keeps a zero window open only while the receiver still answers the
    // probes; a peer that answers none of maxRetries of them is gone (as Linux's tcp_retries2).
    if (timers.probesUnanswered >= cfg.maxRetries) {
      stats.timeouts++;
      sock.becomeClosed(SocketError.TimedOut);
      return;
    }
    timers.probeDue = true;
  }
  if (due(timers.ackDelayAt, now)) {
    timers.ackDelayAt = OFF;
    sock.ackNow = true;
  }
  if (due(timers.keepaliveAt, now)) {
    if (timers.keepaliveProbes >= cfg.keepaliveCount) {
      stats.timeouts++;
      sock.becomeClosed(SocketError.TimedOut);
      return;
    }
    timers.keepaliveDue = true;
    timers.keepaliveAt = now + cfg.keepaliveIntervalMs;
  }
}
