/**
 * The congestion controller interface: how one connection's congestion window (cwnd) and
 * slow-start threshold grow and shrink. Loss detection and recovery (duplicate ACKs, the SACK
 * scoreboard, which octets to retransmit: recovery.ts) decide *when* something happened and
 * tell the controller through these calls; the controller decides *how much* the window moves.
 *
 * The RFC 5681 / RFC 6582 NewReno controller is in newreno.ts. Another controller (CUBIC, RFC
 * 9438, say) is one new file implementing this interface, handed to the stack with
 * `TcpStackOptions.congestion`. A controller is created once per socket and holds numbers only:
 * its calls run on the packet path and must not allocate. Windows are in octets, time in ms.
 */

/** Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2). */
export const DUP_THRESH = 3;

/** The window policy of one connection (RFC 5681 §3 and its successors). */
export interface CongestionController {
  /** Congestion window, octets: how much may be in flight (RFC 5681 §2 cwnd). */
  readonly cwnd: number;
  /** Slow-start threshold, octets (RFC 5681 §3.1). */
  readonly ssthresh: number;
  /** Back to the state of a blank socket. */
  reset(): void;
  /**
   * The handshake settled the send MSS (`mss` octets) and whether the peer SACKs (`sack`: RFC
   * 6675 recovery, where the pipe rather than an inflated cwnd governs sending): set the initial
   * window.
   */
  start(mss: number, sack: boolean): void;
  /**
   * `acked` octets of new data acknowledged outside recovery at `now`; `srtt` is the smoothed
   * RTT (whole ms, 0 before the first sample); cwnd is never raised above `maxCwnd` octets.
   */
  onAck(now: number, acked: number, srtt: number, maxCwnd: number): void;
  /** Loss detected at `now` (fast retransmit) with `flight` octets outstanding: recovery begins. */
  onRecoveryStart(now: number, flight: number): void;
  /** A further duplicate ACK during recovery. */
  onRecoveryDupAck(): void;
  /** A partial ACK during recovery acknowledged `acked` octets (RFC 6582 §3.2 step 5). */
  onPartialAck(acked: number): void;
  /** A full ACK ended recovery with `flight` octets still outstanding (RFC 6582 §3.2 step 3). */
  onRecoveryEnd(flight: number): void;
  /**
   * The retransmission timer expired at `now` with `flight` octets outstanding; `first` is true
   * for the first expiry since the last progress (RFC 5681 §3.1: ssthresh is not halved again
   * for the same data).
   */
  onTimeout(now: number, flight: number, first: boolean): void;
}

/** Makes the controller of one socket; called once per socket when the stack is built. */
export type CongestionFactory = () => CongestionController;
