/**
 * Counting allocations: exact octets that JavaScript allocated per iteration, with
 * `v8.GCProfiler`.
 *
 * What is counted, and why it is exact: an object that JavaScript code allocates lands in the
 * young generation (`new_space`, or `new_large_object_space` above about 128 KiB). Each
 * measured window is bracketed by two forced minor GCs (scavenges) while the profiler records:
 * the first empties the young generation's allocation area, the second records its size just
 * before it runs. The growth between the end of one GC and the start of the next, summed over
 * the window (any GC that V8 runs by itself in between is one more record), is every octet
 * allocated there. Nothing else reads the heap in between, so the only fixed cost is the
 * second `gc()` call itself (104 octets on Node 20), measured on an empty function and
 * subtracted.
 *
 * What is left out on purpose: the JIT. Code that V8 compiles or installs during the window
 * (a late optimisation on a background thread finishing, on-stack replacement) lands in
 * `code_space` and `old_space`, tens to hundreds of KB at a time and at moments that depend on
 * how busy the machine is. Counting the whole heap made an allocation-free loop read "50 040
 * octets" about one run in six on a loaded machine. Those octets are reported separately
 * (`jitBytes`) and never mixed into the figure. V8 allocates old-space objects directly from
 * JavaScript only for allocation sites whose objects survive (pretenuring), which short-lived
 * packet-path garbage never does.
 *
 * What remains is the one-off: a function that deoptimises runs in the interpreter until it is
 * optimised again, and the interpreter boxes numbers that optimised code keeps unboxed. That
 * shows in one round, not in every one. So the window is split into rounds and the figure is
 * the least-allocating round: an allocation on the packet path shows in every round (one
 * 16-octet box per round reads as 16), a deoptimisation in one.
 *
 * Needs `gc()`: node's `--expose-gc` (set in .mocharc.json and `npm run bench`); without the
 * flag it is switched on at run time.
 *
 * Harness code (support/): the allocation tests and the benches share it; src/ and
 * firmware-bridge/ never import it.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface AllocReport {
  /** Measured iterations (after warm-up), over all rounds. */
  iterations: number;
  /** Octets JavaScript allocated over all rounds. */
  allocatedBytes: number;
  /** Octets allocated in the least-allocating round (the steady-state figure; 0 when clean). */
  leastRoundBytes: number;
  /** Octets per iteration in the least-allocating round: the steady-state figure. */
  bytesPerIteration: number;
  /** Octets per iteration over all rounds (includes one-off deoptimisations). */
  meanBytesPerIteration: number;
  /** Octets the JIT added to code and old space during the rounds (not allocation by the code). */
  jitBytes: number;
  /** GCs V8 ran by itself during the rounds, the forced brackets left out. */
  minorGcs: number;
  majorGcs: number;
  /** Those GCs by V8's type name. */
  gcTypes: Record<string, number>;
}

type GcFunction = (options?: { type: 'minor' | 'major' }) => void;

const MINOR_TYPES = ['Scavenge', 'MinorMarkSweep', 'MinorMarkCompact'];
const YOUNG_SPACES = ['new_space', 'new_large_object_space'];
const MINOR: { type: 'minor' } = { type: 'minor' };

class State {
  gc: GcFunction | null = null;
  overhead = -1;
}
const state = new State();

function gcFunction(): GcFunction {
  if (state.gc === null) {
    const exposed = (globalThis as { gc?: GcFunction }).gc;
    if (typeof exposed === 'function') state.gc = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      state.gc = vm.runInNewContext('gc') as GcFunction;
    }
  }
  return state.gc;
}

interface SpaceRecord {
  heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }>;
  heapStatistics: { usedHeapSize: number };
}
interface GcRecord {
  gcType: string;
  beforeGC: SpaceRecord;
  afterGC: SpaceRecord;
}

function young(r: SpaceRecord): number {
  let n = 0;
  for (const s of r.heapSpaceStatistics) if (YOUNG_SPACES.includes(s.spaceName)) n += s.spaceUsedSize;
  return n;
}

/** Calls fn(i) for i in [from, to). One shared loop, warmed up before every measurement. */
function repeat(fn: (i: number) => void, from: number, to: number): void {
  for (let i = from; i < to; i++) fn(i);
}

interface Window {
  /** Young-generation octets allocated, the closing gc() call included. */
  young: number;
  /** Growth of the rest of the heap (JIT code, feedback, deoptimisation data). */
  other: number;
  /** GCs that ran between the two brackets. */
  gcTypes: Record<string, number>;
}

