/**
 * TcpTimers, the timers of one connection as data: deadlines in ms (OFF when idle) for
 * retransmission (RFC 6298), the persist timer (RFC 9293 §3.8.6.1), the delayed ACK (RFC 9293
 * §3.8.6.3), keepalive (RFC 1122 §4.2.3.6), and the close deadline (TIME-WAIT's 2·MSL, or the
 * FIN-WAIT-2 timeout of an orphaned socket), with their retry and probe counters.
 *
 * A part of the control block like window.ts and rtt.ts: it knows only the configuration, and
 * nothing registers a callback with a clock. The methods arm, restart and clear deadlines from
 * a `now` handed in; timers.ts fires what is due (`due`). Numbers only, created once per socket;
 * no method allocates.
 *
 * A deadline that is off is OFF (-1), not NEVER: NEVER (2^53 - 1) is no small integer, so a
 * field that ever held it would be a double field, and V8's interpreter allocates a 16-octet box
 * on every read of one. Kept to small integers (while `now` is, for 24.8 days of a loop's
 * uptime), these fields cost nothing to read even while a function that reads them runs
 * unoptimised, as `tick` does for a while after a connection first takes a path it had not
 * (a delayed ACK, a window below one MSS). `next()` still reports NEVER when nothing runs.
 */
import { NEVER } from '../../time.ts';
import type { TcpConfig } from './config.ts';

/** A deadline that is off. Deadlines are `now` plus a delay, and `now` is never negative. */
export const OFF = -1;

/** True when deadline `at` is set and has come at `now`. */
export function due(at: number, now: number): boolean {
  return at !== OFF && now >= at;
}

/** The deadlines (ms, OFF when off) and timer counters of one connection. */
export class TcpTimers {
  private readonly config: TcpConfig;
  /** Retransmission timeout deadline, ms. */
  retransmitAt = OFF;
  /** Persist timer (zero-window probe) deadline, ms. */
  persistAt = OFF;
  /** Delayed ACK deadline, ms. */
  ackDelayAt = OFF;
  /** Next keepalive probe, ms. */
  keepaliveAt = OFF;
  /** TIME-WAIT end, or FIN-WAIT-2 / connect give-up deadline, ms. */
  closeAt = OFF;
  /** Consecutive RTO expirations without progress. */
  retries = 0;
  /** Zero-window probes sent without the window opening (the persist timer's backoff exponent). */
  private persistBackoff = 0;
  /** Keepalive probes sent without an answer. */
  keepaliveProbes = 0;
  /** Zero-window probes sent since the peer last answered anything (Linux icsk_probes_out). */
  probesUnanswered = 0;
  /** A zero-window probe is due (the persist timer fired). */
  probeDue = false;
  /** A keepalive probe is due. */
  keepaliveDue = false;
  /** Keepalive probes when idle (RFC 1122 §4.2.3.6). */
  keepalive: boolean;

  constructor(config: TcpConfig) {
    this.config = config;
    this.keepalive = config.keepalive;
  }

  /** Every timer off, counters zero, keepalive as configured (a blank socket). */
  reset(): void {
    this.keepalive = this.config.keepalive;
    this.retransmitAt = OFF;
    this.persistAt = OFF;
    this.ackDelayAt = OFF;
    this.keepaliveAt = OFF;
    this.closeAt = OFF;
    this.retries = 0;
    this.persistBackoff = 0;
    this.keepaliveProbes = 0;
    this.probesUnanswered = 0;
    this.probeDue = false;
    this.keepaliveDue = false;
  }

  /** The connection is CLOSED: every deadline off, nothing due. */
  stop(): void {
    this.retransmitAt = OFF;
    this.persistAt = OFF;
    this.ackDelayAt = OFF;
    this.keepaliveAt = OFF;
    this.closeAt = OFF;
    this.probeDue = false;
    this.keepaliveDue = false;
  }

