/**
 * A board's serial console, driven as a person would drive it: wake it, log in at a `login:` /
 * `Password:` prompt when there is one, and run shell commands, each followed by a marker line
 * the host waits for (`@@<id> <exit status>`), so no shell prompt has to be recognised.
 *
 * The commands run in a child `sh` the flasher starts with the terminal's echo off and empty
 * prompts (`SLIPSTACK_FLASH` set in its environment, so a re-run finds it and does not nest
 * another), and `close()` leaves it again, turns echo back on, and logs out when the flasher
 * logged in. The marker is printed as `'@@' '<id>'`, so an echoed command line never matches it.
 *
 * Waking copes with the states a previous, interrupted run can leave: Ctrl-U first (the kill
 * character, so a half-sent line is discarded, never run), then a newline; and when nothing at
 * all comes back, the here-document terminator, in case the shell was left inside an upload.
 *
 * Every failure is a ConsoleError whose message is one line for the user; a password is never
 * logged (the transcript shows `<password>`).
 */
import type { DriverLink } from '../../src/drivers/link.ts';

/** A failure on the console, as one line for the user. */
export class ConsoleError extends Error {}

/** The here-document terminator of every upload. */
export const HEREDOC_END = 'SLIPSTACK_EOF';

/** Printable form of what a board sent, for error messages: escapes, at most `max` characters from the end. */
export function visible(text: string, max = 80): string {
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  let s = '';
  for (const ch of clean.slice(-max)) {
    const c = ch.charCodeAt(0);
    if (ch === '\n') s += '\\n';
    else if (ch === '\r') s += '\\r';
    else if (c < 0x20 || c >= 0x7f) s += `\\x${c.toString(16).padStart(2, '0')}`;
    else s += ch;
  }
  return s;
}

/** Text without terminal escapes and carriage returns. */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/**
 * The octets of a console line as text (latin1), with waits. Everything received accumulates in
 * `text`; callers consume from `cursor` on.
 */
export class ConsoleLine {
  readonly link: DriverLink;
  /** Everything received so far. */
  text = '';
  private readonly scratch = new Uint8Array(16384);
  private readonly waiters = new Set<() => void>();
  private lost: string | null = null;
  private readonly transcript: ((direction: '>' | '<', text: string) => void) | null;
  /** Octets written and received, for the progress display and the figures. */
  sentOctets = 0;

  constructor(link: DriverLink, transcript: ((direction: '>' | '<', text: string) => void) | null = null) {
    this.link = link;
    this.transcript = transcript;
    link.onActivity(() => this.pull());
    void link.closed.then((why) => {
      this.lost = why.reason;
      this.notify();
    });
  }

  private pull(): void {
    for (;;) {
      const n = this.link.read(0, this.scratch, 0, this.scratch.length);
      if (n === 0) break;
      const chunk = Buffer.from(this.scratch.buffer, 0, n).toString('latin1');
      this.text += chunk;
      this.transcript?.('<', chunk);
    }
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** True once the line has gone away (hangup, unplugged adapter). */
  get isLost(): boolean {
    return this.lost !== null;
  }

  private checkLost(): void {
    if (this.lost !== null) throw new ConsoleError(`the console line went away (${this.lost}): run the same command again to resume`);
  }

  /** Writes `text` (latin1), waiting while the line's transmit ring is full. `secret` keeps it out of the transcript. */
  async write(text: string, secret = false): Promise<void> {
    this.checkLost();
    this.transcript?.('>', secret ? '<password>\n' : text);
    const bytes = Buffer.from(text, 'latin1');
    let at = 0;
    while (at < bytes.length) {
      const n = this.link.write(0, bytes, at, bytes.length - at);
      at += n;
      this.sentOctets += n;
      if (at < bytes.length) await this.next(60_000, 'the line to take more octets');
    }
  }

  /** Resolves at the next activity (octets in, room to write, or the line lost); rejects after `ms`. */
  private next(ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        if (this.lost !== null) {
          try {
            this.checkLost();
          } catch (e) {
            reject(e);
            return;
          }
        }
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new ConsoleError(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.add(done);
    });
  }

  /**
   * Waits until `check(text)` returns non-null (checked now and on every arrival), or `ms` pass
   * (then resolves null). Rejects with a ConsoleError when the line goes away.
   */
  async waitFor<T>(check: (text: string) => T | null, ms: number): Promise<T | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      this.checkLost();
      const v = check(this.text);
      if (v !== null) return v;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      try {
        await this.next(left, 'output');
      } catch (e) {
        if (e instanceof ConsoleError && this.lost === null) return check(this.text);
        throw e;
      }
    }
  }

  /** Waits until nothing arrives for `quietMs` (or `maxMs` pass). */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    for (;;) {
      const before = this.text.length;
      await this.waitFor((t) => (t.length > before ? true : null), Math.min(quietMs, end - Date.now()));
      if (this.text.length === before || Date.now() >= end) return;
    }
  }
}

