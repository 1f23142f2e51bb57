/**
 * Telnet server (RFC 854) on port 23: one password-protected shell per connection, as many at
 * once as there are session slots (by default the size of the TCP socket table).
 *
 * Each slot has a TelnetSession built at construction with all its buffers; a connection that
 * lands in the slot reuses them, so serving sessions allocates nothing beyond what commands
 * print. The server is a poll step like every service: `poll(now)` / `pollAt(now)` / `close()`.
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import {
  IDLE_TIMEOUT_FLAG, TELNET_CLOSE_TIMEOUT_MS, TELNET_LINE_LEN, TELNET_LOGIN_DELAY_MS, TELNET_LOGIN_TIMEOUT_MS, TELNET_MAX_LOGIN_ATTEMPTS,
  TELNET_OUTBOX_LEN,
} from '../limits.ts';
import { LoginLimiter } from '../login-limiter.ts';
import { TcpServer, type TcpServerOptions } from '../services/tcp-server.ts';
import { DEFAULT_PING_SETTINGS } from './ping.ts';
import { TelnetSession, type ShellContext, type TelnetLoginStats, type TelnetSettings } from './session.ts';

export interface TelnetServerOptions extends TcpServerOptions {
  /**
   * The one account's password (the firmware's --password / SLIPSTACK_PASSWORD). Must not be
   * empty; null only together with `insecureNoLogin`.
   */
  password: string | null;
  /** Serve the shell without a password (the firmware's --insecure-no-login). Defaults to false. */
  insecureNoLogin?: boolean;
  /** Firmware version shown by `version` and the banner. Defaults to "unknown". */
  version?: string;
  /** SHA-256 of the firmware image, hex, shown by `version`. Defaults to "unknown". */
  imageSha256?: string;
  /** Text before the password prompt ("\n" ends lines). Defaults to "\nslipstack <version>\n\n". */
  banner?: string;
  /** The prompt is `<hostname>> `. Defaults to "slipstack". */
  hostname?: string;
  /** Interface name in ifconfig. Defaults to "sl0". */
  ifname?: string;
  /** Peer address (int32) shown by ifconfig. Defaults to none. */
  peer?: number | null;
  /**
   * The link's counters for ifconfig and stats: a live object read at each command (for example
   * a SlipDevice's `stats`). Defaults to `iface.device.stats` when the device has one.
   */
  linkStats?: object | null;
  /** Lines about the link for ifconfig and stats (mode in force, hints), asked at each command. Defaults to none. */
  linkNotes?: (() => string) | null;
  /** When the device started, ms on the clock `now` comes from. Defaults to the first poll's `now`. */
  startedAt?: number;
  /** Pause after a wrong password, ms. Defaults to TELNET_LOGIN_DELAY_MS (limits.ts), 1000. */
  loginDelayMs?: number;
  /** Wrong passwords before the connection is closed. Defaults to TELNET_MAX_LOGIN_ATTEMPTS, 3. */
  maxLoginAttempts?: number;
  /** Time allowed to log in, ms; 0 for no limit. Defaults to TELNET_LOGIN_TIMEOUT_MS, 60000. */
  loginTimeoutMs?: number;
  /** A logged-in shell with no input for this long is closed, ms; 0 for never. Defaults to IDLE_TIMEOUT_FLAG.default s (900 000 ms). */
  idleTimeoutMs?: number;
  /** The device-wide budget of failed logins, shared with other services that ask for the password. Defaults to a new LoginLimiter. */
  loginLimiter?: LoginLimiter;
  /** After exit, longest wait for the client to take the last output, ms. Defaults to TELNET_CLOSE_TIMEOUT_MS, 10000. */
  closeTimeoutMs?: number;
  /** Output buffered per session, octets. Defaults to TELNET_OUTBOX_LEN, 16384. */
  outboxLen?: number;
  /** Longest command line, octets. Defaults to TELNET_LINE_LEN, 256. */
  lineLen?: number;
  /** ping: interval between requests, ms. Defaults to 1000. */
  pingIntervalMs?: number;
  /** ping -c: wait for replies after the last request, ms. Defaults to 2000. */
  pingLingerMs?: number;
  /** ping: payload octets. Defaults to 56. */
  pingDataLen?: number;
  /** ICMP identifier of session 0's ping; session i uses base + i. Defaults to 0x7400. */
  pingIdentBase?: number;
  /** The board's memory against its budget, a live object shown by `pool`. Defaults to none. */
  memory?: { profile: string; allocated: number; budget: number | null } | null;
}

export class TelnetServer extends TcpServer implements ShellContext {
  readonly settings: TelnetSettings;
  readonly loginStats: TelnetLoginStats = { logins: 0, failures: 0, lockouts: 0, timeouts: 0, idleTimeouts: 0, takeovers: 0, commandsRefused: 0 };
  readonly loginLimiter: LoginLimiter;
  /** One session per connection slot (index = slot). */
  readonly sessions: TelnetSession[];
  private startedAt: number;
  private readonly link: object | null;
  private readonly memory: { profile: string; allocated: number; budget: number | null } | null;
  private readonly notes: (() => string) | null;

