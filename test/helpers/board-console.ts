/**
 * A board's serial console on this machine, for the console flasher's tests and bench: a real
 * login on a pty, and a "cable" to it that can be cut, can corrupt octets, and keeps a virtual
 * clock of how long the traffic would take on a real line.
 *
 * The board: `agetty` and `login` (util-linux, shadow) on the slave of a pty pair, in a mount
 * namespace of its own (`unshare -m`) where /etc is a scratch copy (so root gets a test password
 * and an init script can be installed without touching this machine's /etc) and /var/log is
 * scratch too (wtmp, lastlog). Where that is impossible (not root), `script -qfc bash` on the pty
 * instead: a shell with no login, as the issue allows.
 *
 * The cable: a second pty pair whose slave is the host's "serial port" (what `--console` opens,
 * with serialport, as a real port is); this process relays between the two masters. `cut()`
 * closes the host's pair (the flasher sees the port hang up, as when a USB adapter is pulled)
 * while the board's side stays as it was; `plug()` makes a new one.
 *
 * The virtual clock (`LineMeter`): each direction of the line carries baud/10 octets per second;
 * an octet leaves when the line is free and not before the newest octet its sender had received
 * when it wrote (processing takes no time). That is how long a real UART at that baud would
 * take for the same conversation, whatever the pty's real speed.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { missingTools } from './tools.ts';

/** Virtual time of a conversation on a UART at `baud`, 8N1, both directions. */
export class LineMeter {
  private readonly secondsPerOctet: number;
  /** When each direction's wire is next free, s. */
  private upFree = 0;
  private downFree = 0;
  /** The newest arrival each side has seen, s. */
  private hostKnows = 0;
  private boardKnows = 0;
  upOctets = 0;
  downOctets = 0;

  constructor(baud: number) {
    this.secondsPerOctet = 10 / baud;
  }

  /** `n` octets from host to board; returns when their first octet left, s. */
  up(n: number): number {
    const start = Math.max(this.upFree, this.hostKnows);
    this.upFree = start + n * this.secondsPerOctet;
    this.boardKnows = Math.max(this.boardKnows, this.upFree);
    this.upOctets += n;
    return start;
  }

  /** `n` octets from board to host. */
  down(n: number): number {
    const start = Math.max(this.downFree, this.boardKnows);
    this.downFree = start + n * this.secondsPerOctet;
    this.hostKnows = Math.max(this.hostKnows, this.downFree);
    this.downOctets += n;
    return start;
  }

  /** The time the last octet so far arrived, s. */
  get now(): number {
    return Math.max(this.upFree, this.downFree);
  }
}

/** Why a real login on a pty cannot run here, or null. */
export function loginUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (a login in a mount namespace of its own)';
  return missingTools('agetty', 'login', 'unshare', 'chpasswd');
}

export interface BoardOptions {
  /** root's password on the board (login mode). */
  password: string;
  /** 'login' (default when possible) or 'script' (bash, no login). */
  mode?: 'login' | 'script';
  /** Shell lines run as root inside the board's namespace before the getty starts (extra mounts), given its scratch directory. */
  setup?: (scratch: string) => string[];
}

/** Octets moved per relay step at most. */
const STEP = 16384;
const RING = 1 << 20;

/** A board console: a login (or a shell) on a pty, and at most one cable plugged into it. */
export class ConsoleBoard {
  /** A scratch directory of the board's own (its /etc copy, logs, and room for installs). */
  readonly scratch: string;
  readonly mode: 'login' | 'script';
  readonly pty: PtyHandles;
  private readonly master: FdLink;
  private readonly child: ChildProcess;
  private cable: Cable | null = null;
  /** What the board printed, most recent 64 KiB (for failure messages). */
  output = '';
  private readonly buf = new Uint8Array(STEP);

  private constructor(scratch: string, mode: 'login' | 'script', pty: PtyHandles, child: ChildProcess) {
    this.scratch = scratch;
    this.mode = mode;
    this.pty = pty;
    this.child = child;
    this.master = new FdLink(pty.masterFd, { closeFd: false, name: 'board console', txCapacity: RING });
    this.master.onActivity(() => this.pump());
  }

