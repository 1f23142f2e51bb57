/**
 * SerialLink: a ByteLink over a serial port (a UART, a USB-serial adapter, or a pty slave).
 *
 * npm `serialport` opens and configures the port: its binding sets raw 8N1 termios, any baud
 * (termios2/BOTHER for non-standard rates), RTS/CTS, an exclusive flock, and flushes. The
 * octets then move through an `FdLink` on the port's fd: epoll readiness on Node's loop and
 * non-blocking read(2)/write(2), into a fixed RX ring (64 KiB) and out of a fixed TX ring
 * (16 KiB by default: octets queued here are invisible to TCP's round-trip estimate, and at
 * 115200 baud 16 KiB is already 1.4 s).
 *
 * Why not serialport's stream for the octets: on Linux its read loop (bindings-cpp 13.0.0
 * `unixRead`) retries a 0-octet read at once, and a tty that has hung up (USB adapter
 * unplugged, pty master closed) reads 0 forever. Measured here: about 85% CPU, and the port
 * never reports the disconnect (serialport/bindings-cpp issue #162, unfixed). FdLink treats
 * EOF and EIO as a hangup and resolves `closed` with `disconnected: true` instead, so the
 * firmware can report it and wait for the port to come back (ReopeningSerialLink) rather than
 * spin or hang. It also avoids a Buffer and a Promise per read.
 *
 * RX back pressure: when the RX ring is full the link stops reading; the kernel's tty buffer
 * then fills and, with `rtscts`, the UART holds the sender off; without it the kernel drops
 * (as a UART FIFO overruns). `rxOverflow` therefore stays 0 here.
 *
 * Gotchas (found while choosing the serial library): the binding calls tcflush(TCIOFLUSH) on open, so
 * octets the peer sent before `open` resolved are lost; `SerialPort.list()` needs udevadm.
 * `lock` is flock(LOCK_EX|LOCK_NB): it holds for root too, but only against other lockers.
 */
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { DriverLink, LinkClosed } from './link.ts';
import { DEFAULT_FD_LINK_OPTIONS, FdLink, type FdLinkStats } from './fd-link.ts';

export interface SerialLinkOptions {
  /** Line speed in baud (8N1). Defaults to 115200. */
  baud?: number;
  /** RTS/CTS hardware flow control. Defaults to false. */
  rtscts?: boolean;
  /** Take an exclusive flock on the port so a second program cannot open it too. Defaults to true. */
  lock?: boolean;
  /** RX ring size in octets. Defaults to 65536. */
  rxCapacity?: number;
  /** TX ring size in octets. Defaults to 16384. */
  txCapacity?: number;
  /** Wake the owner only when this octet arrives (SLIP END): see FdLinkOptions.wakeOn. */
  wakeOn?: number;
  /** Interrupt coalescing under load: see FdLinkOptions.busyOctets (0: off). */
  busyOctets?: number;
  /** The read period while the line is busy, ms: see FdLinkOptions.busyPollMs. */
  busyPollMs?: number;
}

/** Defaults of SerialLinkOptions: 115200 8N1, no flow control, locked; FdLink's rings and wake-ups. */
export const DEFAULT_SERIAL_LINK_OPTIONS: Readonly<Required<SerialLinkOptions>> = Object.freeze({
  baud: 115200,
  rtscts: false,
  lock: true,
  rxCapacity: DEFAULT_FD_LINK_OPTIONS.rxCapacity,
  txCapacity: DEFAULT_FD_LINK_OPTIONS.txCapacity,
  wakeOn: DEFAULT_FD_LINK_OPTIONS.wakeOn,
  busyOctets: DEFAULT_FD_LINK_OPTIONS.busyOctets,
  busyPollMs: DEFAULT_FD_LINK_OPTIONS.busyPollMs,
});

/** Why opening a serial port failed. `code` is stable; `message` is one line for a user. */
export type SerialErrorCode = 'ENOENT' | 'EBUSY' | 'EACCES' | 'EINVAL' | 'EIO';

export class SerialError extends Error {
  readonly code: SerialErrorCode;
  readonly path: string;
  constructor(code: SerialErrorCode, path: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SerialError';
    this.code = code;
    this.path = path;
  }
}

/** What SerialLink needs of the opened binding port (bindings-cpp LinuxPortBinding). */
interface BindingPort {
  readonly fd: number | null;
  close(): Promise<void>;
}

export class SerialLink implements DriverLink {
  readonly path: string;
  readonly baud: number;
  readonly closed: Promise<LinkClosed>;
  private readonly port: BindingPort;
  private readonly link: FdLink;
  private released: Promise<void> | null = null;

