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
 *
 * Wake-ups cost more than the octets they bring (on the virtual machine the benchmarks run on,
 * 100-250 µs of CPU each, whatever they carry), and a serial line delivers octets in small
 * chunks: a USB adapter every millisecond (its latency timer), a paced pty likewise, a UART at its
 * FIFO threshold. Two options coalesce them, as a NIC's interrupt moderation and Linux's NAPI do:
 * - `wakeOn` (SLIP's END): the owner is woken once per complete frame, not per chunk;
 * - `busyOctets`: once a burst of that many octets has arrived (chunks less than BURST_GAP_MS
 *   apart: a stream, not a ping or an ACK now and then), the line is busy: the link stops
 *   listening for each chunk and reads everything there is once every `busyPollMs` instead,
 *   from the owner's own turns (`pollAt` says when; `read` and `pollAt` read). A periodic read
 *   that finds the line silent goes back to listening. A frame that arrives on a busy line waits
 *   up to `busyPollMs`; on a quiet line nothing waits. `batchAt` tells the owner when the next
 *   periodic read is, so it can do all its work then (HostLoopOptions.batchedBy).
 * A tty hands over at most its line discipline's buffer (4 KiB for N_TTY) per read; the rest
 * follows from the kernel's flip buffers straight after. So a periodic read goes on reading while
 * the reads come back full (`busyFullOctets` or more) and stops at the first short one: at 3 Mbaud
 * a 20 ms period brings 6 000 octets in two reads. A periodic read that brings `busyBatchOctets`
 * or more is taken as a line that outruns the period (an unpaced pty, a faster line): it is
 * then read on arrival, where each wake-up already carries a full read.
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
  /**
   * Interrupt coalescing under load (NAPI): octets in one burst after which the link stops
   * waking per chunk and reads every `busyPollMs` instead, until such a read finds nothing. The
   * owner must honour `pollAt` (HostLoop does). Defaults to 0: never (wake on every chunk).
   */
  busyOctets?: number;
  /** While busy, the period of the reads, ms of the owner's clock. Defaults to 10. */
  busyPollMs?: number;
  /**
   * A read(2) that brings at least this many octets is full: the tty had more than one read hands
   * over (N_TTY: 4 KiB). Listening, such a chunk means the line outruns any burst counting (an
   * unpaced pty, a fast adapter) and does not make it busy; while busy, the periodic read reads
   * again after it. Defaults to 3072 (3/4 of N_TTY's read buffer).
   */
  busyFullOctets?: number;
  /**
   * A periodic read that brings at least this many octets means the line delivers more than a
   * period should carry: the line goes back to listening, where every wake-up reads all there
   * is. Defaults to 12288 (four full reads).
   */
  busyBatchOctets?: number;
  /** The clock that times the gaps between chunks, ms (fractional; a test passes a virtual one). Defaults to performance.now. */
  clock?: () => number;
}

/** Defaults of FdLinkOptions (`name`: "fd <n>"). */
export const DEFAULT_FD_LINK_OPTIONS: Readonly<Required<Omit<FdLinkOptions, 'name'>>> = Object.freeze({
  rxCapacity: 65536,
  txCapacity: 16384,
  closeFd: true,
  wakeOn: -1,
  busyOctets: 0,
  busyPollMs: 10,
  busyFullOctets: 3072,
  busyBatchOctets: 12288,
  clock: () => performance.now(),
});

/** Octet counters of an FdLink, and how its reads were woken. */
export interface FdLinkStats extends DriverLinkStats {
  /** Readiness callbacks that read octets (one wake-up of the process each). */
  rxWakeups: number;
  /** Reads made from the owner's turns while the line was busy. */
  busyReads: number;
  /** Times the line turned busy (see `busyOctets`). */
  busySpells: number;
}

const GONE = 'the other end closed or the device went away';

/**
 * A gap between chunks longer than this (ms) ends a burst: longer than a paced pty's or a USB
 * adapter's 1 ms between the chunks of one stream (with some lateness), shorter than the gaps
 * between the ACKs of a transfer going the other way or between pings.
 */
export const BURST_GAP_MS = 3;

