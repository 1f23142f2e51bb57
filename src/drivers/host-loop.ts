/**
 * HostLoop: runs the stack on a real clock, the way a firmware main loop would.
 *
 * Each turn reads the clock once per pass and calls `poll(now)` on every part until a whole pass
 * makes no progress, then asks every part for `pollAt(now)` and sleeps until the earliest
 * deadline, or until an I/O source calls `wake()` (a driver's `onActivity`). No busy loop: with
 * nothing due and nothing arriving, the process sleeps (~0% CPU).
 *
 * The clock is integer milliseconds since the loop was created, monotonic (performance.now);
 * this is the only place slipstack reads a clock. Its whole milliseconds fall wherever the loop
 * happened to start, not on libuv's: aligned, the clocks of two processes on one machine (the
 * firmware and host connect over a pty) would tick together, and a paced line (UartTimedLink,
 * which starts a frame at the integer `now` and releases its last octet at the first integer ms
 * after it is serialized) would then lose a fixed ~0.4 ms per direction instead of 0 on average.
 * Timer slack: Node fires timers on whole milliseconds of its cached loop time, so a turn can
 * come up to 1 ms early; the parts then report the same deadline and the loop sleeps again for
 * the rest (no spinning).
 *
 * How it sleeps: by default one setTimeout, which fires anywhere in the millisecond after the
 * deadline (libuv sleeps whole milliseconds from the moment it goes to sleep). With `timer`
 * (the firmware passes a TimerFd) it arms that timer for the exact instant of the deadline
 * instead: what a paced serial line needs, whose every frame ends on such a deadline.
 * With `batchedBy` it does the work of a busy line in one wake-up per batch (see the option).
 *
 * Signals are the firmware's business: it calls `stop()`, and `run()`'s promise resolves.
 */
import { NEVER, type Pollable } from '../time.ts';

/** A precise one-shot timer for the loop's sleeps (TimerFd in timer-fd.ts). */
export interface LoopTimer {
  /** Calls the timer's callback once, `delayMs` (> 0, fractional ms) from now; replaces an earlier arming. */
  arm(delayMs: number): void;
  /** Cancels a pending expiry, and acknowledges one that came (see TimerFd: it repeats until armed or disarmed). */
  disarm(): void;
  /** Stops for good; no callback after this. */
  close(): void;
}

export interface HostLoopOptions {
  /** Passes per turn before yielding to I/O even if parts keep progressing. Defaults to 64. */
  maxPassesPerTurn?: number;
  /**
   * Makes the timer the loop sleeps on, given the callback to run when it expires (e.g.
   * `(fire) => new TimerFd(fire)`). Defaults to null: Node's setTimeout.
   */
  timer?: ((fire: () => void) => LoopTimer) | null;
  /**
   * A link that reads in batches while its line is busy (FdLink's busyOctets): while its
   * `batchAt` is set (>= 0), a deadline that falls before it waits for it, so one wake-up every
   * batch period does all the work (NAPI's poll with its TX completions), not one wake-up for
   * the batch and another for what the batch sent. Work due at once is not held back.
   * Defaults to null.
   */
  batchedBy?: { readonly batchAt: number } | null;
}

/** Defaults of HostLoopOptions. */
export const DEFAULT_HOST_LOOP_OPTIONS: Readonly<Required<HostLoopOptions>> = Object.freeze({
  maxPassesPerTurn: 64,
  timer: null,
  batchedBy: null,
});

export interface HostLoopStats {
  /** Turns run (a turn = passes until quiet, then sleep). */
  turns: number;
  /** `poll` calls made (one per part per pass). */
  polls: number;
  /** Sleeps on a timer until a deadline. */
  timedSleeps: number;
  /** Turns started by `wake()` rather than by a deadline. */
  wakes: number;
  /** Turns that ended with work due at once: the next turn follows after pending I/O, without sleeping. */
  yields: number;
}

/** setTimeout's largest delay (2^31 - 1 ms, about 24.8 days); longer waits are split. */
const MAX_DELAY = 0x7fffffff;

export class HostLoop {
  readonly stats: HostLoopStats = { turns: 0, polls: 0, timedSleeps: 0, wakes: 0, yields: 0 };
  private readonly parts: Pollable[] = [];
  private readonly maxPasses: number;
  private readonly origin: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The precise timer, when one was given; `armed` from an arming until the next disarm (an expiry is acknowledged only by arming or disarming). */
  private readonly precise: LoopTimer | null;
  private armed = false;
  private readonly batchedBy: { readonly batchAt: number } | null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private running = false;
  private inTurn = false;
  private wokenDuringTurn = false;
  private done: Promise<void> | null = null;
  private resolveDone: (() => void) | null = null;
  private rejectDone: ((error: unknown) => void) | null = null;
  private readonly turnCallback = (): void => this.turn();
  private readonly wakeCallback = (): void => {
    this.stats.wakes++;
    this.turn();
  };
  private readonly preciseCallback = (): void => {
    // A wake() already queued a turn; it will re-arm or disarm the timer.
    if (this.immediate === null) this.turn();
  };

