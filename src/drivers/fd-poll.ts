/**
 * FdPoll: readiness of a raw file descriptor (pty master, TUN) on Node's own event loop.
 *
 * It wraps `koffi.node.poll`, a libuv `uv_poll_t` (epoll on Linux), so waiting costs no thread
 * and no CPU: the callback runs on the main thread when the fd is readable or writable, and the
 * actual read/write are plain non-blocking libc calls there. Measured alternatives, and why not:
 * - `fs.read` on the libuv threadpool blocks one of its 4 threads per fd for as long as the fd
 *   is idle (a pty pair and a TUN would starve `fs` and `dns`) and cannot be cancelled;
 *   `koffi.func.async(poll)` has the same cost (it also runs on that threadpool).
 * - `new tty.ReadStream(masterFd)` works for a pty master (all 256 octet values arrive), but it
 *   cannot tell when a full pty becomes writable again and does not accept a TUN fd.
 *
 * uv_poll is level-triggered: while the fd stays readable the callback repeats, so a reader
 * must drain to EAGAIN or drop its read interest (`set(false, …)`) when it cannot take more,
 * and must stop polling on hangup (a pty master whose slave is closed reads EIO forever).
 *
 * `koffi.node.poll` is not yet documented by koffi (added in 2.15, "might change"); its actual
 * callback is `(status, { readable, writable, disconnect })`. Everything that depends on it is
 * in this file; koffi is pinned in package.json.
 */
import koffi from 'koffi';

interface PollEvents {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

interface PollOptions {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

interface PollHandle {
  start(options: PollOptions, callback: (status: number, events: PollEvents) => void): void;
  stop(): void;
  close(): void;
}

type PollFunction = (fd: number, options: PollOptions, callback: (status: number, events: PollEvents) => void) => PollHandle | null;

/**
 * Called on the main thread when the fd is ready. `status` is 0 or a negative libuv error
 * (the fd became invalid); `readable`/`writable` say which interest fired.
 */
export type FdReadyCallback = (status: number, readable: boolean, writable: boolean) => void;

export class FdPoll {
  readonly fd: number;
  private handle: PollHandle | null = null;
  private readable = false;
  private writable = false;
  private readonly onReady: FdReadyCallback;
  private readonly callback: (status: number, events: PollEvents) => void;

  /** Watches nothing until `set` asks for read or write readiness. */
  constructor(fd: number, onReady: FdReadyCallback) {
    this.fd = fd;
    this.onReady = onReady;
    this.callback = (status, events) => this.onReady(status, events.readable, events.writable);
  }

  /** Sets the interest; starts, changes or stops the uv_poll only when it differs from now. */
  set(readable: boolean, writable: boolean): void {
    if (readable === this.readable && writable === this.writable) return;
    this.readable = readable;
    this.writable = writable;
    if (!readable && !writable) {
      if (this.handle !== null) this.handle.stop();
      return;
    }
    const options: PollOptions = { readable, writable, disconnect: false };
    if (this.handle === null) {
      const poll = (koffi as unknown as { node: { poll: PollFunction } }).node.poll;
      this.handle = poll(this.fd, options, this.callback);
      if (this.handle === null) throw new Error(`uv_poll on fd ${this.fd} failed`);
    } else {
      this.handle.start(options, this.callback);
    }
  }

  get wantsRead(): boolean {
    return this.readable;
  }

  get wantsWrite(): boolean {
    return this.writable;
  }

  /** Stops watching for good (call before closing the fd). */
  close(): void {
    this.readable = false;
    this.writable = false;
    if (this.handle !== null) {
      this.handle.close();
      this.handle = null;
    }
  }
}
