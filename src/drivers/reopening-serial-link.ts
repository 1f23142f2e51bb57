/**
 * ReopeningSerialLink: a serial port that survives being unplugged. It is a DriverLink over a
 * SerialLink; when that link is lost (EOF or EIO: a USB-serial adapter pulled, a pty whose
 * other end closed) it says so (`onDown`), drops what is written meanwhile (as a cable that is
 * not there would; TCP retransmits it), and tries to open the same path again every
 * `retryMs` until it can (`onUp`). A device node that comes back under the same name (udev
 * re-creates /dev/ttyUSB0, a /dev/serial/by-id link, a symlink re-pointed) is taken up again, and
 * the stack above never notices more than a lossy pause: its connections carry on.
 *
 * Except a pty named as itself (/dev/pts/N): a pty whose other end closed never comes back, and
 * its number goes to the next pty anyone opens, a login's terminal as likely as our peer's.
 * Opening that again would take over someone else's terminal (most likely what failed a test
 * once: with a second suite running beside it, a firmware found its fresh /dev/pts/0 busy). Such a port is
 * given up (`onGone`) and stays down; a symlink to a pty is re-opened like any other name.
 *
 * `closed` resolves only after our own `close()`. The retry is a timer on Node's loop: this is a
 * driver, below the core, where clocks and I/O live.
 */
import { existsSync } from 'node:fs';
import { NEVER } from '../time.ts';
import type { FdLinkStats } from './fd-link.ts';
import { ActivityListeners, ClosedSignal, type DriverLink, type LinkClosed } from './link.ts';
import { PTY_SLAVE_NAME } from './pty.ts';
import { SerialLink, type SerialLinkOptions } from './serial-link.ts';

/** Counters of a ReopeningSerialLink, on top of the current port's counters (summed over every port opened). */
export interface ReopeningStats extends FdLinkStats {
  /** Times the port was lost. */
  disconnects: number;
  /** Times it was opened again. */
  reopens: number;
  /** Octets written while the port was gone (dropped). */
  droppedWhileDown: number;
}

export interface ReopeningOptions extends SerialLinkOptions {
  /** Between attempts to open the port again, ms. Defaults to 250. */
  retryMs?: number;
  /** The port was lost: `reason` says how. */
  onDown?: (reason: string) => void;
  /** The port is open again after `downMs` ms. */
  onUp?: (downMs: number) => void;
  /** The port was a pty named as itself (/dev/pts/N) and was lost: it is not opened again. */
  onGone?: (reason: string) => void;
}

export class ReopeningSerialLink implements DriverLink {
  readonly path: string;
  readonly closed: Promise<LinkClosed>;
  private readonly signal = new ClosedSignal();
  private readonly options: ReopeningOptions;
  private readonly listeners = new ActivityListeners();
  private readonly counters = { disconnects: 0, reopens: 0, droppedWhileDown: 0 };
  /** Octet counters of the ports closed before the current one. */
  private readonly past = { rxBytes: 0, txBytes: 0, rxOverflow: 0, writeShort: 0, rxWakeups: 0, busyReads: 0, busySpells: 0 };
  private link: SerialLink | null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closing = false;
  private downSince = 0;

  private constructor(path: string, link: SerialLink, options: ReopeningOptions) {
    this.path = path;
    this.options = options;
    this.link = link;
    this.closed = this.signal.promise;
    this.adopt(link);
  }

  /** Opens `path` (a missing or busy port at start is an error, as with SerialLink.open). */
  static async open(path: string, options: ReopeningOptions = {}): Promise<ReopeningSerialLink> {
    return new ReopeningSerialLink(path, await SerialLink.open(path, options), options);
  }

  /** True while the port is there. */
  get isOpen(): boolean {
    return this.link !== null && this.link.isOpen;
  }

  /** While the line is busy (see busyOctets), when the next periodic read is due; otherwise -1. */
  get batchAt(): number {
    return this.link !== null ? this.link.batchAt : -1;
  }

  get stats(): ReopeningStats {
    const s = this.link?.stats;
    const p = this.past;
    return {
      rxBytes: p.rxBytes + (s?.rxBytes ?? 0), txBytes: p.txBytes + (s?.txBytes ?? 0),
      rxOverflow: p.rxOverflow + (s?.rxOverflow ?? 0), writeShort: p.writeShort + (s?.writeShort ?? 0),
      rxWakeups: p.rxWakeups + (s?.rxWakeups ?? 0), busyReads: p.busyReads + (s?.busyReads ?? 0),
      busySpells: p.busySpells + (s?.busySpells ?? 0), ...this.counters,
    };
  }

  onActivity(listener: () => void): void {
    this.listeners.add(listener);
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.link !== null ? this.link.read(now, dst, off, len) : 0;
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    if (this.link !== null && this.link.isOpen) return this.link.write(now, src, off, len);
    this.counters.droppedWhileDown += len;
    return len;
  }

  pollAt(now: number): number {
    return this.link !== null ? this.link.pollAt(now) : NEVER;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const link = this.link;
    this.link = null;
    if (link !== null) {
      this.keepStats(link);
      await link.close();
    }
    this.signal.resolve({ disconnected: false, reason: `serial port ${this.path} closed` });
  }

  private adopt(link: SerialLink): void {
    link.onActivity(() => {
      if (this.link === link) this.listeners.notify();
    });
    void link.closed.then((why) => {
      if (this.closing || this.link !== link) return;
      this.keepStats(link);
      this.link = null;
      this.counters.disconnects++;
      this.downSince = Date.now();
      if (PTY_SLAVE_NAME.test(this.path)) {
        this.options.onGone?.(why.reason);
        return;
      }
      this.options.onDown?.(why.reason);
      this.retry();
    });
  }

  /** Adds a port's counters to those of the ports before it (it is being let go). */
  private keepStats(link: SerialLink): void {
    const s = link.stats;
    const p = this.past;
    p.rxBytes += s.rxBytes;
    p.txBytes += s.txBytes;
    p.rxOverflow += s.rxOverflow;
    p.writeShort += s.writeShort;
    p.rxWakeups += s.rxWakeups;
    p.busyReads += s.busyReads;
    p.busySpells += s.busySpells;
  }

  private retry(): void {
    if (this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closing) return;
      if (!existsSync(this.path)) {
        this.retry();
        return;
      }
      SerialLink.open(this.path, this.options).then(async (link) => {
        if (this.closing) {
          await link.close();
          return;
        }
        this.link = link;
        this.counters.reopens++;
        this.adopt(link);
        this.options.onUp?.(Date.now() - this.downSince);
        // Whatever waited for the line (the host loop) runs again.
        this.listeners.notify();
      }, () => this.retry());
    }, this.options.retryMs ?? 250);
  }
}
