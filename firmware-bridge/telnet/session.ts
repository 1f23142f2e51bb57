/**
 * One telnet session: negotiation, login, line editing and the shell, as a state machine driven
 * by `poll(now)`.
 *
 *   PASSWORD --right--> SHELL <--> PING, XFER (commands running across polls)
 *      |  ^                |
 *    wrong |             exit / logout / Ctrl-D / peer closed
 *      v  |                v
 *   LOGIN_DELAY --3rd--> CLOSING (output flushed, then the socket is closed)
 *
 * Input is read from the socket into a small buffer and decoded one octet at a time (so the
 * session can stop between any two octets); output goes through an outbox that the socket
 * drains. Input is only taken while the outbox is at most half full, so a command always has
 * room for its output and a client that does not read cannot make the device buffer without
 * bound. Every buffer is allocated once, when the server is built; a session object is reused
 * for every connection that lands in its slot. What commands print comes from `format.ts`.
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { NEVER } from '../../src/time.ts';
import { LoginAttempts, type LoginStats } from '../login.ts';
import {
  formatHelp, formatIfconfig, formatNetstat, formatPool, formatStats, formatUnknownCommand, formatUptime, formatVersion,
  parseCommandLine, parsePingArgs, parseXferArgs, type PoolInfo,
} from './format.ts';
import { TELNET_INPUT_LEN, TELNET_SUBNEGOTIATION_LEN } from '../limits.ts';
import type { LoginLimiter } from '../login-limiter.ts';
import { PingRun, type PingSettings, type TextSink } from './ping.ts';
import { XferRun } from './xfer.ts';
import { Telnet, TelnetDecoder, TelnetOption, TelnetOptions, type TelnetHandler } from './protocol.ts';

/** Everything a session needs from its server, settings resolved. */
export interface ShellContext {
  readonly iface: Interface;
  readonly tcp: TcpStack;
  readonly settings: TelnetSettings;
  readonly loginStats: TelnetLoginStats;
  /** The device-wide budget of failed logins (shared with every service that asks for the password). */
  readonly loginLimiter: LoginLimiter;
  /** Session `index` has just logged in at `now` (the server may close an idle shell to keep a slot free). */
  loggedIn(now: number, index: number): void;
  /** Milliseconds since the device started. */
  uptimeMs(now: number): number;
  /** Sessions connected now. */
  sessionCount(): number;
  /** Ports the TCP stack listens on. */
  listenPorts(): number[];
  /** Counters shown by `stats` besides the stack's (for example the telnet server's own). */
  extraStats(): object;
  /** The link's counters (SLIP device, UART), or null when there are none. */
  linkStats(): object | null;
  /** The board's memory against its profile's budget, or null when not known. */
  memoryInfo(): PoolInfo['memory'];
  /** Lines about the link for ifconfig and stats (the mode in force, hints), each ending in "\n"; '' for none. */
  linkNotes(): string;
}

export interface TelnetSettings {
  /** The password, as octets; null runs the shell with no login (--insecure-no-login). */
  password: Uint8Array | null;
  /** Shown before the first password prompt (lines end in "\n"). */
  banner: string;
  /** Prompt: `${hostname}> `. */
  hostname: string;
  version: string;
  imageSha256: string;
  /** Interface name shown by ifconfig. */
  ifname: string;
  /** Peer address shown by ifconfig, or null. */
  peer: number | null;
  /** Pause after a wrong password before the next prompt, ms. */
  loginDelayMs: number;
  /** Wrong passwords before the connection is closed. */
  maxLoginAttempts: number;
  /** Time allowed to log in, ms (0: no limit). */
  loginTimeoutMs: number;
  /** A logged-in shell with no input for this long is closed, ms (0: never). */
  idleTimeoutMs: number;
  /** After asking to close, longest wait for the peer to take our output, ms. */
  closeTimeoutMs: number;
  /** Octets of output a session buffers. */
  outboxLen: number;
  /** Longest command line, octets. */
  lineLen: number;
  ping: PingSettings;
  /** ICMP identifier of session 0's ping; session i uses pingIdentBase + i. */
  pingIdentBase: number;
}

