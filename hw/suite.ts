/**
 * Shared scaffolding of the hardware suites: a `check` is a mocha test that records a row in the
 * summary table (pass, FAIL with the diagnosis kind, or skipped) and, after a diagnosis that
 * makes the rest pointless (no port, nothing comes back), skips the suite's remaining checks
 * instead of repeating the same two-second wait and paragraph.
 */
import { HardwareProblem } from './diagnosis.ts';
import { record } from './report.ts';

/** What a suite's checks share. */
export interface SuiteState {
  suite: string;
  where: string;
  hardware: boolean;
  /** The diagnosis that stopped the suite, or null. */
  broken: HardwareProblem | null;
}

/** Kinds after which the other checks of the suite cannot tell anything new. */
const FATAL = new Set(['config', 'port', 'silent', 'peer-silent', 'peer-garbled', 'peer-no-reply']);

/**
 * Declares a check: `short` names it in the table, `title` in mocha's output; `body` returns the
 * figures for the table. `timeoutMs` may be a function,
 * evaluated when the check starts (lengths can depend on the line).
 */
export function check(state: SuiteState, short: string, title: string, timeoutMs: number | (() => number), body: () => Promise<string>): void {
  it(title, async function () {
    this.timeout(typeof timeoutMs === 'function' ? timeoutMs() : timeoutMs);
    if (state.broken !== null) {
      record({ suite: state.suite, check: short, where: state.where, hardware: state.hardware, outcome: 'skipped', figures: `after: ${state.broken.kind}` });
      this.skip();
    }
    try {
      const figures = await body();
      record({ suite: state.suite, check: short, where: state.where, hardware: state.hardware, outcome: 'pass', figures });
    } catch (error) {
      const kind = error instanceof HardwareProblem ? error.kind : 'error';
      record({ suite: state.suite, check: short, where: state.where, hardware: state.hardware, outcome: 'FAIL', figures: kind });
      if (error instanceof HardwareProblem && FATAL.has(error.kind)) state.broken = error;
      throw error;
    }
  });
}

/** Declares a check that cannot run in this setup: mocha shows it pending, the table says why. */
export function pendingCheck(state: SuiteState, short: string, title: string, why: string): void {
  it(`${title} (${why})`, function () {
    record({ suite: state.suite, check: short, where: state.where, hardware: state.hardware, outcome: 'skipped', figures: why });
    this.skip();
  });
}

/**
 * Registers the suite's before/after hooks: check the configuration, open the line (a failure is
 * recorded as a row and marks the suite broken), close it afterwards. Returns the line's getter,
 * valid inside checks.
 */
export function openLineHooks<L extends { close(): Promise<void> }>(state: SuiteState, configError: string | null, open: () => Promise<L>): () => L {
  let line: L | null = null;
  before(async function () {
    this.timeout(30_000);
    try {
      if (configError !== null) throw new HardwareProblem('config', configError);
      line = await open();
    } catch (error) {
      recordSetupFailure(state, error);
      throw error;
    }
  });
  after(async function () {
    this.timeout(10_000);
    await line?.close();
  });
  return () => line!;
}

/** Records the failure of a suite's set-up (the port would not open) as a row. */
export function recordSetupFailure(state: SuiteState, error: unknown): void {
  const kind = error instanceof HardwareProblem ? error.kind : 'error';
  record({ suite: state.suite, check: 'open the line', where: state.where, hardware: state.hardware, outcome: 'FAIL', figures: kind });
  if (error instanceof HardwareProblem) state.broken = error;
}

/** "11 498" style: thin grouping for the table. */
export function grouped(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Octets as "1 MiB", "32 KiB" or "512 octets". */
export function octetsText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n >> 10} KiB`;
  return `${grouped(n)} octets`;
}
