/**
 * LoginLimiter: one device-wide budget of failed logins, shared by every connection and every
 * service that asks for the password (telnet; the web console when it exists), so that opening
 * more connections does not buy a peer more guesses.
 *
 * Failures spend tokens from a TokenBucket (src/time.ts; `burst` deep, refilled `ratePerSecond`).
 * A failure that finds the bucket empty starts a back-off: until it ends, every login attempt is
 * refused without the password being looked at (`throttled`), the right one too. Each back-off
 * that follows another without a successful login in between is twice as long, up to `maxMs`.
 * So the guesses a peer gets are at most `burst` at once, then about `ratePerSecond` a second
 * and less once the back-off grows, however many connections it opens. A successful login
 * (after the back-off has passed) resets the doubling. Time is handed in; nothing allocates.
 */
import { TokenBucket } from '../src/time.ts';
import { LOGIN_LIMIT } from './limits.ts';

export interface LoginLimiterOptions {
  /** Failures allowed at once. Defaults to LOGIN_LIMIT.burst (limits.ts), 10. */
  burst?: number;
  /** Failures the bucket regains per second. Defaults to LOGIN_LIMIT.ratePerSecond, 0.1 (one per 10 s). */
  ratePerSecond?: number;
  /** The first back-off, ms. Defaults to LOGIN_LIMIT.backoffMs, 5000. */
  backoffMs?: number;
  /** The longest back-off, ms. Defaults to LOGIN_LIMIT.maxBackoffMs, 300000. */
  maxBackoffMs?: number;
}

/** Counters `stats` shows (in the telnet line). */
export interface LoginLimiterStats {
  /** Login attempts refused during a back-off, the password not checked. */
  throttled: number;
  /** Back-offs started (the device-wide budget of failures ran out). */
  backoffs: number;
}

export class LoginLimiter {
  readonly stats: LoginLimiterStats = { throttled: 0, backoffs: 0 };
  private readonly bucket: TokenBucket;
  private readonly firstBackoffMs: number;
  private readonly maxBackoffMs: number;
  private backoffMs = 0;
  private blockedUntil = 0;

  constructor(options: LoginLimiterOptions = {}) {
    this.bucket = new TokenBucket(options.ratePerSecond ?? LOGIN_LIMIT.ratePerSecond, options.burst ?? LOGIN_LIMIT.burst);
    this.firstBackoffMs = options.backoffMs ?? LOGIN_LIMIT.backoffMs;
    this.maxBackoffMs = options.maxBackoffMs ?? LOGIN_LIMIT.maxBackoffMs;
  }

  /**
   * May a password be checked at `now`? False during a back-off, and the refusal is counted
   * (`throttled`): the caller then answers as for a wrong password, without comparing.
   */
  attempt(now: number): boolean {
    if (now < this.blockedUntil) {
      this.stats.throttled++;
      return false;
    }
    return true;
  }

  /** A wrong password at `now`: spends a token, or starts (or doubles) the back-off. */
  failed(now: number): void {
    if (this.bucket.take(now)) return;
    this.backoffMs = this.backoffMs === 0 ? this.firstBackoffMs : Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.blockedUntil = now + this.backoffMs;
    this.stats.backoffs++;
  }

  /** The right password: the next back-off starts from the first length again. */
  succeeded(): void {
    this.backoffMs = 0;
  }

  /** Ms of back-off left at `now` (0 when logins are checked). */
  backoffLeft(now: number): number {
    return now < this.blockedUntil ? this.blockedUntil - now : 0;
  }
}