/** What `BoardShell.run` returns. */
export interface CommandResult {
  /** The exit status of the command's last pipeline. */
  status: number;
  /** What it printed (stdout and stderr, as the console shows them; CR LF turned into LF). */
  output: string;
}

export interface LoginOptions {
  /** Who to log in as when a `login:` prompt appears. */
  user: string;
  /** The password, asked for only when a `Password:` prompt appears; null when there is none to give. */
  password: () => Promise<string | null>;
  /** For messages: the port and baud. */
  where: string;
}

/** How the flasher came to the shell: it logged in, or a shell was already there. */
type Entry = 'login' | 'shell';

/**
 * A shell on the board's console, reached by `BoardShell.open`. Commands may be pipelined:
 * `send` returns at once, `result` waits for that command's marker; results come in order.
 */
export class BoardShell {
  readonly line: ConsoleLine;
  private readonly nonce = Math.random().toString(36).slice(2, 8);
  private nextId = 1;
  /** Where in `line.text` the output of the oldest command still awaited starts. */
  private cursor: number;
  private entry: Entry = 'shell';

  private constructor(line: ConsoleLine) {
    this.line = line;
    this.cursor = line.text.length;
  }

  /** The marker line that follows every command; `$?` is the status of the line before it. */
  private marker(id: string): string {
    return `printf '%s%s %s\\n' '@@' '${id}' "$?"\n`;
  }

  /** Sends `command` (one or more lines, no trailing newline needed) and its marker; returns the id to await. */
  async send(command: string): Promise<string> {
    const id = `${this.nonce}-${this.nextId++}`;
    await this.line.write(`${command.endsWith('\n') ? command : `${command}\n`}${this.marker(id)}`);
    return id;
  }

  /** Waits for command `id`'s marker; throws a ConsoleError naming `what` after `ms`. */
  async result(id: string, ms: number, what: string): Promise<CommandResult> {
    const r = await this.resultOrLost(id, ms, what);
    if (r === null) throw new ConsoleError(`the board's answer to ${what} was lost (line noise?): run the same command again to resume`);
    return r;
  }

  /**
   * Like `result`, but resolves null when a later command's marker arrives first: line noise hit
   * this command's text (its here-document's end, or its marker line), so its answer will never come.
   */
  async resultOrLost(id: string, ms: number, what: string): Promise<CommandResult | null> {
    const re = new RegExp(`@@${id} (\\d+)\\r?\\n`);
    const seq = Number(id.slice(id.lastIndexOf('-') + 1));
    const any = new RegExp(`@@${this.nonce}-(\\d+) \\d+\\r?\\n`, 'g');
    const found = await this.line.waitFor((t) => {
      const rest = t.slice(this.cursor);
      const m = re.exec(rest);
      if (m !== null) return { at: this.cursor + m.index, end: this.cursor + m.index + m[0].length, status: Number(m[1]) };
      any.lastIndex = 0;
      for (let later = any.exec(rest); later !== null; later = any.exec(rest)) {
        if (Number(later[1]) > seq) return { at: this.cursor + later.index, end: -1, status: -1 };
      }
      return null;
    }, ms);
    if (found === null) {
      throw new ConsoleError(`no answer from the board for ${Math.round(ms / 1000)} s while ${what} ` +
        `(saw: '${visible(this.line.text.slice(this.cursor))}'): run the same command again to resume`);
    }
    if (found.end < 0) {
      // The later command's answer stays to be read; this one's output is what came before it.
      this.cursor = found.at;
      return null;
    }
    const output = plain(this.line.text.slice(this.cursor, found.at));
    this.cursor = found.end;
    return { status: found.status, output };
  }

  /**
   * After a command's answer did not come: discards a half-read line (Ctrl-U), ends a
   * here-document the shell may still be in, and waits until the shell answers again.
   */
  async recover(ms: number): Promise<void> {
    await this.line.write(`\x15\n${HEREDOC_END}\n`);
    const r = await this.resultOrLost(await this.send(':'), ms, 'getting the shell back');
    if (r === null) throw new ConsoleError('the board\'s shell does not answer any more: run the same command again to resume');
  }

  /** `send` then `result`. */
  async run(command: string, ms: number, what: string): Promise<CommandResult> {
    return this.result(await this.send(command), ms, what);
  }