  constructor(parts: readonly Pollable[] = [], options: HostLoopOptions = {}) {
    for (const part of parts) this.parts.push(part);
    this.maxPasses = options.maxPassesPerTurn ?? DEFAULT_HOST_LOOP_OPTIONS.maxPassesPerTurn;
    this.origin = performance.now();
    const timer = options.timer ?? DEFAULT_HOST_LOOP_OPTIONS.timer;
    this.precise = timer !== null ? timer(this.preciseCallback) : null;
    this.batchedBy = options.batchedBy ?? DEFAULT_HOST_LOOP_OPTIONS.batchedBy;
  }

  /** Milliseconds since the loop was created: an integer, monotonic. */
  now(): number {
    return Math.floor(performance.now() - this.origin);
  }

  /** Adds a part; it is polled from the next turn on. */
  add(part: Pollable): void {
    this.parts.push(part);
    this.wake();
  }

  /** Removes a part. */
  remove(part: Pollable): void {
    const i = this.parts.indexOf(part);
    if (i >= 0) this.parts.splice(i, 1);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Starts the loop. The promise resolves after `stop()`, or rejects with the error if a part's
   * `poll` or `pollAt` throws (the loop stops then).
   */
  run(): Promise<void> {
    if (this.done !== null) return this.done;
    this.running = true;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.schedule(0);
    return this.done;
  }

  /**
   * Runs a turn soon (in a setImmediate, after the current I/O callback): new input or room
   * to send. Cheap and coalescing: many wakes before the turn make one turn.
   */
  wake(): void {
    if (!this.running) return;
    if (this.inTurn) {
      this.wokenDuringTurn = true;
      return;
    }
    if (this.immediate !== null) return;
    // A precise timer stays armed: the turn re-arms or disarms it (one system call, not two).
    this.clearTimer();
    this.immediate = setImmediate(this.wakeCallback);
  }

  /** Stops after the current turn; `run()`'s promise resolves. Safe to call twice. */
  stop(): Promise<void> {
    const done = this.done ?? Promise.resolve();
    if (!this.running) return done;
    this.running = false;
    this.clearTimer();
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.precise?.close();
    this.resolveDone?.();
    return done;
  }

  private turn(): void {
    this.immediate = null;
    this.timer = null;
    if (!this.running) return;
    this.stats.turns++;
    this.inTurn = true;
    this.wokenDuringTurn = false;
    let now = 0;
    let deadline = NEVER;
    try {
      let passes = 0;
      let progressed = true;
      while (progressed && passes < this.maxPasses) {
        progressed = false;
        now = this.now();
        for (let i = 0; i < this.parts.length; i++) {
          this.stats.polls++;
          if (this.parts[i]!.poll(now)) progressed = true;
        }
        passes++;
      }
      now = this.now();
      deadline = progressed ? now : NEVER;
      for (let i = 0; i < this.parts.length; i++) {
        const at = this.parts[i]!.pollAt(now);
        if (at < deadline) deadline = at;
      }
    } catch (error) {
      this.inTurn = false;
      this.running = false;
      this.clearTimer();
      this.precise?.close();
      this.rejectDone?.(error);
      return;
    }
    this.inTurn = false;
    if (!this.running) return; // a part called stop()
    if (this.wokenDuringTurn || deadline <= now) {
      // Work is due now: yield to I/O first, then go again.
      this.stats.yields++;
      this.immediate = setImmediate(this.turnCallback);
      return;
    }
    if (this.batchedBy !== null) {
      // The line is busy: what falls due before its next batch waits for it.
      const batch = this.batchedBy.batchAt;
      if (batch > deadline) deadline = batch;
    }
    if (this.precise !== null) this.sleepPrecisely(deadline);
    else this.schedule(deadline === NEVER ? MAX_DELAY : deadline - now);
  }

  private schedule(delay: number): void {
    this.clearTimer();
    if (delay <= 0) {
      if (this.immediate === null) this.immediate = setImmediate(this.turnCallback);
      return;
    }
    this.stats.timedSleeps++;
    // NEVER sleeps the longest setTimeout allows; the timer also keeps the process alive.
    this.timer = setTimeout(this.turnCallback, delay < MAX_DELAY ? delay : MAX_DELAY);
  }

  /** Arms the precise timer for the instant the loop's clock reaches `deadline` (NEVER: disarms; its handle keeps the process alive). */
  private sleepPrecisely(deadline: number): void {
    const precise = this.precise!;
    if (deadline === NEVER) {
      if (this.armed) {
        precise.disarm();
        this.armed = false;
      }
      return;
    }
    const delay = this.origin + deadline - performance.now();
    if (delay <= 0) {
      this.immediate = setImmediate(this.turnCallback);
      return;
    }
    this.stats.timedSleeps++;
    precise.arm(delay);
    this.armed = true;
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}