  /**
   * Listens on `options.port` (default 23).
   * @throws RangeError when the password is empty; Error when the port cannot be listened on
   */
  constructor(iface: Interface, tcp: TcpStack, options: TelnetServerOptions) {
    const noLogin = options.insecureNoLogin === true && options.password === null;
    if (!noLogin && (typeof options.password !== 'string' || options.password.length === 0)) {
      throw new RangeError('telnet: a password is required (--password or SLIPSTACK_PASSWORD)');
    }
    super('telnet', iface, tcp, 23, options);
    const version = options.version ?? 'unknown';
    this.settings = {
      password: noLogin ? null : new TextEncoder().encode(options.password!),
      banner: options.banner ?? `\nslipstack ${version}\n\n`,
      hostname: options.hostname ?? 'slipstack',
      version,
      imageSha256: options.imageSha256 ?? 'unknown',
      ifname: options.ifname ?? 'sl0',
      peer: options.peer ?? null,
      loginDelayMs: options.loginDelayMs ?? TELNET_LOGIN_DELAY_MS,
      maxLoginAttempts: options.maxLoginAttempts ?? TELNET_MAX_LOGIN_ATTEMPTS,
      loginTimeoutMs: options.loginTimeoutMs ?? TELNET_LOGIN_TIMEOUT_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_FLAG.default * 1000,
      closeTimeoutMs: options.closeTimeoutMs ?? TELNET_CLOSE_TIMEOUT_MS,
      outboxLen: options.outboxLen ?? TELNET_OUTBOX_LEN,
      lineLen: options.lineLen ?? TELNET_LINE_LEN,
      ping: {
        intervalMs: options.pingIntervalMs ?? DEFAULT_PING_SETTINGS.intervalMs,
        lingerMs: options.pingLingerMs ?? DEFAULT_PING_SETTINGS.lingerMs,
        dataLen: options.pingDataLen ?? DEFAULT_PING_SETTINGS.dataLen,
      },
      pingIdentBase: options.pingIdentBase ?? 0x7400,
    };
    this.loginLimiter = options.loginLimiter ?? new LoginLimiter();
    this.startedAt = options.startedAt ?? -1;
    const deviceStats = (iface.device as { stats?: unknown }).stats;
    this.link = options.linkStats !== undefined ? options.linkStats
      : typeof deviceStats === 'object' && deviceStats !== null ? deviceStats : null;
    this.memory = options.memory ?? null;
    this.notes = options.linkNotes ?? null;
    this.sessions = [];
    for (let i = 0; i < this.connections.length; i++) this.sessions.push(new TelnetSession(this, i));
  }

  override poll(now: number): boolean {
    if (this.startedAt < 0) this.startedAt = now;
    return super.poll(now);
  }

  // ShellContext

  uptimeMs(now: number): number {
    return this.startedAt < 0 ? 0 : now - this.startedAt;
  }

  sessionCount(): number {
    return this.active;
  }

  listenPorts(): number[] {
    const ports: number[] = [];
    // Listener handles are small integers; a free or unknown handle reads as port 0.
    for (let l = 0; l < 256; l++) {
      const port = this.tcp.listenerPort(l);
      if (port !== 0) ports.push(port);
    }
    return ports.sort((a, b) => a - b);
  }

  extraStats(): object {
    let xferTimeLimits = 0;
    for (let i = 0; i < this.sessions.length; i++) xferTimeLimits += this.sessions[i]!.xferTimeLimits;
    return { sessions: this.active, ...this.stats, ...this.loginStats, ...this.loginLimiter.stats, xferTimeLimits };
  }

  memoryInfo(): { profile: string; allocated: number; budget: number | null } | null {
    return this.memory;
  }

  linkStats(): object | null {
    return this.link;
  }

  /**
   * Keeps one slot for the owner: when a login leaves no slot free, the logged-in shell that has
   * been idle longest (other than the new one) is closed with a message, so the next connection
   * finds a slot too. Only a successful login does this; a peer at the password prompt cannot.
   */
  loggedIn(now: number, index: number): void {
    const conns = this.connections;
    for (let i = 0; i < conns.length; i++) if (conns[i] === null) return;
    let oldest = -1;
    for (let i = 0; i < this.sessions.length; i++) {
      const s = this.sessions[i]!;
      if (i === index || !s.holdsShell) continue;
      if (oldest < 0 || s.lastInputAt < this.sessions[oldest]!.lastInputAt) oldest = i;
    }
    if (oldest >= 0) this.sessions[oldest]!.takeOver(now);
  }

  linkNotes(): string {
    return this.notes !== null ? this.notes() : '';
  }

  // TcpServer

  protected override opened(now: number, index: number, sock: TcpSocket): void {
    this.sessions[index]!.open(now, sock);
  }

  protected serve(now: number, index: number, _sock: TcpSocket): boolean {
    const session = this.sessions[index]!;
    const progress = session.poll(now);
    if (session.done) {
      this.release(index);
      return true;
    }
    return progress;
  }

  protected connectionPollAt(now: number, index: number, _sock: TcpSocket): number {
    return this.sessions[index]!.pollAt(now);
  }

  protected override release(index: number): void {
    this.sessions[index]!.reset();
    super.release(index);
  }
}
