/**
 * SerialStreamLink: a ByteLink over npm `serialport`'s own stream, on every OS serialport runs
 * on (Linux, macOS, Windows). SerialLink (serial-link.ts) reads the port's fd through libc and is
 * Linux-only; this one touches neither libc nor koffi, so the userspace host side can run where
 * only serialport does (`COM3`, `/dev/tty.usbserial-*`).
 *
 * RX: chunks from the stream are copied into a fixed ring; when the ring is full the stream is
 * paused (the OS driver's buffer, then RTS/CTS if wired, holds the sender off) and resumed once
 * `read` made room. TX: `write` hands a copy to the stream while fewer than `txCapacity` octets
 * wait in it, and refuses (returns fewer) beyond that; the stream's write callbacks free the
 * budget and wake the owner. It allocates a Buffer per write and per chunk read (serialport's
 * stream does too): this is the portable path, not the zero-allocation one.
 *
 * Not covered by serialport on Linux (bindings-cpp issue #162): a hung-up tty may spin its read
 * loop instead of reporting the disconnect. On Linux, SerialLink is the one to use; this link
 * exists for the other OSes, and is exercised here over a pty.
 */
import { SerialPort } from 'serialport';
import { RingBuffer } from '../storage/ring-buffer.ts';
import { NEVER } from '../time.ts';
import type { DriverLink, DriverLinkStats, LinkClosed } from './link.ts';
import { ActivityListeners, ClosedSignal } from './link.ts';

/** The port could not be opened: `message` is one line saying why. */
export class SerialStreamError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'SerialStreamError';
    this.path = path;
  }
}

export interface SerialStreamLinkOptions {
  /** Line speed in baud (8N1). Defaults to 115200. */
  baud?: number;
  /** RTS/CTS hardware flow control. Defaults to false. */
  rtscts?: boolean;
  /** RX ring size in octets. Defaults to 65536. */
  rxCapacity?: number;
  /** Octets allowed to wait in the stream's write queue. Defaults to 16384. */
  txCapacity?: number;
}

export class SerialStreamLink implements DriverLink {
  readonly stats: DriverLinkStats = { rxBytes: 0, txBytes: 0, rxOverflow: 0, writeShort: 0 };
  readonly path: string;
  private readonly port: SerialPort;
  private readonly rx: RingBuffer;
  private readonly txCapacity: number;
  private txPending = 0;
  private refused = false;
  private paused = false;
  private readonly activity = new ActivityListeners();
  private readonly closedSignal = new ClosedSignal();
  private open = true;

  private constructor(path: string, port: SerialPort, options: SerialStreamLinkOptions) {
    this.path = path;
    this.port = port;
    this.rx = new RingBuffer(new Uint8Array(options.rxCapacity ?? 65536));
    this.txCapacity = options.txCapacity ?? 16384;
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', (e: Error) => this.lost(e.message));
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => this.lost(e?.message ?? 'port closed', e?.disconnected ?? true));
  }

  /** Opens `path` (`/dev/ttyUSB0`, `/dev/tty.usbserial-1410`, `COM3`). Rejects with a SerialStreamError saying why. */
  static open(path: string, options: SerialStreamLinkOptions = {}): Promise<SerialStreamLink> {
    const baud = options.baud ?? 115200;
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: baud, rtscts: options.rtscts ?? false, autoOpen: false });
      port.open((e) => {
        if (e) reject(new SerialStreamError(path, `cannot open ${path}: ${e.message}`));
        else resolve(new SerialStreamLink(path, port, options));
      });
    });
  }

  get closed(): Promise<LinkClosed> {
    return this.closedSignal.promise;
  }

  get isOpen(): boolean {
    return this.open;
  }

  onActivity(listener: () => void): void {
    this.activity.add(listener);
  }

  read(_now: number, dst: Uint8Array, off: number, len: number): number {
    const n = this.rx.dequeue(dst, off, len);
    if (this.paused && this.rx.window > 0) {
      this.paused = false;
      this.port.resume();
    }
    return n;
  }

  write(_now: number, src: Uint8Array, off: number, len: number): number {
    if (!this.open) return 0;
    const n = Math.min(len, this.txCapacity - this.txPending);
    if (n < len) {
      this.stats.writeShort++;
      this.refused = true;
    }
    if (n <= 0) return 0;
    this.txPending += n;
    this.port.write(Buffer.from(src.slice(off, off + n)), () => {
      this.txPending -= n;
      this.stats.txBytes += n;
      if (this.refused) {
        this.refused = false;
        this.activity.notify();
      }
    });
    return n;
  }

  pollAt(now: number): number {
    if (!this.rx.isEmpty()) return now;
    return NEVER;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.closedSignal.resolve({ disconnected: false, reason: 'closed' });
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    const n = this.rx.enqueue(chunk, 0, chunk.length);
    this.stats.rxBytes += n;
    // The stream delivered more than the ring holds: count it (a FIFO overrun), and pause.
    if (n < chunk.length) this.stats.rxOverflow += chunk.length - n;
    if (this.rx.window === 0 && !this.paused) {
      this.paused = true;
      this.port.pause();
    }
    this.activity.notify();
  }

  private lost(reason: string, disconnected = true): void {
    if (!this.open) return;
    this.open = false;
    this.closedSignal.resolve({ disconnected, reason });
    this.activity.notify();
  }
}
