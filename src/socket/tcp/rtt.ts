/**
 * The RTT estimator and retransmission timeout of one connection: RFC 6298 (SRTT, RTTVAR, RTO,
 * exponential backoff), Karn's algorithm (no sample from a retransmitted segment) and RFC 7323
 * RTTM (a sample from every ACK of new data that echoes one of our timestamps).
 *
 * It owns our timestamp clock (TSval = now + a per-connection offset) because RTTM reads it
 * back. It holds numbers only, is created once per socket, and never allocates.
 */
import type { TcpRepr } from '../../wire/tcp.ts';
import { seqAdd, seqDiff, seqGt, seqLt } from '../../wire/tcp.ts';
import type { TcpConfig } from './config.ts';

/** RFC 6298 round-trip time estimator and retransmission timeout of one connection; times in ms. */
export class RttEstimator {
  private readonly config: TcpConfig;
  /** Smoothed round-trip time, ms (0 until the first sample). */
  srtt = 0;
  /** Round-trip time variation, ms. */
  rttvar = 0;
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

  /** Forgets every sample (a blank socket). */
  reset(): void {
    this.srtt = 0;
    this.rttvar = 0;
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

  /** RFC 6298 §2.2/2.3 smoothing of a sample `r` (ms) and the RTO bounds. */
  private sample(r: number): void {
    if (r < 1) r = 1;
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      const delta = this.srtt - r;
      this.rttvar = 0.75 * this.rttvar + 0.25 * (delta < 0 ? -delta : delta);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    const cfg = this.config;
    let rto = Math.ceil(this.srtt + (4 * this.rttvar > 1 ? 4 * this.rttvar : 1));
    if (rto < cfg.rtoMinMs) rto = cfg.rtoMinMs;
    if (rto > cfg.rtoMaxMs) rto = cfg.rtoMaxMs;
    this.rto = rto;
  }
}
