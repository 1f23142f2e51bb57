/**
 * UART timing on ByteLinks: a line that carries exactly baud/10 octets per second of `now` time,
 * as an 8N1 serial line does (one start bit, eight data bits, one stop bit per octet).
 *
 * An octet written at `now` starts on the wire when the line is free (start = max(now,
 * lineFreeAt)) and takes 10 bit times, 10 000 / baud ms; the peer can read it from the first
 * integer `now` at or after it has been fully serialized. Time on the line is kept exactly, as
 * whole ms plus a remainder in units of 1/baud ms, so no rounding drifts over a long run. Each
 * direction has a bounded FIFO (default 4096 octets, like a tty buffer): octets written and not
 * yet read by the peer; `write` returns what fit, so a slow reader pushes back.
 *
 * `UartLinkPair` and `UartLoopbackLink` are self-contained; `UartTimedLink` paces the writes of
 * another ByteLink (a pty, whose own speed is unlimited) to the same rate.
 *
 * Promises: fixed memory from construction, no allocation per call, no clock: `now` is handed in.
 */
import type { ByteLink } from './device.ts';
import { NEVER } from '../time.ts';
import { copyBytes } from '../storage/copy.ts';

/** Octets per second at `baud` on 8N1. */
function octetRate(baud: number): number {
  return baud / 10;
}

/** One direction of a serial line: a FIFO whose octets become readable when their last bit is sent. */
class UartLine {
  readonly baud: number;
  private readonly octets: Uint8Array;
  /** Per queued octet: the first integer ms at which it is readable. */
  private readonly readyAt: Float64Array;
  private head = 0;
  count = 0;
  /** When the line finishes its last queued octet: `lineMs + lineFrac / baud` ms. */
  private lineMs = 0;
  private lineFrac = 0;
  /** A write was cut short and no full write has happened since. */
  refused = false;

  constructor(baud: number, fifo: number) {
    if (!Number.isInteger(baud) || baud < 1) throw new RangeError(`UART: baud must be a positive integer, got ${baud}`);
    if (!Number.isInteger(fifo) || fifo < 1) throw new RangeError(`UART: fifo must be a positive integer, got ${fifo}`);
    this.baud = baud;
    this.octets = new Uint8Array(fifo);
    this.readyAt = new Float64Array(fifo);
  }

  get capacity(): number {
    return this.octets.length;
  }

  /** Queues up to `len` octets from `src[off..]` at time `now`; returns how many fit. */
  write(now: number, src: Uint8Array, off: number, len: number): number {
    const cap = this.octets.length;
    const room = cap - this.count;
    const n = len < room ? len : room;
    if (n < len) this.refused = true;
    else this.refused = false;
    if (n === 0) return 0;
    const baud = this.baud;
    // The line is idle when its last octet finished at or before now: the next starts at now.
    if (this.lineMs < now || (this.lineMs === now && this.lineFrac === 0)) {
      this.lineMs = now;
      this.lineFrac = 0;
    }
    let ms = this.lineMs;
    let frac = this.lineFrac;
    let tail = this.head + this.count;
    if (tail >= cap) tail -= cap;
    for (let k = 0; k < n; k++) {
      // 8N1: 10 bit times per octet, a bit time being 1000 / baud ms = 1000 units of 1/baud ms.
      frac += 10000;
      if (frac >= baud) {
        const carry = Math.floor(frac / baud);
        ms += carry;
        frac -= carry * baud;
      }
      this.octets[tail] = src[off + k]!;
      this.readyAt[tail] = frac > 0 ? ms + 1 : ms;
      tail = tail + 1 === cap ? 0 : tail + 1;
    }
    this.lineMs = ms;
    this.lineFrac = frac;
    this.count += n;
    return n;
  }

  /** Octets at the head that are readable at `now` and contiguous in the FIFO storage. */
  private readyRun(now: number): number {
    const cap = this.octets.length;
    const toEnd = cap - this.head;
    const max = this.count < toEnd ? this.count : toEnd;
    let k = 0;
    while (k < max && this.readyAt[this.head + k]! <= now) k++;
    return k;
  }

  /** Copies up to `len` octets readable at `now` into `dst[off..]`; returns how many. */
  read(now: number, dst: Uint8Array, off: number, len: number): number {
    let done = 0;
    while (done < len) {
      let k = this.readyRun(now);
      if (k === 0) break;
      if (k > len - done) k = len - done;
      copyBytes(dst, off + done, this.octets, this.head, k);
      this.consume(k);
      done += k;
    }
    return done;
  }

