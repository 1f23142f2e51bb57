/**
 * FdLink: a ByteLink over a raw, non-blocking file descriptor (a pty master or slave).
 *
 * Readiness comes from `FdPoll` (epoll on Node's loop, no thread); reads and writes are
 * non-blocking libc calls on the main thread. Received octets go into a fixed RX ring; when it
 * is full the link stops reading, so the kernel's pty buffer fills and the writer on the other
 * side is held back (nothing is lost, `rxOverflow` stays 0). Written octets go into a fixed TX
 * ring that is flushed at once and again whenever the fd becomes writable.
 *
 * A hangup (EIO or end of file: the other side of the pty closed) or an I/O error resolves
 * `closed` with `disconnected: true` and stops the link. Buffers are allocated once, at
 * construction; the I/O path allocates only what koffi and libuv allocate per callback.
 */
import type { DriverLink, DriverLinkStats, LinkClosed } from './link.ts';
import { ActivityListeners, ClosedSignal } from './link.ts';
import { FdPoll } from './fd-poll.ts';
import { EAGAIN, EINTR, EIO, libc, setNonBlocking } from './libc.ts';
import { RingBuffer } from '../storage/ring-buffer.ts';
import { NEVER } from '../time.ts';

export interface FdLinkOptions {
  /** RX ring size in octets. Defaults to 65536. */
  rxCapacity?: number;
  /** TX ring size in octets. Defaults to 16384 (see SerialLink on why not more). */
  txCapacity?: number;
  /** Close the fd when the link closes. Defaults to true. */
  closeFd?: boolean;
  /** Name used in `closed` reasons. Defaults to `fd <n>`. */
  name?: string;
  /**
   * Interrupt coalescing: wake the owner only when arriving octets include this value (SLIP's
   * END, so a wake comes once per complete frame, not once per read), or the ring is half full.
   * Defaults to -1: wake on every read.
   */
  wakeOn?: number;
}

/** Defaults of FdLinkOptions (`name`: "fd <n>"). */
export const DEFAULT_FD_LINK_OPTIONS: Readonly<Required<Omit<FdLinkOptions, 'name'>>> = Object.freeze({
  rxCapacity: 65536,
  txCapacity: 16384,
  closeFd: true,
  wakeOn: -1,
});

const GONE = 'the other end closed or the device went away';

/** Octets moved per read(2)/write(2) call at most. */
const CHUNK = 16384;

export class FdLink implements DriverLink {
  readonly fd: number;
  readonly name: string;
  readonly stats: DriverLinkStats = { rxBytes: 0, txBytes: 0, rxOverflow: 0, writeShort: 0 };
  readonly closed: Promise<LinkClosed>;
  private readonly signal = new ClosedSignal();
  private readonly activity = new ActivityListeners();
  private readonly rx: RingBuffer;
  private readonly tx: RingBuffer;
  private readonly readScratch: Uint8Array;
  private readonly writeScratch: Uint8Array;
  private readonly poller: FdPoll;
  private readonly closeFd: boolean;
  private readonly wakeOn: number;
  private open = true;
  /** A write was cut short and the ring has not had room since (for pollAt). */
  private refused = false;