  /** Use `SerialLink.open`. */
  private constructor(port: BindingPort, fd: number, path: string, baud: number, options: SerialLinkOptions) {
    this.port = port;
    this.path = path;
    this.baud = baud;
    this.link = new FdLink(fd, {
      // The binding owns the fd and closes it.
      closeFd: false,
      name: `serial port ${path}`,
      rxCapacity: options.rxCapacity ?? DEFAULT_SERIAL_LINK_OPTIONS.rxCapacity,
      txCapacity: options.txCapacity ?? DEFAULT_SERIAL_LINK_OPTIONS.txCapacity,
      wakeOn: options.wakeOn ?? DEFAULT_SERIAL_LINK_OPTIONS.wakeOn,
      busyOctets: options.busyOctets ?? DEFAULT_SERIAL_LINK_OPTIONS.busyOctets,
      busyPollMs: options.busyPollMs ?? DEFAULT_SERIAL_LINK_OPTIONS.busyPollMs,
    });
    this.closed = this.link.closed.then(async (why) => {
      // FdLink has stopped polling the fd; now the binding may close it.
      await this.release();
      return why.disconnected
        ? { disconnected: true, reason: why.reason.replace(`serial port ${path}: `, `serial port ${path} disconnected: `) }
        : { disconnected: false, reason: `serial port ${path} closed` };
    });
  }

  /**
   * Opens `path` at `baud` (8N1, raw). Rejects with a SerialError whose message says what to do:
   * a missing port, a port another program holds, or missing permission.
   */
  static async open(path: string, options: SerialLinkOptions = {}): Promise<SerialLink> {
    const baud = options.baud ?? DEFAULT_SERIAL_LINK_OPTIONS.baud;
    if (!Number.isInteger(baud) || baud <= 0) {
      throw new SerialError('EINVAL', path, `invalid baud rate ${baud}: use a positive integer such as 115200`);
    }
    if (!existsSync(path)) {
      throw new SerialError('ENOENT', path, `no such port ${path}: check the path (ls /dev/tty*)`);
    }
    let port: BindingPort;
    try {
      port = (await SerialPort.binding.open({
        path,
        baudRate: baud,
        rtscts: options.rtscts ?? DEFAULT_SERIAL_LINK_OPTIONS.rtscts,
        lock: options.lock ?? DEFAULT_SERIAL_LINK_OPTIONS.lock,
      })) as unknown as BindingPort;
    } catch (error) {
      throw openError(path, error as Error);
    }
    if (port.fd === null) {
      await port.close();
      throw new SerialError('EIO', path, `cannot open ${path}: the binding returned no file descriptor`);
    }
    return new SerialLink(port, port.fd, path, baud, options);
  }

  get stats(): FdLinkStats {
    return this.link.stats;
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  /** Octets received and not yet read. */
  get readable(): number {
    return this.link.readable;
  }

  /** Octets accepted by `write` and not yet handed to the OS. */
  get txPending(): number {
    return this.link.txPending;
  }

  /** While the line is busy (see busyOctets), when the next periodic read is due; otherwise -1. */
  get batchAt(): number {
    return this.link.batchAt;
  }

  onActivity(listener: () => void): void {
    this.link.onActivity(listener);
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.link.read(now, dst, off, len);
  }

  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.link.write(now, src, off, len);
  }

  pollAt(now: number): number {
    return this.link.pollAt(now);
  }

  /** Closes the port (TX octets not yet handed to the OS are dropped); resolves once the fd is closed. */
  async close(): Promise<void> {
    await this.link.close();
    await this.closed;
  }

  private release(): Promise<void> {
    if (this.released === null) {
      this.released = this.port.close().catch(() => undefined);
    }
    return this.released;
  }
}

/** Turns a bindings-cpp open error ("Error No such file or directory Cannot open /dev/x") into a SerialError with advice. */
function openError(path: string, err: Error): SerialError {
  const text = String(err?.message ?? err);
  if (/No such file or directory|ENOENT|No such device/i.test(text)) {
    return new SerialError('ENOENT', path, `no such port ${path}: check the path (ls /dev/tty*)`, err);
  }
  if (/Permission denied|EACCES|Operation not permitted|EPERM/i.test(text)) {
    return new SerialError(
      'EACCES',
      path,
      `permission denied: add your user to the dialout group: sudo usermod -aG dialout $USER, then log in again (${path})`,
      err,
    );
  }
  if (/Cannot lock port|Resource temporarily unavailable|Device or resource busy|EBUSY/i.test(text)) {
    return new SerialError('EBUSY', path, `port busy: another program has it open (${path}; find it with: fuser ${path})`, err);
  }
  if (/baud rate/i.test(text)) {
    return new SerialError('EINVAL', path, `${path}: ${text.replace(/^Error:?\s*/, '')}`, err);
  }
  return new SerialError('EIO', path, `cannot open ${path}: ${text.replace(/^Error:?\s*/, '')}`, err);
}
