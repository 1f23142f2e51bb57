/**
 * The RFC 5681 / RFC 6582 (NewReno) congestion controller: RFC 6928 initial window, slow start
 * with RFC 3465 appropriate byte counting (L = 1 SMSS), congestion avoidance by one SMSS per
 * window of acknowledged data, ssthresh = max(FlightSize / 2, 2·SMSS) on loss, window inflation
 * and deflation during NewReno recovery, or cwnd = ssthresh under RFC 6675 SACK recovery.
 *
 * Numbers only, created once per socket, no allocation.
 */
import type { CongestionController } from './congestion.ts';
import { DUP_THRESH } from './congestion.ts';
import { DEFAULT_MSS } from './config.ts';

/** ssthresh before any loss: "arbitrarily high" (RFC 5681 §3.1). */
const SSTHRESH_INFINITE = 0x7fffffff;

/** RFC 5681 congestion control with RFC 6582 NewReno (or RFC 6675 SACK) recovery arithmetic; windows in octets. */
export class NewRenoController implements CongestionController {
  cwnd = 0;
  ssthresh = SSTHRESH_INFINITE;
  /** Octets acknowledged in congestion avoidance, toward the next cwnd increase. */
  private bytesAcked = 0;
  /** Send MSS, octets. */
  private mss = DEFAULT_MSS;
  /** SACK recovery (RFC 6675): no window inflation, the pipe governs. */
  private sack = false;

  reset(): void {
    this.cwnd = 0;
    this.ssthresh = SSTHRESH_INFINITE;
    this.bytesAcked = 0;
    this.mss = DEFAULT_MSS;
    this.sack = false;
  }

  start(mss: number, sack: boolean): void {
    this.mss = mss;
    this.sack = sack;
    // RFC 6928: IW = min(10·MSS, max(2·MSS, 14600)). (The send ring bounds cwnd from the first
    // ACK on: onAck's maxCwnd.)
    let iw = 10 * mss;
    const cap = 2 * mss > 14600 ? 2 * mss : 14600;
    if (iw > cap) iw = cap;
    this.cwnd = iw;
    this.ssthresh = SSTHRESH_INFINITE;
  }

  onAck(_now: number, acked: number, _srtt: number, maxCwnd: number): void {
    if (this.cwnd < this.ssthresh) {
      // Slow start (RFC 5681 §3.1, with RFC 3465 L = 1 MSS).
      this.cwnd += acked < this.mss ? acked : this.mss;
    } else {
      // Congestion avoidance: one MSS per cwnd of data acknowledged.
      this.bytesAcked += acked;
      if (this.bytesAcked >= this.cwnd) {
        this.bytesAcked -= this.cwnd;
        this.cwnd += this.mss;
      }
    }
    if (this.cwnd > maxCwnd) this.cwnd = maxCwnd; // cwnd beyond what we can ever have in flight means nothing
  }

  onRecoveryStart(_now: number, flight: number): void {
    const half = flight >> 1;
    this.ssthresh = half > 2 * this.mss ? half : 2 * this.mss;
    // RFC 6675 §5 step 4.2: cwnd = ssthresh; pipe governs sending. RFC 6582 §3.2 step 2 / RFC
    // 5681 §3.2 step 3: ssthresh plus the three segments that left the network.
    this.cwnd = this.sack ? this.ssthresh : this.ssthresh + DUP_THRESH * this.mss;
  }

  onRecoveryDupAck(): void {
    // RFC 6582 §3.2 step 4: inflate cwnd for every further duplicate (not with SACK: RFC 6675 uses pipe).
    if (!this.sack) this.cwnd += this.mss;
  }

  onPartialAck(acked: number): void {
    // RFC 6582 §3.2 step 5: deflate by the octets acknowledged, add back one SMSS (not with SACK).
    if (this.sack) return;
    this.cwnd -= acked;
    if (this.cwnd < this.mss) this.cwnd = this.mss;
    this.cwnd += this.mss;
  }

  onRecoveryEnd(flight: number): void {
    // RFC 6582 §3.2 step 3: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    const deflated = (flight > this.mss ? flight : this.mss) + this.mss;
    this.cwnd = this.ssthresh < deflated ? this.ssthresh : deflated;
  }

  onTimeout(_now: number, flight: number, first: boolean): void {
    // RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2·SMSS); cwnd = 1 segment.
    if (first) {
      const half = flight >> 1;
      this.ssthresh = half > 2 * this.mss ? half : 2 * this.mss;
    }
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }
}