  /** Writes octets readable at `now` into `sink` (as many as it accepts); returns how many. */
  drainInto(now: number, sink: ByteLink): number {
    let done = 0;
    for (;;) {
      const k = this.readyRun(now);
      if (k === 0) break;
      const accepted = sink.write(now, this.octets, this.head, k);
      this.consume(accepted);
      done += accepted;
      if (accepted < k) break;
    }
    return done;
  }

  private consume(n: number): void {
    this.head += n;
    if (this.head >= this.octets.length) this.head -= this.octets.length;
    this.count -= n;
  }

  /** When the head octet becomes readable, `now` if it already is, NEVER when the FIFO is empty. */
  nextReadyAt(now: number): number {
    if (this.count === 0) return NEVER;
    const at = this.readyAt[this.head]!;
    return at > now ? at : now;
  }
}

export interface UartOptions {
  /** Octets a direction holds (written, not yet read by the peer). Defaults to 4096. */
  fifo?: number;
}

/** Defaults of UartOptions. */
export const DEFAULT_UART_OPTIONS: Readonly<Required<UartOptions>> = Object.freeze({
  fifo: 4096,
});

/** One end of a UART line pair: writes into `tx`, reads from `rx`. */
class UartEnd implements ByteLink {
  private readonly tx: UartLine;
  private readonly rx: UartLine;

  constructor(tx: UartLine, rx: UartLine) {
    this.tx = tx;
    this.rx = rx;
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.rx.read(now, dst, off, len);
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.tx.write(now, src, off, len);
  }

  /** When the next octet completes for this end, or `now` when a refused write now finds room. */
  pollAt(now: number): number {
    if (this.tx.refused && this.tx.count < this.tx.capacity) return now;
    return this.rx.nextReadyAt(now);
  }
}

/**
 * Two ByteLinks joined by a simulated 8N1 serial line at `baud`: each direction carries exactly
 * `rate` = baud/10 octets per second of `now` time and holds at most `fifo` octets (default 4096).
 */
export class UartLinkPair {
  readonly a: ByteLink;
  readonly b: ByteLink;
  /** Octets per second in each direction: baud / 10. */
  readonly rate: number;

  constructor(baud: number, options: UartOptions = {}) {
    const fifo = options.fifo ?? DEFAULT_UART_OPTIONS.fifo;
    const aToB = new UartLine(baud, fifo);
    const bToA = new UartLine(baud, fifo);
    this.a = new UartEnd(aToB, bToA);
    this.b = new UartEnd(bToA, aToB);
    this.rate = octetRate(baud);
  }
}

/** A ByteLink whose output comes back to its own input after crossing a simulated line at `baud`. */
export class UartLoopbackLink implements ByteLink {
  /** Octets per second: baud / 10. */
  readonly rate: number;
  private readonly end: UartEnd;

  constructor(baud: number, options: UartOptions = {}) {
    const line = new UartLine(baud, options.fifo ?? DEFAULT_UART_OPTIONS.fifo);
    this.end = new UartEnd(line, line);
    this.rate = octetRate(baud);
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.end.read(now, dst, off, len);
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.end.write(now, src, off, len);
  }

  pollAt(now: number): number {
    return this.end.pollAt(now);
  }
}

/**
 * Paces the writes of another ByteLink to baud/10 octets per second (for a pty, which has no
 * baud of its own). Written octets wait in a FIFO (default 4096) and are passed to `inner` once
 * the simulated line has serialized them; reads go straight to `inner`.
 */
export class UartTimedLink implements ByteLink {
  readonly inner: ByteLink;
  /** Octets per second: baud / 10. */
  readonly rate: number;
  private readonly line: UartLine;

  constructor(inner: ByteLink, baud: number, options: UartOptions = {}) {
    this.inner = inner;
    this.line = new UartLine(baud, options.fifo ?? DEFAULT_UART_OPTIONS.fifo);
    this.rate = octetRate(baud);
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    this.line.drainInto(now, this.inner);
    return this.inner.read(now, dst, off, len);
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    this.line.drainInto(now, this.inner);
    return this.line.write(now, src, off, len);
  }

  /** The inner link's deadline, the next octet leaving the pacing FIFO, or `now` when a refused write finds room. */
  pollAt(now: number): number {
    this.line.drainInto(now, this.inner);
    const line = this.line;
    if (line.refused && line.count < line.capacity) return now;
    const inner = this.inner.pollAt(now);
    let paced = line.nextReadyAt(now);
    // Octets already due but refused by inner: inner's own deadline says when it takes more.
    if (paced === now) paced = NEVER;
    return inner < paced ? inner : paced;
  }
}
