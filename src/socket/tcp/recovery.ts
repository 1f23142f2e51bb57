/**
 * Loss detection and recovery of one connection's sender: duplicate ACK counting (RFC 5681
 * §3.2), RFC 3042 limited transmit, fast retransmit and RFC 6582 NewReno recovery with partial
 * ACKs, and, when the peer permits SACK, the scoreboard and RFC 6675 recovery (NextSeg, pipe).
 *
 * It decides when recovery begins and ends and which octets go out again; the congestion
 * controller it is given decides how cwnd moves (congestion.ts). Positions in the scoreboard and
 * the holes it reports are offsets from SND.UNA, never sequence numbers: sequence numbers are
 * int32 and half of them are negative. Numbers and one Assembler, created once per socket.
 */
import { Assembler } from '../../storage/assembler.ts';
import { type TcpRepr, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../wire/tcp.ts';
import { type CongestionController, DUP_THRESH } from './congestion.ts';
import { DEFAULT_MSS } from './config.ts';

/** The sender's loss detection and recovery state of one connection; drives its CongestionController. */
export class LossRecovery {
  /** SACK scoreboard: octets above SND.UNA the peer has SACKed, offsets relative to SND.UNA. */
  readonly scoreboard: Assembler;
  private readonly cc: CongestionController;
  /** Duplicate ACKs in a row (RFC 5681 §2). */
  dupAcks = 0;
  /** In fast recovery (RFC 6582 / RFC 6675). */
  inRecovery = false;
  /** Highest sequence sent when recovery began (RFC 6582 "recover"). */
  recover = 0;
  /** Next sequence to consider for retransmission in recovery. */
  private rtxNext = 0;
  /** NewReno: one retransmission at SND.UNA is owed (fast retransmit or partial ACK). */
  private rtxOwed = false;
  /** Send MSS, octets. */
  private mss = DEFAULT_MSS;
  /** The peer permits SACK: RFC 6675 recovery. */
  private sack = false;

  /** `cc` is the socket's congestion controller; `ranges` bounds the SACK blocks remembered. */
  constructor(cc: CongestionController, ranges: number) {
    this.cc = cc;
    this.scoreboard = new Assembler(ranges);
  }

  /** Not recovering, nothing SACKed (a blank socket). The controller resets itself. */
  reset(): void {
    this.scoreboard.clear();
    this.dupAcks = 0;
    this.inRecovery = false;
    this.rtxOwed = false;
    this.mss = DEFAULT_MSS;
    this.sack = false;
  }

  /** A connection opens with initial sequence number `iss`. */
  open(iss: number): void {
    this.recover = iss;
  }

  /** The handshake settled the send MSS (octets) and SACK: starts the congestion controller too. */
  start(mss: number, sack: boolean): void {
    this.mss = mss;
    this.sack = sack;
    this.cc.start(mss, sack);
  }

  // ---------------------------------------------------------------------------------------------
  // Events from input

  /** SACK blocks update the scoreboard (RFC 2018 §3, RFC 6675 §4). Returns true if any octet was newly SACKed. */
  takeSackBlocks(seg: TcpRepr, ack: number, sndUna: number, sndMax: number): boolean {
    let added = false;
    const base = seqGt(ack, sndUna) ? ack : sndUna;
    for (let i = 0; i < seg.sackCount; i++) {
      const left = seg.sackLeft[i]!;
      const right = seg.sackRight[i]!;
      // RFC 2018 §4 / RFC 6675: ignore blocks that are stale or beyond what was sent.
      if (!seqLt(left, right) || seqLe(right, base) || seqGt(right, sndMax)) continue;
      const s = seqLt(left, sndUna) ? 0 : seqDiff(left, sndUna);
      const e = seqDiff(right, sndUna);
      const before = this.sackedBytes();
      if (this.scoreboard.add(s, e) && this.sackedBytes() !== before) added = true;
    }
    return added;
  }

  /**
   * An ACK moved SND.UNA forward by `acked` octets to `sndUna` at `now`. Leaves recovery on a
   * full ACK, handles a partial one, or grows cwnd (`maxCwnd` octets at most; `srtt` ms for
   * the controller).
   */
  onNewAck(now: number, acked: number, sndUna: number, sndMax: number, maxCwnd: number, srtt: number): void {
    this.scoreboard.advance(acked);
    if (this.inRecovery) {
      if (seqGe(sndUna, this.recover)) {
        // RFC 6582 §3.2 step 3 (full ACK) / RFC 6675: leave recovery.
        this.inRecovery = false;
        this.dupAcks = 0;
        this.cc.onRecoveryEnd(seqDiff(sndMax, sndUna));
        this.rtxOwed = false;
      } else {
        // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole, deflate cwnd.
        if (!this.sack) this.rtxOwed = true;
        this.cc.onPartialAck(acked);
        if (seqLt(this.rtxNext, sndUna)) this.rtxNext = sndUna;
      }
    } else {
      this.dupAcks = 0;
      this.cc.onAck(now, acked, srtt, maxCwnd);
    }
  }

  /**
   * A duplicate ACK at `now` (RFC 5681 §2, or an ACK with new SACK information, RFC 6675 §5);
   * `newSack` if it SACKed new octets. Returns true when it starts fast retransmit and recovery.
   */
  onDupAck(now: number, newSack: boolean, sndUna: number, sndMax: number): boolean {
    this.dupAcks++;
    if (this.inRecovery) {
      this.cc.onRecoveryDupAck();
      return false;
    }
    const lossBySack = this.sack && newSack && this.sackedBytes() >= DUP_THRESH * this.mss;
    if (this.dupAcks < DUP_THRESH && !lossBySack) return false; // RFC 3042: limited transmit handles 1 and 2
    // RFC 6582 §4.1: no new recovery for losses in data sent before the last one began.
    if (seqLt(sndUna, this.recover)) return false;
    this.cc.onRecoveryStart(now, seqDiff(sndMax, sndUna));
    this.recover = sndMax;
    this.inRecovery = true;
    this.rtxNext = sndUna;
    this.rtxOwed = true;
    return true;
  }

  /**
   * The retransmission timer expired at `now`; `first` for the first expiry since progress.
   * Recovery is over: everything from SND.UNA goes again.
   */
  onTimeout(now: number, sndUna: number, sndMax: number, first: boolean): void {
    this.cc.onTimeout(now, seqDiff(sndMax, sndUna), first);
    this.inRecovery = false;
    this.dupAcks = 0;
    this.rtxOwed = false;
    // RFC 6582 §3.2: after a timeout, fast retransmit waits until past what was sent.
    this.recover = sndMax;
    // RFC 2018 §8 / RFC 6675 §5.1: the receiver may have reneged; start over from SND.UNA.
    this.scoreboard.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Questions from output

  /**
   * Octets of new data that congestion control lets out now, before the peer's window:
   * cwnd less what is in flight (SND.NXT - SND.UNA), plus RFC 3042 limited transmit, or under
   * SACK recovery cwnd less the pipe. May be negative.
   */
  sendBudget(sndUna: number, sndNxt: number, sndMax: number): number {
    const flight = seqDiff(sndNxt, sndUna);
    // RFC 3042 limited transmit: up to two extra segments on the first two duplicate ACKs.
    let cwnd = this.cc.cwnd;
    if (!this.inRecovery && this.dupAcks > 0 && this.dupAcks < DUP_THRESH) cwnd += this.dupAcks * this.mss;
    if (this.inRecovery && this.sack) return this.cc.cwnd - this.pipe(sndUna, sndMax);
    return cwnd - flight;
  }

  /**
   * The hole dispatch may retransmit now, as an offset from SND.UNA, or -1: one exists
   * (`nextHole`) and either a retransmission is owed (fast retransmit, partial ACK) or the pipe
   * leaves room for a segment (RFC 6675 §5 step 4). wantsToSend and dispatch both ask this, so
   * they never disagree (a disagreement makes pollAt say "now" forever).
   */
  sendableHole(sndUna: number, sndMax: number): number {
    const hole = this.nextHole(sndUna);
    if (hole < 0) return -1;
    return this.rtxOwed || this.pipe(sndUna, sndMax) + this.mss <= this.cc.cwnd ? hole : -1;
  }

  /** `len` octets from offset `rel` (from SND.UNA), cut to stop at the next SACKed range. */
  clipToSacked(rel: number, len: number): number {
    const sb = this.scoreboard;
    for (let i = 0; i < sb.rangeCount; i++) {
      const st = sb.rangeStart(i);
      if (st > rel) {
        if (st - rel < len) len = st - rel;
        break;
      }
    }
    return len;
  }

  /** A retransmission went out; it ended just before sequence number `end`. */
  retransmitted(end: number): void {
    this.rtxNext = end;
    this.rtxOwed = false;
  }

  /** Octets SACKed above SND.UNA. */
  sackedBytes(): number {
    let n = 0;
    const sb = this.scoreboard;
    for (let i = 0; i < sb.rangeCount; i++) n += sb.rangeEnd(i) - sb.rangeStart(i);
    return n;
  }

  /** Highest SACKed offset above SND.UNA (0 if none). */
  private highestSacked(): number {
    const sb = this.scoreboard;
    return sb.rangeCount > 0 ? sb.rangeEnd(sb.rangeCount - 1) : 0;
  }

  /**
   * RFC 6675 NextSeg(): the first octet at or after the retransmission point that is not
   * SACKed and lies below the highest SACKed octet (or SND.UNA for NewReno), as an offset from
   * SND.UNA (never negative), or -1 if none. An offset, not a sequence number: sequence numbers
   * are int32 and half of them are negative.
   */
  private nextHole(sndUna: number): number {
    if (!this.inRecovery) return -1;
    let rel = seqDiff(this.rtxNext, sndUna);
    if (rel < 0) rel = 0;
    if (!this.sack) {
      // NewReno retransmits only the segment at SND.UNA, once per (partial) ACK.
      return this.rtxOwed ? 0 : -1;
    }
    const high = this.highestSacked();
    const sb = this.scoreboard;
    for (let i = 0; i < sb.rangeCount; i++) {
      const st = sb.rangeStart(i);
      const en = sb.rangeEnd(i);
      if (rel < st) break;
      if (rel < en) rel = en;
    }
    if (rel >= high) {
      if (this.rtxOwed && high === 0) return 0;
      return -1;
    }
    return rel;
  }

  /** RFC 6675 pipe: octets presumed in the network. */
  private pipe(sndUna: number, sndMax: number): number {
    const flight = seqDiff(sndMax, sndUna);
    if (!this.sack || !this.inRecovery) return flight;
    // Holes below the highest SACK that have not been retransmitted yet are presumed lost.
    const high = this.highestSacked();
    let lost = 0;
    let rel = seqDiff(this.rtxNext, sndUna);
    if (rel < 0) rel = 0;
    const sb = this.scoreboard;
    let cursor = rel;
    for (let i = 0; i < sb.rangeCount; i++) {
      const st = sb.rangeStart(i);
      const en = sb.rangeEnd(i);
      if (en <= cursor) continue;
      if (st > cursor) lost += st - cursor;
      cursor = en;
    }
    if (cursor < high) lost += high - cursor;
    const p = flight - this.sackedBytes() - lost;
    return p > 0 ? p : 0;
  }
}
