/**
 * Timing for benchmarks: the median of several timed runs, after a warm-up.
 *
 * Benches live above the core, so they may read clocks (`process.hrtime.bigint`, nanoseconds).
 * The VM this project runs on is noisy: report medians, and keep min/max for the notes.
 */

/** What one `time*` call measured, in milliseconds per run. */
export interface Timing {
  /** Median wall time of one run, ms. */
  medianMs: number;
  /** Fastest run, ms. */
  minMs: number;
  /** Slowest run, ms. */
  maxMs: number;
  /** Every measured run, ms, in the order they ran. */
  samplesMs: number[];
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function summarize(samples: number[]): Timing {
  return { medianMs: median(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples), samplesMs: samples };
}

/** Runs `body` `warmups` times untimed, then `runs` times timed; returns the median and spread. */
export function timeSync(body: () => void, runs = 7, warmups = 1): Timing {
  for (let i = 0; i < warmups; i++) body();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    body();
    samples.push(nowMs() - t0);
  }
  return summarize(samples);
}

/** `timeSync` for bodies that finish asynchronously (streams). */
export async function timeAsync(body: () => Promise<void>, runs = 5, warmups = 1): Promise<Timing> {
  for (let i = 0; i < warmups; i++) await body();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    await body();
    samples.push(nowMs() - t0);
  }
  return summarize(samples);
}

/**
 * Runs `loop(chunk)` repeatedly for at least `ms` of wall time, so the JIT has optimized the code
 * under test before anything is timed (a short timed run otherwise measures the interpreter).
 */
export function warmUp(loop: (n: number) => void, ms: number, chunk = 1000): void {
  const until = nowMs() + ms;
  while (nowMs() < until) loop(chunk);
}

/**
 * How many iterations of `loop(n)` fill about `targetMs` of wall time: doubles n from `start`
 * until a run takes a tenth of the target, then scales. Never returns less than `start`.
 * Keeps benches short on slow machines and long enough to time on fast ones.
 */
export function calibrate(loop: (n: number) => void, targetMs: number, start = 1000): number {
  let n = start;
  for (;;) {
    const t0 = nowMs();
    loop(n);
    const elapsed = nowMs() - t0;
    if (elapsed >= targetMs / 10 || n >= 1 << 30) {
      return Math.max(start, Math.round((n * targetMs) / Math.max(elapsed, 1e-3)));
    }
    n *= 2;
  }
}

/** "12.3 (10.1-13.0)": a median and its range, for notes. */
export function spread(values: readonly number[], digits = 1): string {
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
}

/** "10.1-13.0": the range of a list, for notes. */
export function range(values: readonly number[], digits = 1): string {
  return `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
}