/** Login counters (shared with the web console's: firmware-bridge/login.ts), and the shell's own. */
export interface TelnetLoginStats extends LoginStats {
  /** Logged-in shells closed after `idleTimeoutMs` without input. */
  idleTimeouts: number;
  /** Idle shells closed so that a new login had a free slot left behind it. */
  takeovers: number;
  /** `ping` and `xfer` command lines refused (arguments malformed or past their limits). */
  commandsRefused: number;
}

// Session states.
export const SessionState = {
  Free: 0,
  Password: 1,
  LoginDelay: 2,
  Shell: 3,
  Ping: 4,
  Closing: 5,
  Xfer: 6,
} as const;

const CR = 0x0d;
const BS = 0x08;
const DEL = 0x7f;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BEL = 0x07;

export class TelnetSession implements TelnetHandler, TextSink {
  readonly index: number;
  state: number = SessionState.Free;
  sock: TcpSocket | null = null;
  /** Terminal size from NAWS (RFC 1073); 0 when the client did not say. */
  width = 0;
  height = 0;
  /** Output octets dropped because the outbox was full. */
  outputDropped = 0;
  /** Set when the session has finished and its socket may be closed. */
  done = false;

  private readonly ctx: ShellContext;
  private readonly login: LoginAttempts;
  private readonly options = new TelnetOptions([TelnetOption.ECHO, TelnetOption.SGA], [TelnetOption.NAWS, TelnetOption.SGA]);
  private readonly decoder = new TelnetDecoder(TELNET_SUBNEGOTIATION_LEN);
  private readonly input = new Uint8Array(TELNET_INPUT_LEN);
  private inPos = 0;
  private inLen = 0;
  /** Input octets before this position are inside a Synch (RFC 854): their data is discarded. */
  private synchEnd = 0;
  private inSynch = false;
  private readonly line: Uint8Array;
  private lineLen = 0;
  private readonly outbox: Uint8Array;
  private outStart = 0;
  private outEnd = 0;
  private readonly ping: PingRun;
  private readonly xfer: XferRun;
  private now = 0;
  private delayUntil = NEVER;
  private loginDeadline = NEVER;
  private closeDeadline = NEVER;
  private wasLoggedIn = false;
  /** When the peer last sent anything (or a command ended), ms: the idle deadline counts from here. */
  lastInputAt = 0;
  /** The attempt now waiting out its delay was refused by the device-wide limit (not checked). */

  constructor(ctx: ShellContext, index: number) {
    this.ctx = ctx;
    this.index = index;
    this.login = new LoginAttempts(ctx.settings, ctx.loginStats, ctx.loginLimiter);
    this.line = new Uint8Array(ctx.settings.lineLen);
    this.outbox = new Uint8Array(ctx.settings.outboxLen);
    this.ping = new PingRun(ctx.iface, ((ctx.settings.pingIdentBase + index - 1) % 0xffff) + 1, ctx.settings.ping);
    this.xfer = new XferRun(ctx.tcp);
  }

  /** Wrong passwords in this connection. */
  get failures(): number {
    return this.login.failures;
  }

  /** `xfer` runs this slot's sessions ended at the time limit. */
  get xferTimeLimits(): number {
    return this.xfer.timeLimited;
  }

  /** True once the right password was given in this connection. */
  get loggedIn(): boolean {
    return this.wasLoggedIn;
  }

  /** A connection landed in this slot: negotiation offers, banner, password prompt. */
  open(now: number, sock: TcpSocket): void {
    this.reset();
    this.sock = sock;
    this.now = now;
    this.state = SessionState.Password;
    this.lastInputAt = now;
    const s = this.ctx.settings;
    this.loginDeadline = s.loginTimeoutMs > 0 ? now + s.loginTimeoutMs : NEVER;
    // RFC 857 / 858: the server echoes and suppresses go-ahead (character at a time);
    // RFC 1073: ask for the window size.
    this.writeIac(this.options.askUs(TelnetOption.ECHO), TelnetOption.ECHO);
    this.writeIac(this.options.askUs(TelnetOption.SGA), TelnetOption.SGA);
    this.writeIac(this.options.askHim(TelnetOption.NAWS), TelnetOption.NAWS);
    this.writeText(s.banner);
    if (s.password === null) {
      // --insecure-no-login: straight to the shell, and say so.
      this.loginDeadline = NEVER;
      this.wasLoggedIn = true;
      this.state = SessionState.Shell;
      this.writeText('No login required (--insecure-no-login). Type help for the list of commands.\n');
      this.prompt();
    } else {
      this.writeText('Password: ');
    }
    this.flush();
  }