/** Octets allocated while `fn` runs over [from, to), between two forced scavenges. */
function window(gc: GcFunction, fn: (i: number) => void, from: number, to: number): Window {
  const profiler = new v8.GCProfiler();
  profiler.start();
  gc(MINOR);
  repeat(fn, from, to);
  gc(MINOR);
  const records = (profiler.stop()?.statistics ?? []) as unknown as GcRecord[];
  const gcTypes: Record<string, number> = {};
  let youngBytes = 0;
  let allBytes = 0;
  for (let k = 1; k < records.length; k++) {
    const r = records[k]!;
    const prev = records[k - 1]!;
    youngBytes += young(r.beforeGC) - young(prev.afterGC);
    allBytes += r.beforeGC.heapStatistics.usedHeapSize - prev.afterGC.heapStatistics.usedHeapSize;
    if (k < records.length - 1) gcTypes[r.gcType] = (gcTypes[r.gcType] ?? 0) + 1;
  }
  if (records.length < 2) throw new Error('measureAlloc: the GC profiler recorded no forced scavenge');
  return { young: youngBytes, other: Math.max(0, allBytes - youngBytes), gcTypes };
}

const noop = (_i: number): void => {};

/** The fixed cost of a window (the closing gc() call), measured once on an empty function. */
function windowOverhead(gc: GcFunction): number {
  if (state.overhead < 0) {
    let least = Infinity;
    for (let k = 0; k < 8; k++) least = Math.min(least, window(gc, noop, 0, 1000).young);
    state.overhead = least;
  }
  return state.overhead;
}

/**
 * Runs `fn(i)` for `warmup` iterations unmeasured (through the same loop, so it is compiled
 * before the window opens), then for `n` more in `rounds` rounds, and reports the octets
 * JavaScript allocated: `leastRoundBytes` is exact, 0 for allocation-free code.
 */
export function measureAlloc(fn: (i: number) => void, n: number, warmup = Math.min(n, 100_000), rounds = 4): AllocReport {
  const gc = gcFunction();
  const base = windowOverhead(gc);
  const parts = 8;
  for (let k = 0; k < parts; k++) repeat(fn, Math.floor((warmup * k) / parts), Math.floor((warmup * (k + 1)) / parts));
  const perRound = Math.max(1, Math.floor(n / rounds));
  const gcTypes: Record<string, number> = {};
  let total = 0;
  let least = Infinity;
  let jit = 0;
  for (let k = 0; k < rounds; k++) {
    const w = window(gc, fn, warmup + k * perRound, warmup + (k + 1) * perRound);
    const bytes = Math.max(0, w.young - base);
    total += bytes;
    jit += w.other;
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
    leastRoundBytes: least,
    bytesPerIteration: least / perRound,
    meanBytesPerIteration: total / iterations,
    jitBytes: jit,
    minorGcs: minor,
    majorGcs: all - minor,
    gcTypes,
  };
}

/**
 * Octets JavaScript allocated while `fn(0)` ran once, between two forced scavenges, less the
 * fixed cost of the window: the same exact method as `measureAlloc`, for a step that cannot run
 * in a loop of its own (one turn of a system that also does asynchronous work between turns).
 */
export function allocatedBy(fn: (i: number) => void): number {
  return stepAlloc(fn).bytes;
}

/**
 * `allocatedBy`, and the octets V8 added to code and old space in the same window (`jitBytes`):
 * non-zero when a function was compiled or its optimised code installed while `fn` ran, which
 * also allocates a few hundred young octets that are V8's, not `fn`'s. The growth of V8's code
 * statistics (`code_and_metadata_size`) counts too: an install of code compiled on a background
 * thread need not grow the heap's used size in the window (seen: 168-2 760 young octets with
 * the code 3-6 KB larger and old space unchanged).
 */
export function stepAlloc(fn: (i: number) => void): { bytes: number; jitBytes: number } {
  const gc = gcFunction();
  const base = windowOverhead(gc);
  const code0 = v8.getHeapCodeStatistics().code_and_metadata_size;
  const w = window(gc, fn, 0, 1);
  const codeGrowth = Math.max(0, v8.getHeapCodeStatistics().code_and_metadata_size - code0);
  return { bytes: Math.max(0, w.young - base), jitBytes: w.other + codeGrowth };
}

/**
 * An octets-per-iteration figure for a table, to 0.01 octet. The measurement itself is exact
 * (see `leastRoundBytes`); this only keeps the printed figure short.
 */
export function roundAlloc(bytesPerIteration: number): number {
  return Math.round(bytesPerIteration * 100) / 100;
}