  /**
   * Wakes the console and reaches a shell in the flasher's own child `sh` (echo off, no
   * prompts). Throws ConsoleError: no prompt seen (with what was seen), wrong password, no
   * password to give.
   */
  static async open(line: ConsoleLine, options: LoginOptions): Promise<BoardShell> {
    const shell = new BoardShell(line);
    let loggedIn = false;
    let sentTerminator = false;
    // Two wakes that show neither a login prompt nor a shell end it; a login in progress gets more.
    let fruitless = 0;
    for (let attempt = 0; attempt < 5 && fruitless < 2; attempt++) {
      const start = line.text.length;
      // Ctrl-U discards a half-sent line (the kill character, for the tty and for line editors).
      await line.write('\x15\n');
      await line.settle(1000, 3000);
      const seen = plain(line.text.slice(start));
      if (/login:\s*$/i.test(seen)) {
        await shell.login(options);
        loggedIn = true;
      } else if (/password:\s*$/i.test(seen)) {
        // A login someone else began: let it fail, then start ours at the next `login:`.
        await line.write('\n');
        await line.waitFor((t) => (/login:\s*$/i.test(plain(t.slice(start))) ? true : null), 10_000);
        fruitless = 0;
        continue;
      } else if (seen.trim() === '' && !sentTerminator) {
        // Silence: maybe a shell left inside an upload's here-document, echo off. End it.
        sentTerminator = true;
        await line.write(`${HEREDOC_END}\n`);
      }
      const probe = await shell.probe(loggedIn ? 20_000 : 2500);
      if (probe !== null) {
        shell.entry = probe === 'no' ? (loggedIn ? 'login' : 'shell') : (probe as Entry);
        if (probe === 'no') await shell.enterChild();
        return shell;
      }
      fruitless = loggedIn ? 0 : fruitless + 1;
    }
    const saw = line.text.trim() === '' ? 'nothing at all: check the cable (TX and RX crossed, GND), the baud rate, and that this UART is the console'
      : `'${visible(line.text)}'`;
    throw new ConsoleError(`no shell prompt seen on ${options.where} (saw: ${saw})`);
  }

  /** At a `login:` prompt: gives the user and, when asked, the password. */
  private async login(options: LoginOptions): Promise<void> {
    const line = this.line;
    const start = line.text.length;
    await line.write(`${options.user}\n`);
    const next = await line.waitFor((t) => {
      const s = plain(t.slice(start));
      if (/password:\s*$/i.test(s)) return 'password';
      if (/[#$>%]\s*$/.test(s)) return 'shell';
      return null;
    }, 10_000);
    if (next !== 'password') return;
    const password = await options.password();
    if (password === null) {
      throw new ConsoleError(`the board asks for ${options.user}'s password: set SLIPSTACK_BOARD_PASSWORD, or run this in a terminal to be asked`);
    }
    const afterPassword = line.text.length;
    await line.write(`${password}\n`, true);
    const outcome = await line.waitFor((t) => {
      const s = plain(t.slice(afterPassword));
      if (/incorrect|login:\s*$|authentication fail|permission denied/i.test(s)) return 'refused';
      if (/[#$>%]\s*$/.test(s)) return 'shell';
      return null;
    }, 15_000);
    if (outcome === 'refused') throw new ConsoleError(`wrong password for ${options.user} on ${options.where} (the board said: Login incorrect)`);
  }

  /** Sends the probe; resolves with the SLIPSTACK_FLASH value it printed ('no' outside our child shell), or null. */
  private async probe(ms: number): Promise<string | null> {
    const id = `${this.nonce}-probe${this.nextId++}`;
    await this.line.write(`printf '%s%s %s\\n' '@@' '${id}' "\${SLIPSTACK_FLASH:-no}"\n`);
    const re = new RegExp(`@@${id} (\\S+)\\r?\\n`);
    const m = await this.line.waitFor((t) => re.exec(t), ms);
    if (m === null) return null;
    this.cursor = m.index + m[0].length;
    return m[1]!;
  }

  /** Starts the child shell: echo off, empty prompts, no history, SLIPSTACK_FLASH set. */
  private async enterChild(): Promise<void> {
    await this.line.write(`stty -echo; SLIPSTACK_FLASH=${this.entry} PS1= PS2= HISTFILE= ENV= sh\n`);
    // Prompts from the environment are not honoured by every sh: clear them inside too.
    const r = await this.run('PS1=; PS2=; cd /', 15_000, 'starting a shell');
    if (r.status !== 0) throw new ConsoleError(`cannot start a shell on the board: ${r.output.trim()}`);
    const check = await this.run('printf \'%s\\n\' "${SLIPSTACK_FLASH:-no}"', 15_000, 'starting a shell');
    if (!check.output.includes(this.entry)) throw new ConsoleError(`cannot start a shell on the board (saw: '${visible(check.output)}')`);
  }

  /** Leaves the child shell, turns echo back on, and logs out if the flasher logged in. */
  async close(): Promise<void> {
    await this.line.write('exit\n');
    await this.line.settle(300, 2000);
    await this.line.write(this.entry === 'login' ? 'stty echo; exit\n' : 'stty echo\n');
    await this.line.settle(300, 2000);
  }
}
