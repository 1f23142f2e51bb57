/**
 * The upload's progress line: a bar, octets done of the total, the rate, and the time left.
 * Redrawn in place (at most every 200 ms) when stderr is a terminal; otherwise one plain line
 * every 10% so logs stay readable.
 *
 *   [##########..........]  48%  412.0 KiB / 858.5 KiB  10.9 KiB/s  41 s left
 */

const BAR = 20;

function kib(octets: number): string {
  return octets >= 1024 * 1024 ? `${(octets / 1024 / 1024).toFixed(2)} MiB` : `${(octets / 1024).toFixed(1)} KiB`;
}

/** "41 s", "3 min 05 s". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The progress line for `done` of `total` octets after `elapsedMs`. */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * BAR);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const left = rate > 0 ? (total - done) / rate : Infinity;
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ` +
    `${kib(done)} / ${kib(total)}  ${rate > 0 ? `${kib(rate)}/s` : '-'}  ${done >= total ? 'done' : `${duration(left)} left`}`;
}

export class Progress {
  private readonly total: number;
  private readonly started = Date.now();
  private readonly tty: boolean;
  private readonly write: (text: string) => void;
  private lastDraw = 0;
  private lastTenth = -1;
  private drawn = false;

  constructor(total: number, stream: { isTTY?: boolean; write(text: string): unknown } = process.stderr) {
    this.total = total;
    this.tty = stream.isTTY === true;
    this.write = (text) => {
      stream.write(text);
    };
  }

  update(done: number): void {
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 200 && done < this.total) return;
      this.lastDraw = now;
      this.write(`\r${progressLine(done, this.total, now - this.started)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor((done / Math.max(1, this.total)) * 10);
    if (tenth !== this.lastTenth) {
      this.lastTenth = tenth;
      this.write(`${progressLine(done, this.total, now - this.started)}\n`);
    }
  }

  /** Ends the bar's line (terminal) so the next message starts on its own. */
  done(): void {
    if (this.drawn) this.write('\n');
    this.drawn = false;
  }
}