  /** Earliest deadline, ms (NEVER if none). */
  next(): number {
    let t = NEVER;
    const r = this.retransmitAt;
    if (r !== OFF && r < t) t = r;
    const p = this.persistAt;
    if (p !== OFF && p < t) t = p;
    const a = this.ackDelayAt;
    if (a !== OFF && a < t) t = a;
    const k = this.keepaliveAt;
    if (k !== OFF && k < t) t = k;
    const c = this.closeAt;
    if (c !== OFF && c < t) t = c;
    return t;
  }

  /** RFC 6298 §5.1: a segment went out at `now`; start the timer (RTO `rto` ms) unless it runs. */
  armRetransmit(now: number, rto: number): void {
    if (this.retransmitAt === OFF) this.retransmitAt = now + rto;
  }

  /** SND.UNA advanced: the peer is alive, so the retry count and the probe backoff start over. */
  progress(): void {
    this.retries = 0;
    this.persistBackoff = 0;
  }

  /** RFC 9293 §3.8.6.1: the peer opened its window; no more probes. */
  windowOpened(): void {
    this.persistAt = OFF;
    this.persistBackoff = 0;
  }

  /** RFC 9293 §3.8.6.1: the persist timer, RTO `rto` ms backed off exponentially, within [200 ms, rtoMaxMs]. */
  armPersist(now: number, rto: number): void {
    let t = rto << (this.persistBackoff < 6 ? this.persistBackoff : 6);
    if (t > this.config.rtoMaxMs) t = this.config.rtoMaxMs;
    if (t < 200) t = 200;
    this.persistAt = now + t;
  }

  /** A zero-window probe went out at `now`: back off and wait for the next one. */
  probeSent(now: number, rto: number): void {
    this.persistBackoff++;
    this.probesUnanswered++;
    this.armPersist(now, rto);
  }

  /** The peer answered at `now`: keepalive probing starts over, idle time counts from now. */
  heard(now: number): void {
    this.keepaliveProbes = 0;
    this.probesUnanswered = 0;
    if (this.keepalive) this.keepaliveAt = now + this.config.keepaliveIdleMs;
  }

  /** Keepalive switched on (the idle time counts from `now`, if `open`) or off. */
  setKeepalive(on: boolean, now: number, open: boolean): void {
    this.keepalive = on;
    if (on && open) this.keepaliveAt = now + this.config.keepaliveIdleMs;
    else if (!on) this.keepaliveAt = OFF;
  }

  /** The handshake completed at `now`: no retries pending, keepalive idle time starts. */
  established(now: number): void {
    this.retries = 0;
    if (this.keepalive) this.keepaliveAt = now + this.config.keepaliveIdleMs;
  }

  /** Data arrived at `now` that need not be acknowledged at once: ACK within delayedAckMs (RFC 9293 §3.8.6.3). */
  delayAck(now: number): void {
    if (this.ackDelayAt === OFF) this.ackDelayAt = now + this.config.delayedAckMs;
  }

  /** TIME-WAIT entered (or the peer's FIN came again) at `now`: 2·MSL from now, nothing else runs. */
  timeWait(now: number): void {
    this.retransmitAt = OFF;
    this.persistAt = OFF;
    this.keepaliveAt = OFF;
    this.closeAt = now + 2 * this.config.mslMs;
  }

  /** A retransmitted FIN in TIME-WAIT at `now`: 2·MSL start again (RFC 9293 §3.10.7.4). */
  restartTimeWait(now: number): void {
    this.closeAt = now + 2 * this.config.mslMs;
  }

  /** An orphaned socket in FIN-WAIT-2 since `now`: give up on the peer's FIN after finWait2TimeoutMs. */
  finWait2(now: number): void {
    this.closeAt = now + this.config.finWait2TimeoutMs;
  }

  /** In TIME-WAIT: when the peer's FIN last arrived, ms. */
  get lastFinAt(): number {
    return this.closeAt - 2 * this.config.mslMs;
  }
}