  static async start(options: BoardOptions): Promise<ConsoleBoard> {
    const mode = options.mode ?? (loginUnavailable() === null ? 'login' : 'script');
    const scratch = mkdtempSync(join(tmpdir(), 'slipstack-board-'));
    // The slave keeps its default (cooked) settings: agetty and the shell set what they want.
    const pty = openPtyPair({ raw: false });
    let child: ChildProcess;
    if (mode === 'login') {
      execFileSync('cp', ['-a', '/etc', join(scratch, 'etc')]);
      mkdirSync(join(scratch, 'log'));
      const lines = [
        `mount --bind ${scratch}/etc /etc`,
        `mount --bind ${scratch}/log /var/log`,
        'chpasswd',
        ...(options.setup?.(scratch) ?? []),
        `exec agetty --noclear --local-line 115200 ${pty.slavePath.slice('/dev/'.length)} vt100`,
      ];
      // A session of its own, so agetty takes the pty as its controlling terminal, as on a board.
      child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', lines.join('\n')], {
        detached: true, stdio: ['pipe', 'ignore', 'inherit'],
      });
      child.stdin!.end(`root:${options.password}\n`);
    } else {
      child = spawn('script', ['-qfc', 'bash --norc --noprofile -i', '/dev/null'], {
        detached: true, stdio: [pty.slaveFd, pty.slaveFd, pty.slaveFd], env: { ...process.env, TERM: 'vt100' },
      });
    }
    const board = new ConsoleBoard(scratch, mode, pty, child);
    // Up once the first prompt shows.
    const deadline = Date.now() + 15_000;
    while (!/login: $|[#$] $/.test(board.output)) {
      if (Date.now() > deadline) {
        await board.stop();
        throw new Error(`the board's console showed no prompt: ${JSON.stringify(board.output)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return board;
  }

  /** A new cable plugged in (the previous one, if any, is cut first). */
  plug(baud = 115200): Cable {
    this.cable?.cut();
    this.cable = new Cable(this, baud);
    return this.cable;
  }

  /** Types `text` on the console directly (as a person at the board would). */
  async type(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'latin1');
    this.toBoard(bytes);
  }

  /** @internal the cable's octets for the board. */
  toBoard(bytes: Uint8Array): number {
    const room = RING - this.master.txPending;
    const n = Math.min(room, bytes.length);
    return n > 0 ? this.master.write(0, bytes, 0, n) : 0;
  }

  /** @internal room for octets towards the board. */
  get roomToBoard(): number {
    return RING - this.master.txPending;
  }

  /** @internal */
  unplugged(cable: Cable): void {
    if (this.cable === cable) this.cable = null;
  }

  /** Board output: to the cable, or nowhere when none is plugged in (as on a UART). */
  private pump(): void {
    for (;;) {
      const n = this.master.read(0, this.buf, 0, this.buf.length);
      if (n === 0) return;
      const chunk = this.buf.subarray(0, n);
      this.output = (this.output + Buffer.from(chunk).toString('latin1')).slice(-65536);
      this.cable?.fromBoard(chunk);
    }
  }

  /** Pids of every process in the board's session (agetty, login, shells, what they started). */
  sessionPids(): number[] {
    const sid = this.child.pid;
    const pids: number[] = [];
    if (sid === undefined) return pids;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[3]) === sid) pids.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /** Ends the login session and everything it started, closes the pty, removes the scratch directory. */
  async stop(extraPids: number[] = []): Promise<void> {
    this.cable?.cut();
    for (const pid of [...extraPids, ...this.sessionPids()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000);
        this.child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await this.master.close();
    this.pty.close();
    // The scratch tree may hold files the board wrote as root; nothing is mounted there outside its namespace.
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/**
 * The host's end: a pty pair whose slave path is the "serial port", relayed to the board.
 * `upFilter` may rewrite octets going to the board (a fault); `watch` records the virtual time
 * when a text first goes up.
 */
export class Cable {
  readonly meter: LineMeter;
  readonly hostPath: string;
  private readonly board: ConsoleBoard;
  private readonly pty: PtyHandles;
  private readonly master: FdLink;
  private readonly buf = new Uint8Array(STEP);
  private connected = true;
  /** Octets sent up so far. */
  upOctets = 0;
  /** Text sent up (latin1), all of it: tests look for commands in it. */
  upText = '';
  /** Rewrites octets on their way to the board; called with the octets and how many went up before them. */
  upFilter: ((bytes: Uint8Array, before: number) => Uint8Array) | null = null;
  /** Virtual times (s) at which each watched text first went up. */
  readonly marks = new Map<string, number>();
  private readonly watches: string[] = [];

  constructor(board: ConsoleBoard, baud: number) {
    this.board = board;
    this.meter = new LineMeter(baud);
    this.pty = openPtyPair();
    this.hostPath = this.pty.slavePath;
    this.master = new FdLink(this.pty.masterFd, { closeFd: false, name: 'cable', txCapacity: RING });
    this.master.onActivity(() => this.pumpUp());
  }

  /** Records the virtual time at which `text` first goes up. */
  watch(text: string): void {
    this.watches.push(text);
  }

  private pumpUp(): void {
    while (this.connected) {
      const room = Math.min(this.buf.length, this.board.roomToBoard);
      if (room === 0) {
        setTimeout(() => this.pumpUp(), 5);
        return;
      }
      const n = this.master.read(0, this.buf, 0, room);
      if (n === 0) return;
      let chunk: Uint8Array = this.buf.subarray(0, n);
      if (this.upFilter !== null) chunk = this.upFilter(chunk, this.upOctets);
      const startedAt = this.meter.up(chunk.length);
      const before = this.upText.length;
      this.upText += Buffer.from(chunk).toString('latin1');
      for (const w of this.watches) {
        if (this.marks.has(w)) continue;
        if (this.upText.indexOf(w, Math.max(0, before - w.length)) >= 0) this.marks.set(w, startedAt);
      }
      this.upOctets += chunk.length;
      if (!this.connected) return;
      this.board.toBoard(chunk);
    }
  }

  /** @internal octets from the board. */
  fromBoard(bytes: Uint8Array): void {
    if (!this.connected) return;
    this.meter.down(bytes.length);
    this.master.write(0, bytes, 0, bytes.length);
  }

  /** Pulls the plug: the host's port hangs up; the board keeps whatever state it was in. */
  cut(): void {
    if (!this.connected) return;
    this.connected = false;
    this.board.unplugged(this);
    void this.master.close();
    this.pty.close();
  }
}

/** The slipstack processes (firmware) a test board started, by the pid file its init script wrote. */
export function servicePid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** True when `pid` is alive. */
export function alive(pid: number): boolean {
  return spawnSync('kill', ['-0', String(pid)]).status === 0;
}
