/**
 * Assembler: which octet ranges past a moving front have arrived, with a fixed number of holes.
 *
 * Offsets are relative to the front (for TCP: RCV.NXT). `add(start, end)` records a range,
 * merging with neighbours; when the ranges would need more than `maxRanges` entries the add is
 * refused and nothing changes (the segment is dropped and counted by the caller, and the peer
 * retransmits). `removeFront()` takes the run that starts at offset 0 and shifts everything else.
 * Each range remembers when it last grew, so SACK blocks can be sent most recent first
 * (RFC 2018 §4). Modelled on smoltcp `storage/assembler.rs`.
 */

export class Assembler {
  /** Most ranges (islands of received data) tracked at once. */
  readonly maxRanges: number;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly stamps: Int32Array;
  private count = 0;
  private clock = 0;

  constructor(maxRanges: number) {
    if (!Number.isInteger(maxRanges) || maxRanges < 1) throw new RangeError(`Assembler: maxRanges must be >= 1, got ${maxRanges}`);
    this.maxRanges = maxRanges;
    this.starts = new Int32Array(maxRanges);
    this.ends = new Int32Array(maxRanges);
    this.stamps = new Int32Array(maxRanges);
  }

  /** Number of disjoint ranges held. */
  get rangeCount(): number {
    return this.count;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  clear(): void {
    this.count = 0;
  }

  /** Start offset of range `i` (ranges are kept sorted by offset). */
  rangeStart(i: number): number {
    return this.starts[i]!;
  }

  /** End offset (exclusive) of range `i`. */
  rangeEnd(i: number): number {
    return this.ends[i]!;
  }

  /** Index of the range that grew most recently but `skip` (0 = the newest); -1 if none. */
  recentRange(skip: number): number {
    // Selection by rank: small N, no allocation.
    let prevStamp = 0x7fffffff;
    let pick = -1;
    for (let rank = 0; rank <= skip; rank++) {
      pick = -1;
      let best = -1;
      for (let i = 0; i < this.count; i++) {
        const s = this.stamps[i]!;
        if (s < prevStamp && s > best) {
          best = s;
          pick = i;
        }
      }
      if (pick < 0) return -1;
      prevStamp = best;
    }
    return pick;
  }

  /**
   * Records that octets [start, end) arrived (start >= 0). Returns false, changing nothing, if
   * that would need more ranges than `maxRanges`.
   */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const n = this.count;
    // First range whose end reaches start (it may merge), and the last whose start reaches end.
    let lo = 0;
    while (lo < n && this.ends[lo]! < start) lo++;
    let hi = lo;
    while (hi < n && this.starts[hi]! <= end) hi++;
    // Ranges lo .. hi-1 touch [start, end) and merge into one.
    const merged = hi - lo;
    if (merged === 0) {
      if (n === this.maxRanges) return false;
      for (let i = n; i > lo; i--) {
        this.starts[i] = this.starts[i - 1]!;
        this.ends[i] = this.ends[i - 1]!;
        this.stamps[i] = this.stamps[i - 1]!;
      }
      this.starts[lo] = start;
      this.ends[lo] = end;
      this.stamps[lo] = ++this.clock;
      this.count = n + 1;
      return true;
    }
    const newStart = start < this.starts[lo]! ? start : this.starts[lo]!;
    const lastEnd = this.ends[hi - 1]!;
    const newEnd = end > lastEnd ? end : lastEnd;
    this.starts[lo] = newStart;
    this.ends[lo] = newEnd;
    this.stamps[lo] = ++this.clock;
    const removed = merged - 1;
    if (removed > 0) {
      for (let i = hi; i < n; i++) {
        this.starts[i - removed] = this.starts[i]!;
        this.ends[i - removed] = this.ends[i]!;
        this.stamps[i - removed] = this.stamps[i]!;
      }
      this.count = n - removed;
    }
    return true;
  }

  /** Length of the run that starts at offset 0 (0 if none). */
  get frontLength(): number {
    return this.count > 0 && this.starts[0] === 0 ? this.ends[0]! : 0;
  }

  /** Removes the run at offset 0 and moves the front past it; returns its length (0 if none). */
  removeFront(): number {
    const len = this.frontLength;
    if (len > 0) {
      for (let i = 1; i < this.count; i++) {
        this.starts[i - 1] = this.starts[i]! - len;
        this.ends[i - 1] = this.ends[i]! - len;
        this.stamps[i - 1] = this.stamps[i]!;
      }
      this.count--;
    }
    return len;
  }

  /**
   * Moves the front forward by `n` octets (data consumed from elsewhere, e.g. an in-order
   * segment that covered offset 0). Ranges now behind the front are trimmed or dropped.
   */
  advance(n: number): void {
    if (n <= 0) return;
    let w = 0;
    for (let i = 0; i < this.count; i++) {
      let s = this.starts[i]! - n;
      const e = this.ends[i]! - n;
      if (e <= 0) continue;
      if (s < 0) s = 0;
      this.starts[w] = s;
      this.ends[w] = e;
      this.stamps[w] = this.stamps[i]!;
      w++;
    }
    this.count = w;
  }
}
