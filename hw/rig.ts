/**
 * A rig: one HostLoop on the real clock that drives everything a suite has on its links (the
 * stacks, the board, a virtual echo on a pty master, the checks themselves), from the suite's
 * `before` to its `after`. One loop per suite means one clock, so UART timing (which keeps time
 * on the line as data) stays consistent across checks.
 *
 * Checks wait with `until(done, …)`: it resolves with how the wait ended ('done', 'timeout' or
 * 'idle' when a progress counter stood still too long) instead of throwing, so the caller can
 * explain what happened.
 */
import { HostLoop } from '../src/drivers/host-loop.ts';
import type { DriverLink } from '../src/drivers/link.ts';
import { NEVER, type Pollable } from '../src/time.ts';

export type WaitEnd = 'done' | 'timeout' | 'idle';

export interface WaitOptions {
  /** Give up after this long, ms. Defaults to no limit. */
  timeoutMs?: number;
  /** Give up when `progress()` has not changed for this long, ms. */
  idleMs?: number;
  /** A counter that grows while things move (octets received, say). */
  progress?: () => number;
}

interface Waiter {
  done: () => boolean;
  resolve: (end: WaitEnd) => void;
  reject: (error: unknown) => void;
}

export class Rig {
  readonly loop = new HostLoop();
  private readonly waiters: Waiter[] = [];
  private failure: unknown = null;
  private readonly stopped: Promise<void>;
  private readonly watcher: Pollable = {
    poll: () => {
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.done()) {
          this.waiters.splice(i, 1);
          w.resolve('done');
        }
      }
      return false;
    },
    pollAt: () => NEVER,
  };

  constructor() {
    this.loop.add(this.watcher);
    this.stopped = this.loop.run().catch((error: unknown) => {
      this.failure = error;
      for (const w of this.waiters.splice(0)) w.reject(error);
    });
  }

  /** The loop's clock, ms. */
  now(): number {
    return this.loop.now();
  }

  /** Wakes the loop whenever `link` has news. */
  watch(link: DriverLink): void {
    link.onActivity(() => this.loop.wake());
  }

  add(part: Pollable): void {
    this.loop.add(part);
  }

  remove(part: Pollable): void {
    this.loop.remove(part);
  }

  /** Waits until `done()` holds (checked after every loop pass), the time limit passes, or progress stalls. */
  until(done: () => boolean, options: WaitOptions = {}): Promise<WaitEnd> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<WaitEnd>((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      const finish = (end: WaitEnd): void => {
        for (const c of cleanups.splice(0)) c();
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(end);
      };
      const waiter: Waiter = {
        done,
        resolve: finish,
        reject: (error) => {
          for (const c of cleanups.splice(0)) c();
          reject(error);
        },
      };
      this.waiters.push(waiter);
      if (options.timeoutMs !== undefined) {
        const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
        cleanups.push(() => clearTimeout(timer));
      }
      if (options.idleMs !== undefined && options.progress !== undefined) {
        const progress = options.progress;
        const idleMs = options.idleMs;
        let last = progress();
        let lastChange = Date.now();
        const idleTimer = setInterval(() => {
          const value = progress();
          if (value !== last) {
            last = value;
            lastChange = Date.now();
          } else if (Date.now() - lastChange >= idleMs) {
            // One more look: the loop may not have run since the last change.
            finish(done() ? 'done' : 'idle');
          }
        }, 50);
        cleanups.push(() => clearInterval(idleTimer));
      }
      this.loop.wake();
    });
  }

  /** Sleeps `ms` of real time with the loop running. */
  async sleep(ms: number): Promise<void> {
    await this.until(() => false, { timeoutMs: ms });
  }

  /** Stops the loop (pending waits are left unresolved: call after the checks). */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.stopped;
  }
}
