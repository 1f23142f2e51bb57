/**
 * What a bench module is: a `name` (the key `--only` selects) and `run(ctx)`, which measures
 * and returns figures. Benches report; they never fail because a machine is slow.
 */

/** One measured number. */
export interface Figure {
  /** Stable snake_case name, with the unit last: `checksum_gb_s`, `slip_codec_alloc_bytes`. */
  key: string;
  value: number;
  /** Unit as printed: "GB/s", "MB/s", "B/frame", "x". */
  unit: string;
  /** What the project aims for: ">= 4", "<= 0", "== 0". Absent for plain reference figures. */
  target?: string;
  /** The reference or comparison it stands beside, and how it was measured. */
  note?: string;
}

export interface BenchContext {
  /** `--quick`: fewer and shorter runs, for a smoke test; figures are rougher. */
  quick: boolean;
  /** Progress message, to stderr (stdout is reserved for the table or the JSON). */
  log(message: string): void;
}

export interface BenchModule {
  /** Key used by `--only`; equal to the registry key in bench/run.ts. */
  name: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
