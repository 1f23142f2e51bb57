/**
 * The summary table printed once at the end of a run that loaded any hardware suite: one row per
 * check with where it ran (a real port, or a virtual pty with NO HARDWARE), its result and its
 * figures, under a banner that says plainly whether any hardware was used.
 */

export type Outcome = 'pass' | 'FAIL' | 'skipped';

export interface Row {
  suite: string;
  check: string;
  /** "/dev/ttyUSB0" or "virtual pty (NO HARDWARE)". */
  where: string;
  hardware: boolean;
  outcome: Outcome;
  figures: string;
}

const rows: Row[] = [];
const notes: string[] = [];
let registered = false;

/** Adds a row (call once per check, pass or fail). */
export function record(row: Row): void {
  rows.push(row);
}

/** Adds a line under the table (the lengths used, what was skipped and why). Kept once. */
export function note(line: string): void {
  if (!notes.includes(line)) notes.push(line);
}

/** Rows recorded so far (for tests). */
export function recorded(): readonly Row[] {
  return rows;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The banner and table as text. */
export function formatReport(all: readonly Row[] = rows, extra: readonly string[] = notes): string {
  const anyHardware = all.some((r) => r.hardware);
  const ports = [...new Set(all.filter((r) => r.hardware).map((r) => r.where))];
  const lines: string[] = [];
  lines.push('');
  if (!anyHardware) {
    lines.push('  hardware tests: NO HARDWARE was used. Every check below ran over virtual pty links with UART timing;');
    lines.push('  name a real port (TEST_PORT, TEST_PORT_A/TEST_PORT_B, TEST_PEER=firmware: see hw/README.md) to test a line.');
  } else {
    const virtual = all.some((r) => !r.hardware);
    lines.push(`  hardware tests: on ${ports.join(', ')}${virtual ? '; rows marked NO HARDWARE ran over a virtual pty' : ''}.`);
  }
  const headers = ['suite', 'check', 'where', 'result', 'figures'];
  const cells = all.map((r) => [r.suite, r.check, r.where, r.outcome, r.figures]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // The figures column is last and may be long: no padding needed for it.
  widths[4] = 0;
  const line = (c: string[]): string => `  ${c.map((x, i) => pad(x, widths[i]!)).join('  ')}`.trimEnd();
  lines.push('');
  lines.push(line(headers));
  lines.push(line(widths.map((w, i) => '-'.repeat(i === 4 ? 7 : w))));
  for (const c of cells) lines.push(line(c));
  if (extra.length > 0) {
    lines.push('');
    for (const n of extra) lines.push(`  ${n}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Registers (once) a root `after` hook that prints the table when the run ends. */
export function printAtEnd(): void {
  if (registered) return;
  registered = true;
  after(function () {
    if (rows.length > 0) process.stdout.write(`${formatReport()}\n`);
  });
}
