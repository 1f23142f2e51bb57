/**
 * Printing results: a table for people (`npm run bench`) or one JSON object for machines
 * (`npm run bench -- --json`). Both go to stdout and nothing else does.
 */
import type { Figure } from './types.ts';

/** A figure with where it came from and how to reproduce it. */
export interface Result extends Figure {
  /** The bench module that measured it. */
  bench: string;
  /** Shell command that reproduces it. */
  command: string;
}

/**
 * Whether `value` meets `target` (">= 4", "<= 0", "== 0", "> 1", "< 2", or a bare number meaning
 * "=="); undefined when there is no target or it cannot be read.
 */
export function meetsTarget(value: number, target: string | undefined): boolean | undefined {
  if (target === undefined) return undefined;
  const m = /^\s*(>=|<=|==|>|<|=)?\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(target);
  if (!m) return undefined;
  const bound = Number(m[2]);
  switch (m[1] ?? '==') {
    case '>=': return value >= bound;
    case '<=': return value <= bound;
    case '>': return value > bound;
    case '<': return value < bound;
    default: return value === bound;
  }
}

/** A number with about three significant digits; integers as they are. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

/** The table: one row per figure, columns padded to the widest cell. */
export function formatTable(results: readonly Result[]): string {
  const header = ['figure', 'value', 'unit', 'target', 'met', 'reference / notes', 'reproduce'];
  const rows = results.map((r) => {
    const met = meetsTarget(r.value, r.target);
    return [r.key, formatValue(r.value), r.unit, r.target ?? '', met === undefined ? '' : met ? 'yes' : 'no', r.note ?? '', r.command];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** One JSON object: figure key -> { value, unit, target, met, note, bench, command }. */
export function formatJson(results: readonly Result[]): string {
  const out: Record<string, unknown> = {};
  for (const r of results) {
    out[r.key] = {
      value: r.value,
      unit: r.unit,
      ...(r.target !== undefined ? { target: r.target, met: meetsTarget(r.value, r.target) ?? null } : {}),
      ...(r.note !== undefined ? { note: r.note } : {}),
      bench: r.bench,
      command: r.command,
    };
  }
  return JSON.stringify(out, null, 2) + '\n';
}