  /** Forgets the connection (the server closes the socket). */
  reset(): void {
    this.ping.stop();
    this.xfer.stop();
    this.state = SessionState.Free;
    this.sock = null;
    this.done = false;
    this.width = 0;
    this.height = 0;
    this.login.reset();
    this.outputDropped = 0;
    this.wasLoggedIn = false;
    this.lastInputAt = 0;
    this.options.reset();
    this.decoder.reset();
    this.inPos = 0;
    this.inLen = 0;
    this.synchEnd = 0;
    this.inSynch = false;
    this.lineLen = 0;
    this.outStart = 0;
    this.outEnd = 0;
    this.delayUntil = NEVER;
    this.loginDeadline = NEVER;
    this.closeDeadline = NEVER;
  }

  /** Runs the session at `now`; true if anything happened. */
  poll(now: number): boolean {
    const sock = this.sock;
    if (sock === null || this.done) return false;
    this.now = now;
    let progress = this.flush();
    const s = this.ctx.settings;

    if (this.state === SessionState.LoginDelay && now >= this.delayUntil) {
      this.afterWrongPassword();
      progress = true;
    }
    if (this.state === SessionState.Ping) {
      if (this.ping.poll(now, this)) progress = true;
      if (!this.ping.running) {
        this.lastInputAt = now;
        this.prompt();
        this.state = SessionState.Shell;
        progress = true;
      }
    }
    if (this.state === SessionState.Xfer) {
      if (this.xfer.poll(now, this)) progress = true;
      if (!this.xfer.running) {
        this.lastInputAt = now;
        this.prompt();
        this.state = SessionState.Shell;
        progress = true;
      }
    }
    if ((this.state === SessionState.Password || this.state === SessionState.LoginDelay) && now >= this.loginDeadline) {
      this.ctx.loginStats.timeouts++;
      this.writeText(`\nLogin timed out after ${Math.round(s.loginTimeoutMs / 1000)} seconds.\n`);
      this.startClosing(now);
      progress = true;
    }
    if (this.state === SessionState.Shell && s.idleTimeoutMs > 0 && now >= this.lastInputAt + s.idleTimeoutMs) {
      this.ctx.loginStats.idleTimeouts++;
      this.writeText(`\nIdle for ${Math.round(s.idleTimeoutMs / 1000)} seconds: logged out.\n`);
      this.startClosing(now);
      progress = true;
    }
    if (this.readInput()) progress = true;
    // The peer closed and everything it sent has been handled.
    if (this.state !== SessionState.Closing && this.inPos === this.inLen && sock.remoteClosed && sock.recvQueue === 0) {
      this.startClosing(now);
      progress = true;
    }
    if (this.flush()) progress = true;
    if (this.state === SessionState.Closing) {
      if (this.outStart !== this.outEnd && now >= this.closeDeadline) {
        // The peer does not take our output: give up on it.
        this.outputDropped += this.outEnd - this.outStart;
        this.outStart = this.outEnd = 0;
      }
      if (this.outStart === this.outEnd) {
        this.drainInput();
        this.done = true;
        progress = true;
      }
    }
    return progress;
  }

