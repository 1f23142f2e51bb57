/**
 * Progress of a long check, on stderr: a bar redrawn in place when stderr is a TTY, a plain line
 * at each quarter otherwise (from 3 s on, so short checks and CI logs stay quiet). HW_PROGRESS=0
 * turns it off.
 */
import { config } from './config.ts';

const BAR_WIDTH = 30;
/** Fastest redraw of the bar, ms. */
const REDRAW_MS = 100;
/** Without a TTY, a quarter is reported only once the check has run this long, ms. */
const QUIET_MS = 3000;

export class Progress {
  private readonly label: string;
  private readonly total: number;
  private readonly unit: string;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private lastDraw = 0;
  private lastQuarter = 0;
  private drawn = false;
  private readonly startedAt = Date.now();

  /** @param total the value at 100%; `unit` names what `update` counts (octets, s, frames). */
  constructor(label: string, total: number, unit: string) {
    this.label = label;
    this.total = total > 0 ? total : 1;
    this.unit = unit;
    this.tty = process.stderr.isTTY === true;
    this.enabled = config.progress !== false;
  }

  /** Shows `value` of `total` (cheap: redraws at most every 100 ms, plain lines only at quarters). */
  update(value: number): void {
    if (!this.enabled) return;
    const fraction = Math.min(1, Math.max(0, value / this.total));
    if (this.tty) {
      const t = Date.now();
      if (t - this.lastDraw < REDRAW_MS && fraction < 1) return;
      this.lastDraw = t;
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
      process.stderr.write(`\r      [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${this.label} ` +
        `(${formatCount(value)}/${formatCount(this.total)} ${this.unit})\x1b[K`);
      this.drawn = true;
      return;
    }
    const quarter = Math.floor(fraction * 4);
    // Checks that finish within a few seconds (the short virtual runs) print no lines at all.
    if (quarter > this.lastQuarter && quarter < 4 && Date.now() - this.startedAt >= QUIET_MS) {
      this.lastQuarter = quarter;
      process.stderr.write(`      ... ${this.label}: ${quarter * 25}% (${formatCount(value)}/${formatCount(this.total)} ${this.unit})\n`);
    }
  }

  /** Clears the bar (TTY) so the test reporter's line is not glued to it. */
  done(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