/** Octets moved per read(2)/write(2) call at most. */
const CHUNK = 16384;

export class FdLink implements DriverLink {
  readonly fd: number;
  readonly name: string;
  readonly stats: FdLinkStats = { rxBytes: 0, txBytes: 0, rxOverflow: 0, writeShort: 0, rxWakeups: 0, busyReads: 0, busySpells: 0 };
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
  private readonly busyOctets: number;
  private readonly busyPollMs: number;
  private readonly busyFullOctets: number;
  private readonly busyBatchOctets: number;
  private readonly clock: () => number;
  private open = true;
  /** A write was cut short and the ring has not had room since (for pollAt). */
  private refused = false;
  /** The last drain met `wakeOn` (or the ring half full). */
  private wakeHit = false;
  /** Octets of the current burst and when its last chunk came (`clock` ms). */
  private burst = 0;
  private lastChunkAt = -Infinity;
  /** The line is busy: no read interest, reads from `read`/`pollAt` every `busyPollMs`. */
  private busy = false;
  /** While busy, the next read (owner's ms); -1 until the owner's clock is first seen. */
  private nextBusyRead = -1;

  /**
   * Takes over `fd` (sets O_NONBLOCK on it) and starts reading. The fd must support poll(2)
   * (a tty, pty, pipe or socket).
   */
  constructor(fd: number, options: FdLinkOptions = {}) {
    this.fd = fd;
    this.name = options.name ?? `fd ${fd}`;
    this.closeFd = options.closeFd ?? DEFAULT_FD_LINK_OPTIONS.closeFd;
    this.wakeOn = options.wakeOn ?? DEFAULT_FD_LINK_OPTIONS.wakeOn;
    this.busyOctets = options.busyOctets ?? DEFAULT_FD_LINK_OPTIONS.busyOctets;
    this.busyPollMs = options.busyPollMs ?? DEFAULT_FD_LINK_OPTIONS.busyPollMs;
    this.busyFullOctets = options.busyFullOctets ?? DEFAULT_FD_LINK_OPTIONS.busyFullOctets;
    this.busyBatchOctets = options.busyBatchOctets ?? DEFAULT_FD_LINK_OPTIONS.busyBatchOctets;
    this.clock = options.clock ?? DEFAULT_FD_LINK_OPTIONS.clock;
    if (!(Number.isInteger(this.busyOctets) && this.busyOctets >= 0)) throw new RangeError(`FdLink: busyOctets must be an integer >= 0, got ${this.busyOctets}`);
    if (!(Number.isInteger(this.busyPollMs) && this.busyPollMs >= 1)) throw new RangeError(`FdLink: busyPollMs must be an integer >= 1, got ${this.busyPollMs}`);
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

  /** True while the line is busy: read every `busyPollMs` from the owner's turns, not on arrival. */
  get isBusy(): boolean {
    return this.busy;
  }

  /** While the line is busy, when the next periodic read is due (owner's ms); otherwise -1. */
  get batchAt(): number {
    return this.busy ? this.nextBusyRead : -1;
  }

  onActivity(listener: () => void): void {
    this.activity.add(listener);
  }

  read(now: number, dst: Uint8Array, off: number, len: number): number {
    if (this.busy) this.pollBusy(now);
    const got = this.rx.dequeue(dst, off, len);
    // The ring had filled and reading had stopped: there is room again.
    if (got > 0 && this.open && !this.busy && !this.poller.wantsRead) this.poller.set(true, this.poller.wantsWrite);
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

  /** `now` with octets to read or room for a refused writer; while busy, the next periodic read; else NEVER. */
  pollAt(now: number): number {
    if (this.busy) this.pollBusy(now);
    if (!this.rx.isEmpty()) return now;
    if (this.refused && !this.tx.isFull()) return now;
    return this.busy ? this.nextBusyRead : NEVER;
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
    if (readable) {
      const got = this.drainFd();
      if (got > 0) {
        this.stats.rxWakeups++;
        if (this.wakeHit) progressed = true;
        if (this.busyOctets > 0 && this.open && this.countBurst(got)) progressed = true;
      }
    }
    if (!this.open) return;
    if (writable) {
      this.flush();
      // A refused writer can now be accepted again.
      if (this.refused && !this.tx.isFull()) progressed = true;
    }
    if (progressed) this.activity.notify();
  }

  /**
   * A chunk of `got` octets arrived: adds it to the burst, and when the burst reaches
   * `busyOctets` turns the line busy (stops read interest; the owner's turns read from now on).
   * True if the owner must be woken to learn of it.
   */
  private countBurst(got: number): boolean {
    const t = this.clock();
    if (t - this.lastChunkAt > BURST_GAP_MS) this.burst = 0;
    this.lastChunkAt = t;
    if (got >= this.busyFullOctets) {
      // A full read: the line outruns the reader already, so each wake-up carries all a read
      // can; reading on a period would only cap the rate. Not a burst of small chunks.
      this.burst = 0;
      return false;
    }
    this.burst += got;
    if (this.burst < this.busyOctets) return false;
    this.busy = true;
    this.burst = 0;
    this.nextBusyRead = -1;
    this.stats.busySpells++;
    this.poller.set(false, this.poller.wantsWrite);
    return true;
  }

  /**
   * While busy: reads everything there is when the period is up; a read that finds the line
   * silent (and the ring not full) ends the busy spell and listens for arrivals again.
   */
  private pollBusy(now: number): void {
    if (this.nextBusyRead < 0) {
      this.nextBusyRead = now + this.busyPollMs;
      return;
    }
    if (now < this.nextBusyRead || !this.open) return;
    this.stats.busyReads++;
    const got = this.drainFd();
    if (!this.open) return;
    if ((got > 0 && got < this.busyBatchOctets) || this.rx.window === 0) {
      this.nextBusyRead = now + this.busyPollMs;
      return;
    }
    // Silent, or more than a period should bring (the line outruns the period: listening reads
    // it faster): back to listening.
    this.busy = false;
    this.lastChunkAt = -Infinity;
    this.poller.set(true, this.poller.wantsWrite);
  }

  /**
   * Reads until the ring is full or, listening, EAGAIN; while busy until the first read that is
   * short of full (nothing more is there: the next periodic read takes what comes meanwhile;
   * a full read may have left the rest in the tty's flip buffers). Returns the
   * octets read; sets `wakeHit` if the owner should be woken (see `wakeOn`).
   * (Listening, stopping at the first short read saved a read(2) per wake-up, but left octets
   * unread after a serial port was reopened until the next timer: test/firmware/reopen.test.ts.)
   */
  private drainFd(): number {
    const c = libc();
    let total = 0;
    this.wakeHit = false;
    for (;;) {
      const room = this.rx.window;
      if (room === 0) {
        // Back pressure: stop reading until `read` makes room (level-triggered poll would spin).
        if (this.poller.wantsRead) this.poller.set(false, this.poller.wantsWrite);
        return total;
      }
      const want = room < CHUNK ? room : CHUNK;
      const n = c.read(this.fd, this.readScratch, want);
      if (n > 0) {
        this.rx.enqueue(this.readScratch, 0, n);
        this.stats.rxBytes += n;
        total += n;
        if (!this.wakeHit) this.wakeHit = this.wakeOn < 0 || this.rx.length * 2 >= this.rx.capacity || this.contains(this.wakeOn, n);
        if (this.busy && n < want && n < this.busyFullOctets) return total;
        continue;
      }
      if (n === 0) {
        this.shutdown({ disconnected: true, reason: `${this.name}: end of file: ${GONE}` });
        return total;
      }
      const errno = c.errno();
      if (errno === EAGAIN) return total;
      if (errno === EINTR) continue;
      this.shutdown({
        disconnected: true,
        reason: errno === EIO ? `${this.name}: hangup: ${GONE}` : `${this.name}: read failed: ${c.strerror(errno)}`,
      });
      return total;
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
    // No periodic reads of a closed fd (a stale `batchAt` would hold the owner's deadlines).
    this.busy = false;
    this.poller.close();
    if (this.closeFd) libc().close(this.fd);
    this.signal.resolve(why);
    // Wake the loop once more so it notices (pollAt stays NEVER; the owner watches `closed`).
    this.activity.notify();
  }
}
