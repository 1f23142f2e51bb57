/**
 * The RTT estimator and retransmission timeout of one connection: RFC 6298 (SRTT, RTTVAR, RTO,
 * exponential backoff), Karn's algorithm (no sample from a retransmitted segment) and RFC 7323
 * RTTM (a sample from every ACK of new data that echoes one of our timestamps).
 *
 * It owns our timestamp clock (TSval = now + a per-connection offset) because RTTM reads it
 * back. It holds numbers only, is created once per socket, and never allocates.
 *
 * SRTT and RTTVAR are kept in fixed point, in eighths of a millisecond, and updated with integer
 * shifts (the form BSD and Linux use for RFC 6298's alpha = 1/8 and beta = 1/4). Every number
 * here is a small integer, so the estimator allocates nothing even while V8 runs it unoptimised:
 * it sits on the ACK path, which a bulk sender runs some tens of times per MB, so V8 can take a
 * long time to optimise it again after a connection's first sample or close has deoptimised it,
 * and the interpreter boxes every fractional number (16 octets each) where optimised code keeps
 * them in registers.
 */
import type { TcpRepr } from '../../wire/tcp.ts';
import { seqAdd, seqDiff, seqGt, seqLt } from '../../wire/tcp.ts';
import type { TcpConfig } from './config.ts';

/** SRTT and RTTVAR are kept in 1/2^RTT_SHIFT ms. */
const RTT_SHIFT = 3;
/** Samples are capped here (about 4.7 h), so that the fixed-point sums stay small integers. */
const MAX_SAMPLE_MS = 1 << 24;

/** RFC 6298 round-trip time estimator and retransmission timeout of one connection; times in ms. */
export class RttEstimator {
  private readonly config: TcpConfig;
  /** Smoothed round-trip time in 1/8 ms (0 until the first sample). */
  srtt8 = 0;
  /** Round-trip time variation in 1/8 ms. */
  rttvar8 = 0;
  /** Retransmission timeout, ms (RFC 6298 §2), within [rtoMinMs, rtoMaxMs] once sampled. */
  rto = 1000;
  /** Sequence number of the segment timed for a sample when timestamps are off (Karn). */
  private timedSeq = 0;
  /** When that segment was sent, ms; -1 when nothing is timed. */
  private timedAt = -1;
  /** TSval = now + tsOffset (RFC 7323 §5.4: a per-connection offset). */
  private tsOffset = 0;
  /** Our TSval when the last retransmission timeout fired; older echoes give no RTT sample. */
  private tsRtoFloor = 0;
  private tsRtoGuard = false;
  /** A SYN (or SYN-ACK) was retransmitted after a timeout (RFC 6298 §5.7). */
  private synTimedOut = false;

  constructor(config: TcpConfig) {
    this.config = config;
  }

  /** Smoothed round-trip time, ms, to 1/8 ms (0 until the first sample). For reading: the ACK path uses `srttMs`. */
  get srtt(): number {
    return this.srtt8 / 8;
  }

  /** Round-trip time variation, ms, to 1/8 ms. */
  get rttvar(): number {
    return this.rttvar8 / 8;
  }

  /** Smoothed round-trip time in whole ms (rounded down; 0 until the first sample). */
  get srttMs(): number {
    return this.srtt8 >> RTT_SHIFT;
  }

  /** Forgets every sample (a blank socket). */
  reset(): void {
    this.srtt8 = 0;
    this.rttvar8 = 0;
    this.rto = this.config.rtoInitialMs;
    this.timedAt = -1;
    this.tsRtoGuard = false;
    this.synTimedOut = false;
  }

  /** A connection opens with initial sequence number `iss`: RFC 6298 §2.1 initial RTO, a timestamp clock offset. */
  open(iss: number): void {
    this.rto = this.config.rtoInitialMs;
    this.tsOffset = (iss ^ 0x5bd1e995) | 0;
    this.tsRtoGuard = false;
  }

  /** Our TSval at `now` (RFC 7323 §3), int32. */
  tsVal(now: number): number {
    return seqAdd(now, this.tsOffset);
  }

  /** Times the segment starting at `seq`, sent at `now`, unless one is timed already (Karn: never a retransmitted one). */
  timeSegment(now: number, seq: number): void {
    if (this.timedAt >= 0) return;
    this.timedAt = now;
    this.timedSeq = seq;
  }