  /**
   * Takes over `fd` (sets O_NONBLOCK on it) and starts reading. The fd must support poll(2)
   * (a tty, pty, pipe or socket).
   */
  constructor(fd: number, options: FdLinkOptions = {}) {
    this.fd = fd;
    this.name = options.name ?? `fd ${fd}`;
    this.closeFd = options.closeFd ?? DEFAULT_FD_LINK_OPTIONS.closeFd;
    this.wakeOn = options.wakeOn ?? DEFAULT_FD_LINK_OPTIONS.wakeOn;
    this.rx = new RingBuffer(new Uint8Array(options.rxCapacity ?? DEFAULT_FD_LINK_OPTIONS.rxCapacity));
    this.tx = new RingBuffer(new Uint8Array(options.txCapacity ?? DEFAULT_FD_LINK_OPTIONS.txCapacity));
    this.readScratch = new Uint8Array(CHUNK);
    this.writeScratch = new Uint8Array(CHUNK);
    this.closed = this.signal.promise;
    setNonBlocking(fd);
    this.poller = new FdPoll(fd, (status, readable, writable) => this.onReady(status, readable, writable));
    this.poller.set(true, false);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Octets received and not yet read. */
  get readable(): number {
    return this.rx.length;
  }

  /** Octets accepted by `write` and not yet handed to the OS. */
  get txPending(): number {
    return this.tx.length;
  }

  onActivity(listener: () => void): void {
    this.activity.add(listener);
  }

  read(_now: number, dst: Uint8Array, off: number, len: number): number {
    const got = this.rx.dequeue(dst, off, len);
    // The ring had filled and reading had stopped: there is room again.
    if (got > 0 && this.open && !this.poller.wantsRead) this.poller.set(true, this.poller.wantsWrite);
    return got;
  }

  write(_now: number, src: Uint8Array, off: number, len: number): number {
    if (!this.open) return 0;
    const accepted = this.tx.enqueue(src, off, len);
    if (accepted < len) {
      this.stats.writeShort++;
      this.refused = true;
    } else {
      this.refused = false;
    }
    if (accepted > 0) this.flush();
    return accepted;
  }

  pollAt(now: number): number {
    if (!this.rx.isEmpty()) return now;
    if (this.refused && !this.tx.isFull()) return now;
    return NEVER;
  }

  async close(): Promise<void> {
    this.shutdown({ disconnected: false, reason: `${this.name} closed` });
  }

  private onReady(status: number, readable: boolean, writable: boolean): void {
    if (!this.open) return;
    if (status < 0) {
      this.shutdown({ disconnected: true, reason: `${this.name}: poll error ${status}` });
      return;
    }
    let progressed = false;
    if (readable && this.drainFd()) progressed = true;
    if (!this.open) return;
    if (writable) {
      this.flush();
      // A refused writer can now be accepted again.
      if (this.refused && !this.tx.isFull()) progressed = true;
    }
    if (progressed) this.activity.notify();
  }

  /**
   * Reads until EAGAIN or the ring is full; true if the owner should be woken (see `wakeOn`).
   * (Stopping at the first short read saved a read(2) per wake-up, but left octets unread after
   * a serial port was reopened until the next timer: test/firmware/reopen.test.ts.)
   */
  private drainFd(): boolean {
    const c = libc();
    let any = false;
    for (;;) {
      const room = this.rx.window;
      if (room === 0) {
        // Back pressure: stop reading until `read` makes room (level-triggered poll would spin).
        this.poller.set(false, this.poller.wantsWrite);
        return any;
      }
      const want = room < CHUNK ? room : CHUNK;
      const n = c.read(this.fd, this.readScratch, want);
      if (n > 0) {
        this.rx.enqueue(this.readScratch, 0, n);
        this.stats.rxBytes += n;
        if (!any) any = this.wakeOn < 0 || this.rx.length * 2 >= this.rx.capacity || this.contains(this.wakeOn, n);
        continue;
      }
      if (n === 0) {
        this.shutdown({ disconnected: true, reason: `${this.name}: end of file: ${GONE}` });
        return any;
      }
      const errno = c.errno();
      if (errno === EAGAIN) return any;
      if (errno === EINTR) continue;
      this.shutdown({
        disconnected: true,
        reason: errno === EIO ? `${this.name}: hangup: ${GONE}` : `${this.name}: read failed: ${c.strerror(errno)}`,
      });
      return any;
    }
  }

  /** True if `readScratch[0..n)` holds `value` (a bounded scan: indexOf has no end limit). */
  private contains(value: number, n: number): boolean {
    const b = this.readScratch;
    for (let i = 0; i < n; i++) if (b[i] === value) return true;
    return false;
  }

  /** Writes the TX ring to the fd until it is empty or the fd would block. */
  private flush(): void {
    const c = libc();
    while (this.open && !this.tx.isEmpty()) {
      const n = this.tx.readAt(0, this.writeScratch, 0, CHUNK);
      const written = c.write(this.fd, this.writeScratch, n);
      if (written > 0) {
        this.tx.discard(written);
        this.stats.txBytes += written;
        continue;
      }
      const errno = written < 0 ? c.errno() : EAGAIN;
      if (errno === EINTR) continue;
      if (errno === EAGAIN) {
        this.poller.set(this.poller.wantsRead, true);
        return;
      }
      this.shutdown({
        disconnected: true,
        reason: errno === EIO ? `${this.name}: hangup: ${GONE}` : `${this.name}: write failed: ${c.strerror(errno)}`,
      });
      return;
    }
    if (this.open && this.poller.wantsWrite) this.poller.set(this.poller.wantsRead, false);
  }

  private shutdown(why: LinkClosed): void {
    if (!this.open) return;
    this.open = false;
    this.poller.close();
    if (this.closeFd) libc().close(this.fd);
    this.signal.resolve(why);
    // Wake the loop once more so it notices (pollAt stays NEVER; the owner watches `closed`).
    this.activity.notify();
  }
}
