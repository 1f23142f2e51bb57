/**
 * TimerFd: a one-shot timer with sub-millisecond precision for a HostLoop (Linux timerfd(2),
 * watched by FdPoll on Node's own loop, no thread).
 *
 * Why not setTimeout: libuv sleeps in epoll_wait with a timeout of whole milliseconds counted
 * from the moment it goes to sleep, so a chain of Node timers drifts through the millisecond: a
 * timer for deadline D (a whole millisecond of the loop's clock) fires anywhere in [D, D + 1),
 * 0.5 ms late on average and more when the loop's clock and libuv's are not aligned (measured
 * here: a HostLoop on setTimeout ran its deadlines 0.7-0.8 ms late, median). A paced serial line
 * (UartTimedLink) releases the last octet of a frame at such a deadline, so the lateness of both
 * ends adds to every round trip. A timerfd armed for the exact instant wakes within the kernel's
 * timer slack (50 µs by default).
 *
 * One FFI call arms it (timerfd_settime, a relative time: no clock is read here), and nothing
 * is allocated per arming. An expiry is not read back (a read(2) per wake-up, each costing tens
 * of µs on a virtual machine): the fd stays readable until the owner arms or disarms the timer
 * again, which the owner must do after every expiry (HostLoop does, at the end of the turn the
 * expiry started), or the callback repeats on every turn of Node's loop. The uv_poll handle keeps
 * Node's loop alive while the timer is open, armed or not, as a pending setTimeout would.
 */
import { FdPoll } from './fd-poll.ts';
import type { LoopTimer } from './host-loop.ts';
import { CLOCK_MONOTONIC, ITIMERSPEC_SIZE, libc, SystemCallError, TFD_CLOEXEC, TFD_NONBLOCK } from './libc.ts';

export class TimerFd implements LoopTimer {
  readonly fd: number;
  /** it_interval (zero: one-shot) and it_value, as 32-bit halves of the four 64-bit fields (little-endian). */
  private readonly spec = new Int32Array(ITIMERSPEC_SIZE / 4);
  private readonly poller: FdPoll;
  private readonly onFire: () => void;
  private open = true;

  /** Creates the timer, disarmed. Throws SystemCallError where timerfd is missing (not Linux). */
  constructor(onFire: () => void) {
    const c = libc();
    const fd = c.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) throw new SystemCallError('timerfd_create', c.errno());
    this.fd = fd;
    this.onFire = onFire;
    this.poller = new FdPoll(fd, (status, readable) => this.onReady(status, readable));
    this.poller.set(true, false);
  }

  arm(delayMs: number): void {
    if (!this.open) return;
    // A zero it_value would disarm: the shortest arming is 1 µs.
    const ns = delayMs >= 0.001 ? Math.round(delayMs * 1e6) : 1000;
    const sec = Math.floor(ns / 1e9);
    this.set(sec, ns - sec * 1e9);
  }

  disarm(): void {
    if (this.open) this.set(0, 0);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.poller.close();
    libc().close(this.fd);
  }

  private set(sec: number, nsec: number): void {
    const spec = this.spec;
    // it_interval stays 0; it_value.tv_sec and tv_nsec (both fit in the low 32 bits).
    spec[4] = sec;
    spec[5] = 0;
    spec[6] = nsec;
    spec[7] = 0;
    const c = libc();
    if (c.timerfd_settime(this.fd, 0, spec, null) < 0) throw new SystemCallError('timerfd_settime', c.errno());
  }

  private onReady(status: number, readable: boolean): void {
    if (!this.open || !readable) return;
    if (status < 0) throw new Error(`timerfd ${this.fd}: poll error ${status}`);
    this.onFire();
  }
}
