/**
 * Counting allocations: exact V8-heap bytes allocated per iteration, with `v8.GCProfiler`.
 *
 * `v8.getHeapStatistics()` has no total-allocated counter in Node 20, so (research/toolchain.md
 * §5) the profiler's per-GC records are summed: heap growth from the start to the first GC,
 * then between the end of each GC and the start of the next, then to the end. It is synchronous
 * and exact: 96 octets per `subarray()`, 32 per `{ i }`. Steady state for the core is 0.
 *
 * Two kinds of noise are taken out, so that allocation-free code reads exactly 0:
 * - the JIT: code compiled during the window (on-stack replacement of a fresh loop, a late
 *   tier-up) lands in code_space and counts as heap growth, tens of KB at a time. Warm-up runs
 *   through the same loop function as the measurement, and the window is split into rounds of
 *   which the least-allocating one is reported: an allocation on the packet path shows in every
 *   round, a one-off compilation in one.
 * - the profiler's own fixed cost (about 650 octets per start/stop), measured once on an empty
 *   function and subtracted.
 * Off-heap ArrayBuffer backing stores are not counted (they are malloc'ed); the GC counts are
 * reported too.
 */
import v8 from 'node:v8';

export interface AllocReport {
  /** Measured iterations (after warm-up), over all rounds. */
  iterations: number;
  /** V8-heap octets allocated over all rounds, less the profiler's fixed cost per round. */
  allocatedBytes: number;
  /** Octets per iteration in the least-allocating round: the steady-state figure. */
  bytesPerIteration: number;
  /** Octets per iteration over all rounds (includes any JIT noise). */
  meanBytesPerIteration: number;
  /** Minor GCs (scavenges) during the measured rounds. */
  minorGcs: number;
  /** Other GCs (mark-sweep, incremental marking steps, weak callbacks). */
  majorGcs: number;
  /** GC count by V8's type name. */
  gcTypes: Record<string, number>;
}

const MINOR_TYPES = ['Scavenge', 'MinorMarkSweep', 'MinorMarkCompact'];

/** Calls fn(i) for i in [from, to). One shared loop, warmed up before every measurement. */
function repeat(fn: (i: number) => void, from: number, to: number): void {
  for (let i = from; i < to; i++) fn(i);
}

interface Window {
  bytes: number;
  gcTypes: Record<string, number>;
}

/** Heap octets allocated while `fn` runs over [from, to), and the GCs seen. */
function window(fn: (i: number) => void, from: number, to: number): Window {
  const profiler = new v8.GCProfiler();
  const h0 = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  repeat(fn, from, to);
  const h1 = v8.getHeapStatistics().used_heap_size;
  const records = profiler.stop()?.statistics ?? [];
  const gcTypes: Record<string, number> = {};
  let bytes = 0;
  let prevAfter = h0;
  for (const r of records) {
    gcTypes[r.gcType] = (gcTypes[r.gcType] ?? 0) + 1;
    bytes += r.beforeGC.heapStatistics.usedHeapSize - prevAfter;
    prevAfter = r.afterGC.heapStatistics.usedHeapSize;
  }
  return { bytes: bytes + h1 - prevAfter, gcTypes };
}

class Overhead {
  bytes = -1;
}
const overhead = new Overhead();
const noop = (_i: number): void => {};

/** The profiler's own cost per window, measured once on an empty function. */
function profilerOverhead(): number {
  if (overhead.bytes < 0) {
    let least = Infinity;
    for (let k = 0; k < 8; k++) least = Math.min(least, window(noop, 0, 1000).bytes);
    overhead.bytes = least;
  }
  return overhead.bytes;
}

/**
 * Runs `fn(i)` for `warmup` iterations untimed, then for `n` more in `rounds` rounds under the
 * GC profiler, and reports the V8-heap octets allocated per iteration and the GCs that ran.
 */
export function measureAlloc(fn: (i: number) => void, n: number, warmup = Math.min(n, 100_000), rounds = 4): AllocReport {
  const base = profilerOverhead();
  const parts = 8;
  for (let k = 0; k < parts; k++) repeat(fn, Math.floor((warmup * k) / parts), Math.floor((warmup * (k + 1)) / parts));
  (globalThis as { gc?: () => void }).gc?.();
  const perRound = Math.max(1, Math.floor(n / rounds));
  const gcTypes: Record<string, number> = {};
  let total = 0;
  let least = Infinity;
  for (let k = 0; k < rounds; k++) {
    const w = window(fn, warmup + k * perRound, warmup + (k + 1) * perRound);
    const bytes = Math.max(0, w.bytes - base);
    total += bytes;
    if (bytes < least) least = bytes;
    for (const [t, c] of Object.entries(w.gcTypes)) gcTypes[t] = (gcTypes[t] ?? 0) + c;
  }
  let minor = 0;
  let all = 0;
  for (const [t, c] of Object.entries(gcTypes)) {
    all += c;
    if (MINOR_TYPES.includes(t)) minor += c;
  }
  const iterations = perRound * rounds;
  return {
    iterations,
    allocatedBytes: total,
    bytesPerIteration: least / perRound,
    meanBytesPerIteration: total / iterations,
    minorGcs: minor,
    majorGcs: all - minor,
    gcTypes,
  };
}

/**
 * An octets-per-iteration figure at the method's resolution, 0.01 octet: what remains below it
 * is the profiler's own jitter (tens of octets per window), not the code under test. An
 * allocation of 16 octets once every 1000 iterations still shows (0.02).
 */
export function roundAlloc(bytesPerIteration: number): number {
  return Math.round(bytesPerIteration * 100) / 100;
}