  /** `now` when `poll` has work, else the next deadline, or NEVER. */
  pollAt(now: number): number {
    const sock = this.sock;
    if (sock === null || this.done) return NEVER;
    if (this.outStart !== this.outEnd && sock.sendSpace > 0) return now;
    if (this.wantsInput() && (this.inPos < this.inLen || sock.readable)) return now;
    let t = NEVER;
    switch (this.state) {
      case SessionState.LoginDelay:
        t = this.delayUntil;
        break;
      case SessionState.Ping:
        t = this.ping.pollAt(now);
        break;
      case SessionState.Xfer:
        t = this.xfer.pollAt(now);
        break;
      case SessionState.Closing:
        if (this.outStart === this.outEnd) return now;
        t = this.closeDeadline;
        break;
      case SessionState.Shell:
        if (this.ctx.settings.idleTimeoutMs > 0) t = this.lastInputAt + this.ctx.settings.idleTimeoutMs;
        break;
      default:
        break;
    }
    if ((this.state === SessionState.Password || this.state === SessionState.LoginDelay) && this.loginDeadline < t) t = this.loginDeadline;
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  private wantsInput(): boolean {
    const st = this.state;
    return (st === SessionState.Password || st === SessionState.Shell || st === SessionState.Ping || st === SessionState.Xfer) &&
      this.outEnd - this.outStart <= this.outbox.length >>> 1;
  }

  private readInput(): boolean {
    const sock = this.sock!;
    let progress = false;
    while (this.wantsInput()) {
      if (this.inPos === this.inLen) {
        // RFC 854 Synch: data up to the urgent mark is discarded; commands in it still count.
        const mark = sock.urgentMark;
        const n = sock.recv(this.input, 0, this.input.length);
        if (n <= 0) break;
        this.lastInputAt = this.now;
        this.inPos = 0;
        this.inLen = n;
        this.synchEnd = mark > 0 ? (mark < n ? mark : n) : 0;
        progress = true;
      }
      const at = this.inPos++;
      this.inSynch = at < this.synchEnd;
      this.decoder.feed(this.input[at]!, this);
      progress = true;
    }
    return progress;
  }

  /** Reads and drops whatever is left, so closing sends a FIN rather than a RST. */
  private drainInput(): void {
    const sock = this.sock!;
    this.inPos = this.inLen = 0;
    while (sock.recv(this.input, 0, this.input.length) > 0) { /* discard */ }
  }

  // TelnetHandler

  telnetData(byte: number): void {
    if (this.inSynch) return;
    if (this.state === SessionState.Ping || this.state === SessionState.Xfer) {
      // While a command runs only an interrupt matters; other typing is dropped.
      if (byte === CTRL_C) this.interrupt();
      return;
    }
    if (this.state === SessionState.Password || this.state === SessionState.Shell) this.edit(byte);
  }

  telnetCommand(command: number): void {
    switch (command) {
      // RFC 854: Interrupt Process (and Break, which clients send for the same key).
      case Telnet.IP:
      case Telnet.BRK:
        this.interrupt();
        return;
      // RFC 854: Are You There gets visible evidence that the system is up.
      case Telnet.AYT:
        this.writeText('\n[slipstack: yes]\n');
        return;
      case Telnet.EC:
        if (this.state === SessionState.Password || this.state === SessionState.Shell) this.edit(BS);
        return;
      case Telnet.EL:
        if (this.state === SessionState.Password || this.state === SessionState.Shell) this.edit(CTRL_U);
        return;
      // DM ends a Synch (the urgent mark already bounds it), NOP, GA, AO: nothing to do.
      default:
        return;
    }
  }

  telnetNegotiation(verb: number, option: number): void {
    const reply = this.options.receive(verb, option);
    if (reply !== 0) this.writeIac(reply, option);
  }

  telnetSubnegotiation(option: number, bytes: Uint8Array, len: number): void {
    // RFC 1073: IAC SB NAWS width(16) height(16) IAC SE, once the client said WILL NAWS.
    if (option === TelnetOption.NAWS && len === 4 && this.options.himEnabled(TelnetOption.NAWS)) {
      this.width = (bytes[0]! << 8) | bytes[1]!;
      this.height = (bytes[2]! << 8) | bytes[3]!;
    }
  }

  /** Ctrl-C: stops a running ping (with its summary) or xfer, or abandons the line being typed. */
  private interrupt(): void {
    if (this.state === SessionState.Ping) {
      this.ping.interrupt(this.now, this);
      this.state = SessionState.Shell;
      this.prompt();
      return;
    }
    if (this.state === SessionState.Xfer) {
      this.xfer.interrupt(this.now, this);
      this.state = SessionState.Shell;
      this.prompt();
      return;
    }
    if (this.state === SessionState.Password || this.state === SessionState.Shell) {
      this.lineLen = 0;
      this.writeText('^C\n');
      this.prompt();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Line editing

  private get echoing(): boolean {
    return this.state === SessionState.Shell && this.options.usEnabledOrAsked(TelnetOption.ECHO);
  }

  private edit(b: number): void {
    if (b === CR) {
      if (this.options.usEnabledOrAsked(TelnetOption.ECHO)) this.writeText('\n');
      if (this.state === SessionState.Password) this.checkPassword();
      else this.execute();
      return;
    }
    if (b === BS || b === DEL) {
      if (this.lineLen > 0) {
        this.lineLen--;
        if (this.echoing) this.writeText('\b \b');
      }
      return;
    }
    if (b === CTRL_U) {
      if (this.echoing) for (let i = 0; i < this.lineLen; i++) this.writeText('\b \b');
      this.lineLen = 0;
      return;
    }
    if (b === CTRL_C) {
      this.interrupt();
      return;
    }
    if (b === CTRL_D) {
      if (this.lineLen === 0) {
        if (this.state === SessionState.Shell) this.writeText('logout\n');
        this.startClosing(this.now);
      }
      return;
    }
    if (b < 0x20 || b > 0x7e) return;
    if (this.lineLen === this.line.length) {
      this.putByte(BEL);
      return;
    }
    this.line[this.lineLen++] = b;
    if (this.echoing) this.putByte(b);
  }

  private prompt(): void {
    if (this.state === SessionState.Password) this.writeText('Password: ');
    else this.writeText(`${this.ctx.settings.hostname}> `);
  }

  // ---------------------------------------------------------------------------------------------
  // Login

  private checkPassword(): void {
    const pw = this.ctx.settings.password;
    if (pw === null) return;
    // Every octet compared whatever the outcome (unless the device-wide budget of failures is
    // spent: then refused unchecked); a failure is counted and answered after a pause.
    const right = this.login.attempt(this.now, this.line, this.lineLen);
    this.line.fill(0, 0, this.lineLen);
    this.lineLen = 0;
    if (right) {
      this.wasLoggedIn = true;
      this.state = SessionState.Shell;
      this.writeText('Logged in. Type help for the list of commands.\n');
      this.prompt();
      this.ctx.loggedIn(this.now, this.index);
      return;
    }
    // A wrong password: answer only after the pause (a deadline, not a timer).
    this.state = SessionState.LoginDelay;
    this.delayUntil = this.login.answerAt;
  }

  private afterWrongPassword(): void {
    this.delayUntil = NEVER;
    if (this.login.throttled) {
      const left = Math.ceil(this.ctx.loginLimiter.backoffLeft(this.now) / 1000);
      this.writeText(`Login refused: too many failed logins on this device; try again in ${left} s\n`);
    } else {
      this.writeText('Login incorrect\n');
    }
    if (this.login.exhausted()) {
      this.writeText('Too many failed logins.\n');
      this.startClosing(this.now);
      return;
    }
    this.state = SessionState.Password;
    this.prompt();
  }

  /** Closes a logged-in shell so a new login keeps a slot free behind it (the server picks the oldest idle one). */
  takeOver(now: number): void {
    this.ctx.loginStats.takeovers++;
    this.writeText(`\nSession closed: a new login needs the slot (idle for ${Math.round((now - this.lastInputAt) / 1000)} seconds).\n`);
    this.startClosing(now);
  }

  /** True while this session's shell is open for the takeover (logged in and not already closing). */
  get holdsShell(): boolean {
    return this.wasLoggedIn && this.state !== SessionState.Closing && this.state !== SessionState.Free && !this.done;
  }

  private startClosing(now: number): void {
    this.ping.stop();
    this.xfer.stop();
    this.state = SessionState.Closing;
    this.closeDeadline = now + this.ctx.settings.closeTimeoutMs;
  }

  // ---------------------------------------------------------------------------------------------
  // Shell

  private execute(): void {
    let text = '';
    for (let i = 0; i < this.lineLen; i++) text += String.fromCharCode(this.line[i]!);
    this.lineLen = 0;
    const cmd = parseCommandLine(text);
    const ctx = this.ctx;
    const iface = ctx.iface;
    switch (cmd.command) {
      case '':
        break;
      case 'help':
        this.writeText(formatHelp());
        break;
      case 'version':
        this.writeText(formatVersion(ctx.settings.version, ctx.settings.imageSha256));
        break;
      case 'uptime':
        this.writeText(formatUptime(ctx.uptimeMs(this.now), ctx.sessionCount()));
        break;
      case 'ifconfig':
        this.writeText(formatIfconfig({
          name: ctx.settings.ifname, address: iface.address, peer: ctx.settings.peer, mtu: iface.mtu, mss: iface.mss,
          ip: iface.stats.ip, device: ctx.linkStats(), notes: ctx.linkNotes(),
        }));
        break;
      case 'netstat':
        this.writeText(formatNetstat(ctx.listenPorts(), ctx.tcp.sockets, ctx.tcp.sockets.length));
        break;
      case 'stats':
        this.writeText(formatStats({
          ip: iface.stats.ip, icmp: iface.stats.icmp, udp: iface.stats.udp, tcp: ctx.tcp.stats,
          device: ctx.linkStats(), telnet: ctx.extraStats(), memory: ctx.memoryInfo(), notes: ctx.linkNotes(),
          pool: { name: iface.pool.name, max: iface.pool.stats.max, slots: iface.pool.size, err: iface.pool.stats.err },
        }));
        break;
      case 'pool': {
        const pool = iface.pool;
        const r = iface.reassembler;
        this.writeText(formatPool({
          name: pool.name, slots: pool.size, mtu: pool.mtu, stats: pool.stats,
          reassembly: { buffers: r.count, used: r.used, size: r.size, stats: r.stats },
          tcp: { sockets: ctx.tcp.sockets.length, used: ctx.tcp.used, ringBytes: ctx.tcp.ringBytes },
          memory: ctx.memoryInfo(),
        }));
        break;
      }
      case 'ping': {
        const args = parsePingArgs(cmd.args);
        if (typeof args === 'string') {
          ctx.loginStats.commandsRefused++;
          this.writeText(args);
          break;
        }
        if (this.ping.start(this.now, args.address, args.count, this, args.dataLen, args.intervalMs)) {
          this.state = SessionState.Ping;
          // The first request goes out at once.
          this.ping.poll(this.now, this);
          return;
        }
        break;
      }
      case 'xfer': {
        const args = parseXferArgs(cmd.args);
        if (typeof args === 'string') {
          ctx.loginStats.commandsRefused++;
          this.writeText(args);
          break;
        }
        if (this.xfer.start(this.now, args.address, args.port, args.octets, this)) {
          this.state = SessionState.Xfer;
          this.xfer.poll(this.now, this);
          return;
        }
        break;
      }
      case 'echo':
        this.writeText(`${cmd.rest}\n`);
        break;
      case 'exit':
      case 'logout':
        this.writeText('logout\n');
        this.startClosing(this.now);
        return;
      default:
        this.writeText(formatUnknownCommand(cmd.command));
        break;
    }
    this.prompt();
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  /** Queues text as NVT: "\n" becomes CR LF, IAC is doubled, anything outside ASCII becomes "?". */
  writeText(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        this.putByte(0x0d);
        this.putByte(0x0a);
      } else if (c === 0x0d) {
        // RFC 854: a CR not followed by LF is sent as CR NUL.
        this.putByte(0x0d);
        this.putByte(0x00);
      } else {
        this.putByte(c < 0x80 ? c : 0x3f);
      }
    }
  }

  /** Queues IAC `verb` `option` (nothing when `verb` is 0), whole or not at all. */
  private writeIac(verb: number, option: number): void {
    if (verb === 0) return;
    if (!this.room(3)) {
      this.outputDropped += 3;
      return;
    }
    this.outbox[this.outEnd++] = Telnet.IAC;
    this.outbox[this.outEnd++] = verb;
    this.outbox[this.outEnd++] = option;
  }

  private putByte(b: number): void {
    if (!this.room(1)) {
      this.outputDropped++;
      return;
    }
    this.outbox[this.outEnd++] = b;
  }

  /** True when `n` more octets fit the outbox (compacting it if need be). */
  private room(n: number): boolean {
    if (this.outEnd + n <= this.outbox.length) return true;
    if (this.outStart > 0) {
      this.outbox.copyWithin(0, this.outStart, this.outEnd);
      this.outEnd -= this.outStart;
      this.outStart = 0;
    }
    return this.outEnd + n <= this.outbox.length;
  }

  /** Hands queued output to the socket; true if any was taken. */
  private flush(): boolean {
    const sock = this.sock;
    if (sock === null || this.outStart === this.outEnd) return false;
    const n = sock.send(this.outbox, this.outStart, this.outEnd - this.outStart);
    if (n <= 0) return false;
    this.outStart += n;
    if (this.outStart === this.outEnd) this.outStart = this.outEnd = 0;
    return true;
  }
}