  /** Times our SYN (sent the first time at `now`). */
  timeSyn(now: number, iss: number): void {
    this.timedAt = now;
    this.timedSeq = iss;
  }

  /** Karn: the timed segment may be retransmitted, so its ACK will give no sample. */
  cancelTiming(): void {
    this.timedAt = -1;
  }

  /** RTT sample from the SYN exchange (none if the SYN was retransmitted, Karn). */
  onSynAck(now: number, seg: TcpRepr, tsOk: boolean, retries: number): void {
    if (tsOk && seg.hasTimestamp && seg.tsEcr !== 0) this.sample(seqDiff(this.tsVal(now), seg.tsEcr));
    else if (retries === 0 && this.timedAt >= 0) this.sample(now - this.timedAt);
    this.timedAt = -1;
  }

  /** An ACK of new data up to `ack`: a sample if it echoes a timestamp (RTTM) or covers the timed segment. */
  onAck(now: number, seg: TcpRepr, ack: number, tsOk: boolean): void {
    // RTT (RFC 6298 §3; RFC 7323 §4 RTTM: an ACK of new data with a TSecr gives a sample).
    // A TSecr older than our last timeout retransmission echoes a segment sent before the
    // backoff (the peer answered a duplicate, RFC 7323 §4.3 (3)); it would count the backoff as
    // path delay, so it is not a sample.
    if (tsOk && seg.hasTimestamp && seg.tsEcr !== 0 && (!this.tsRtoGuard || !seqLt(seg.tsEcr, this.tsRtoFloor))) {
      this.sample(seqDiff(this.tsVal(now), seg.tsEcr));
    } else if (this.timedAt >= 0 && seqGt(ack, this.timedSeq)) {
      this.sample(now - this.timedAt);
      this.timedAt = -1;
    }
  }

  /**
   * The retransmission timer expired at `now` (RFC 6298 §5.5-5.6): back off the RTO, stop
   * timing, and ignore echoes of anything sent before. `opening` is true in SYN-SENT and
   * SYN-RECEIVED (RFC 6298 §5.7 applies when the handshake completes).
   */
  onTimeout(now: number, opening: boolean): void {
    const max = this.config.rtoMaxMs;
    this.rto = this.rto * 2 > max ? max : this.rto * 2;
    if (opening) this.synTimedOut = true;
    this.timedAt = -1;
    this.tsRtoFloor = this.tsVal(now);
    this.tsRtoGuard = true;
  }

  /** RFC 6298 §5.7: after a SYN timed out, data transfer starts with an RTO of at least 3 s. */
  afterHandshake(): void {
    if (this.synTimedOut && this.rto < 3000) this.rto = 3000 < this.config.rtoMaxMs ? 3000 : this.config.rtoMaxMs;
    this.synTimedOut = false;
  }

  /**
   * RFC 6298 §2.2/2.3 smoothing of a sample `r` (ms) and the RTO bounds, in 1/8 ms:
   * RTTVAR += (|SRTT - R'| - RTTVAR) / 4, then SRTT += (R' - SRTT) / 8 (the shifts round toward
   * minus infinity), RTO = SRTT + max(G, 4 * RTTVAR) rounded up to a whole ms, G = 1 ms.
   */
  private sample(r: number): void {
    if (r < 1) r = 1;
    if (r > MAX_SAMPLE_MS) r = MAX_SAMPLE_MS;
    const r8 = r << RTT_SHIFT;
    if (this.srtt8 === 0) {
      this.srtt8 = r8;
      this.rttvar8 = r8 >> 1;
    } else {
      const err = r8 - this.srtt8;
      this.rttvar8 += ((err < 0 ? -err : err) - this.rttvar8) >> 2;
      this.srtt8 += err >> RTT_SHIFT;
    }
    const cfg = this.config;
    const k = this.rttvar8 << 2;
    let rto = (this.srtt8 + (k > 8 ? k : 8) + 7) >> RTT_SHIFT;
    if (rto < cfg.rtoMinMs) rto = cfg.rtoMinMs;
    if (rto > cfg.rtoMaxMs) rto = cfg.rtoMaxMs;
    this.rto = rto;
  }
}
