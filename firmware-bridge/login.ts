/**
 * The device password, checked the same way wherever it is asked for (the telnet login, the web
 * console's HTTP Basic authentication): every octet compared whatever the outcome, so the time
 * taken says nothing about the password; each wrong password counted and answered only after a
 * pause (a deadline on the clock handed in, not a timer); a connection that has used up its
 * attempts closed and counted as a lockout. Above the connections, one device-wide budget of
 * failures (login-limiter.ts): once it is spent, every attempt is refused unchecked until the
 * back-off has passed, however many connections a guesser opens. Nothing here allocates.
 */
import { NEVER } from '../src/time.ts';
import type { LoginLimiter } from './login-limiter.ts';

export interface LoginPolicy {
  /** The password, as octets. */
  readonly password: Uint8Array | null;
  /** Pause after a wrong password before the answer, ms. */
  readonly loginDelayMs: number;
  /** Wrong passwords before the connection is closed. */
  readonly maxLoginAttempts: number;
}

export interface LoginStats {
  /** Successful logins. */
  logins: number;
  /** Wrong passwords. */
  failures: number;
  /** Connections closed after too many wrong passwords. */
  lockouts: number;
  /** Connections closed because nobody logged in in time. */
  timeouts: number;
}

export function newLoginStats(): LoginStats {
  return { logins: 0, failures: 0, lockouts: 0, timeouts: 0 };
}

/** True when `typed[0..typedLen)` is the password; takes the same time for any wrong guess of a given length. */
export function passwordMatches(password: Uint8Array, typed: Uint8Array, typedLen: number): boolean {
  let diff = typedLen ^ password.length;
  for (let i = 0; i < password.length; i++) diff |= (i < typedLen ? typed[i]! : 0) ^ password[i]!;
  return diff === 0;
}

/** One connection's password attempts. */
export class LoginAttempts {
  /** Wrong passwords on this connection. */
  failures = 0;
  /** When the answer to the last wrong password may be given (ms); NEVER when none is pending. */
  answerAt = NEVER;
  /** The last attempt was refused unchecked: the device-wide budget of failures is spent. */
  throttled = false;
  private readonly policy: LoginPolicy;
  private readonly stats: LoginStats;
  private readonly limiter: LoginLimiter | null;

  /** `limiter`: the device-wide budget of failures every password prompt shares (null: none). */
  constructor(policy: LoginPolicy, stats: LoginStats, limiter: LoginLimiter | null = null) {
    this.policy = policy;
    this.stats = stats;
    this.limiter = limiter;
  }

  /** A new connection. */
  reset(): void {
    this.failures = 0;
    this.answerAt = NEVER;
    this.throttled = false;
  }

  /**
   * Checks `typed[0..typedLen)` at `now`. Right: counted as a login, true. Wrong: counted as a
   * failure, false, and the answer waits until `answerAt`.
   */
  attempt(now: number, typed: Uint8Array, typedLen: number): boolean {
    const limiter = this.limiter;
    this.answerAt = now + this.policy.loginDelayMs;
    if (limiter !== null && !limiter.attempt(now)) {
      // A back-off is running: refused without comparing (counted by the limiter as throttled),
      // answered after the usual pause, and it uses up one of this connection's attempts.
      this.throttled = true;
      this.failures++;
      return false;
    }
    this.throttled = false;
    const pw = this.policy.password;
    if (pw !== null && passwordMatches(pw, typed, typedLen)) {
      this.stats.logins++;
      limiter?.succeeded();
      this.failures = 0;
      this.answerAt = NEVER;
      return true;
    }
    this.failures++;
    this.stats.failures++;
    limiter?.failed(now);
    return false;
  }

  /** After a wrong password's pause: true (counted as a lockout) when this connection has no attempts left. */
  exhausted(): boolean {
    this.answerAt = NEVER;
    if (this.failures < this.policy.maxLoginAttempts) return false;
    this.stats.lockouts++;
    return true;
  }
}
