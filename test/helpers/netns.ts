/**
 * Real-peer test rig: a network namespace of the test's own, host connect running inside it on
 * a fresh pty pair, the firmware on the other end of the pty, and the real Linux tools (ping,
 * nc, telnet, ss) run inside the namespace. 192.0.2.1 (host) and 192.0.2.2 (device) exist only
 * there. Everything is torn down afterwards, failures included: processes killed, namespace
 * deleted (and, should mocha itself be killed or crash, once more from a process 'exit' hook).
 *
 * Also here: `TelnetClient`, the real `telnet` client driven through its stdin (each line is typed
 * once the device's prompt has appeared), and `assertClean`, the check every interop test ends
 * with: no connection stuck in FIN-WAIT, CLOSING, CLOSE-WAIT or LAST-ACK on the Linux side, and
 * every device socket CLOSED or in TIME-WAIT (read with the shell's `netstat`).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { xferPattern } from '../../firmware-bridge/telnet/xfer.ts';
import { sha256 } from '../../support/pattern.ts';
import { missingTools, noteSkip } from './tools.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST_IP = '192.0.2.1';
export const DEVICE_IP = '192.0.2.2';
/** The device's shell prompt. */
export const PROMPT = 'slipstack> ';

/** Tools the interop tests run inside the namespace. */
const TOOLS = ['ip', 'ss', 'ping', 'nc', 'telnet'];

/**
 * Why real-peer tests cannot run here (not root, no `ip netns`, no /dev/net/tun, a tool
 * missing), or null when they can.
 */
export function interopUnavailable(tools: readonly string[] = TOOLS): string | null {
  const why = privilegeUnavailable() ?? missingTools(...tools);
  if (why !== null) return why;
  if (spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status !== 0) {
    noteSkip('real-peer tests: `ip netns` does not work here');
    return '`ip netns` does not work here';
  }
  return null;
}

/** Why this process cannot make namespaces and TUN devices (not Linux, not root, no TUN), or null. */
function privilegeUnavailable(): string | null {
  let why: string | null = null;
  if (process.platform !== 'linux') why = 'needs Linux network namespaces';
  else if (process.getuid?.() !== 0) why = 'needs root (network namespaces and a TUN device)';
  else if (!existsSync('/dev/net/tun')) why = 'needs /dev/net/tun';
  if (why !== null) noteSkip(`real-peer tests: ${why}`);
  return why;
}

/** True when this process may create namespaces and TUN devices (root with iproute2). */
export function canUseNetns(): boolean {
  return interopUnavailable() === null;
}

/**
 * `describe` for a real-peer suite: when the namespace rig cannot run here, the suite is
 * registered as skipped, its title saying why, and its tests show as pending.
 */
export function interopDescribe(title: string, fn: (this: Mocha.Suite) => void, tools: readonly string[] = TOOLS): Mocha.Suite | void {
  const why = interopUnavailable(tools);
  if (why === null) return describe(title, fn);
  return describe.skip(`${title} (skipped: ${why})`, fn);
}

/** A child process whose output is collected. */
export interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  /** Resolves when a line matching `re` appears on stdout or stderr; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with `check()`'s first non-null result, re-checked on every output and at exit; rejects after `ms`. */
  until<T>(check: () => T | null, ms: number, what: string): Promise<T>;
  exited: Promise<number | null>;
}

export function track(child: ChildProcess): Proc {
  let exitCode: number | null | undefined;
  const p: Proc = {
    child,
    out: '',
    err: '',
    exited: new Promise((resolve) => child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    })),
    until<T>(check: () => T | null, ms: number, what: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const attempt = (): boolean => {
          const v = check();
          if (v === null) return false;
          cleanup();
          resolve(v);
          return true;
        };
        const onData = (): void => {
          attempt();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${ms} ms waiting for ${what}\nstdout: ${p.out}\nstderr: ${p.err}`));
        }, ms);
        const onExit = (code: number | null): void => {
          // Output may still be in the pipes when 'exit' fires: look once more after it drained.
          setImmediate(() => {
            if (!attempt()) {
              cleanup();
              reject(new Error(`process exited (${code}) before ${what}\nstdout: ${p.out}\nstderr: ${p.err}`));
            }
          });
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        if (exitCode !== undefined) onExit(exitCode);
        else child.on('exit', onExit);
        attempt();
      });
    },
    waitFor(re, ms = 15_000) {
      return p.until(() => re.exec(p.out) ?? re.exec(p.err), ms, String(re));
    },
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => { p.out += d; });
  child.stderr?.on('data', (d: string) => { p.err += d; });
  // A client that exits while we still write to it must not crash the test process.
  child.stdin?.on('error', () => {});
  return p;
}

export interface RigOptions {
  /** Extra firmware flags (e.g. ['--drop', '5']). */
  firmwareArgs?: string[];
  /** Extra host connect flags. */
  hostArgs?: string[];
  /** The firmware's entry script (for diagnostics). Defaults to firmware-bridge/firmware.ts. */
  firmwareScript?: string;
  /** The whole command that runs the firmware, instead of `node --import tsx <firmwareScript>` (e.g. a flashed image under another Node). */
  firmwareCommand?: string[];
  /**
   * How long the firmware may take to say it is ready, ms (default 15 000). A Node under QEMU
   * user-mode emulation on a loaded 2-core machine needs far more.
   */
  readyMs?: number;
  /** Starts the device on the pty's device side some other way (the rig then only waits for its ping). */
  startDevice?: (devicePath: string) => Promise<void>;
  /** Given host connect's pty (device side), the port the firmware opens (a relay's). Defaults to that pty. */
  portFor?: (hostPty: string) => Promise<string>;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** Wall time, ms. */
  ms: number;
}

export interface RunOptions {
  input?: Buffer | string;
  /** Killed (SIGKILL) after this long. Defaults to 60 s. */
  timeoutMs?: number;
  /** Do not reject on a non-zero exit. */
  allowFail?: boolean;
}

/** Namespaces alive in this process, deleted at exit should `stop()` never run. */
const liveNamespaces = new Set<string>();
let exitHook = false;

function deleteNamespace(ns: string): void {
  spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`]);
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/** A namespace with host connect and the firmware running, ready for traffic. */
export class Rig {
  readonly ns: string;
  host: Proc | null = null;
  firmware: Proc | null = null;
  readonly password: string;
  private readonly procs: Proc[] = [];

  constructor(password = 'test-' + randomBytes(4).toString('hex')) {
    this.ns = `slipstack-t${process.pid}-${randomBytes(3).toString('hex')}`;
    this.password = password;
  }

  /** Creates the namespace, starts host connect inside it and the firmware on the pty. */
  async start(options: RigOptions = {}): Promise<void> {
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const ns of liveNamespaces) deleteNamespace(ns);
      });
    }
    execFileSync('ip', ['netns', 'add', this.ns]);
    liveNamespaces.add(this.ns);
    execFileSync('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    this.host = this.spawnIn('node', ['--import', 'tsx', join(ROOT, 'firmware-bridge/host-connect.ts'), '--pty', '--tun', 'sl0', ...(options.hostArgs ?? [])]);
    const m = await this.host.waitFor(/device side: (\/dev\/pts\/\d+)/);
    const port = options.portFor !== undefined ? await options.portFor(m[1]!) : m[1]!;
    if (options.startDevice !== undefined) {
      await options.startDevice(port);
    } else {
      const [cmd, ...args] = options.firmwareCommand ?? ['node', '--import', 'tsx', options.firmwareScript ?? join(ROOT, 'firmware-bridge/firmware.ts')];
      // The password goes in the environment, never argv (which every local user can read).
      this.firmware = this.spawn(cmd!, [...args, '--port', port, ...(options.firmwareArgs ?? [])], { ...process.env, SLIPSTACK_PASSWORD: this.password });
      await this.firmware.waitFor(/ready/, options.readyMs);
    }
    await this.host.waitFor(/up: 192\.0\.2\.1/);
    // The link is up when the device answers a ping.
    for (let i = 0; i < 50; i++) {
      const r = await this.execIn('ping', ['-c', '1', '-W', '1', DEVICE_IP], { allowFail: true });
      if (r.status === 0) return;
    }
    throw new Error(`the device never answered a ping\nhost: ${this.host.err}\nfirmware: ${this.firmware?.err ?? '(started by the test)'}`);
  }

  /** Spawns a command inside the namespace, output collected. */
  spawnIn(cmd: string, args: string[]): Proc {
    return this.spawn('ip', ['netns', 'exec', this.ns, cmd, ...args]);
  }

  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
    const p = track(spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env }));
    this.procs.push(p);
    return p;
  }

  /** Runs a command inside the namespace to completion (blocking this process: keep it short). */
  runIn(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
    const started = Date.now();
    const r = spawnSync('ip', ['netns', 'exec', this.ns, cmd, ...args], {
      input: opts.input ?? '', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024,
    });
    const result: RunResult = {
      status: r.status, signal: r.signal, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? '', ms: Date.now() - started,
    };
    if (!opts.allowFail && r.status !== 0) throw runError(cmd, args, result);
    return result;
  }

  /** Runs a command inside the namespace to completion, without blocking this process. */
  execIn(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { err += d; });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    return new Promise((resolve, reject) => {
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        const r: RunResult = { status, signal, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - started };
        if (!opts.allowFail && status !== 0) reject(runError(cmd, args, r));
        else resolve(r);
      });
    });
  }

  /** `sh -c script` inside the namespace. */
  sh(script: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.execIn('sh', ['-c', script], opts);
  }

  /** Opens a telnet session to the device with the real client; resolves at the password prompt. */
  async telnet(): Promise<TelnetClient> {
    const proc = this.spawnIn('telnet', [DEVICE_IP]);
    const client = new TelnetClient(proc);
    await client.expect('Password: ', 15_000);
    return client;
  }

  /** A telnet session, logged in, at its first prompt. */
  async shell(): Promise<TelnetClient> {
    const c = await this.telnet();
    await c.login(this.password);
    return c;
  }

  /**
   * A one-connection TCP server inside the namespace (node, so that a peer's half-close is
   * honoured: OpenBSD nc -l quits as soon as the peer's FIN arrives while its own stdin buffer
   * happens to be empty). It accepts on `port`, writes everything it receives to `outFile`,
   * sends `replyFile`, half-closes after it, and exits once the peer's FIN has arrived too.
   * Resolves once it listens.
   */
  async listenOnce(port: number, replyFile: string, outFile: string): Promise<Proc> {
    const script = `
      import net from 'node:net';
      import fs from 'node:fs';
      const [port, replyFile, outFile] = process.argv.slice(1);
      const server = net.createServer({ allowHalfOpen: true }, (sock) => {
        server.close();
        const out = fs.createWriteStream(outFile);
        let received = 0;
        sock.on('data', (d) => { received += d.length; });
        sock.pipe(out);
        fs.createReadStream(replyFile).pipe(sock);
        sock.on('error', (e) => { console.log('error ' + e.message); process.exitCode = 1; });
        out.on('finish', () => console.log('received ' + received));
      });
      server.listen(Number(port), '${HOST_IP}', () => console.log('listening'));
    `;
    const p = this.spawnIn('node', ['--input-type=module', '-e', script, String(port), replyFile, outFile]);
    await p.waitFor(/listening/, 10_000);
    return p;
  }

  /** SIGTERM to the firmware; resolves with its exit code once it has exited. */
  async stopFirmware(ms = 10_000): Promise<number | null> {
    const fw = this.firmware;
    if (fw === null) return null;
    if (fw.child.exitCode === null && fw.child.signalCode === null) fw.child.kill('SIGTERM');
    const t = setTimeout(() => fw.child.kill('SIGKILL'), ms);
    const code = await fw.exited;
    clearTimeout(t);
    return code;
  }

  /** `ss -tan` lines (no header) inside the namespace. */
  async ssLines(): Promise<string[]> {
    const r = await this.execIn('ss', ['-tanH']);
    return r.stdout.toString().split('\n').filter((l) => l.trim().length > 0);
  }

  /**
   * The Linux side settles: within `settleMs`, no TCP connection in the namespace is left in
   * FIN-WAIT-1/2, CLOSING, CLOSE-WAIT or LAST-ACK. Throws with `ss -tan` otherwise.
   */
  async assertHostSettled(settleMs = 5_000): Promise<void> {
    const deadline = Date.now() + settleMs;
    for (;;) {
      const lines = await this.ssLines();
      const stuck = lines.filter((l) => /^(FIN-WAIT-1|FIN-WAIT-2|CLOSING|CLOSE-WAIT|LAST-ACK)\s/.test(l));
      if (stuck.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`connections stuck on the Linux side after ${settleMs} ms:\n${stuck.join('\n')}\nss -tan:\n${lines.join('\n')}`);
      }
      await sleep(200);
    }
  }

  /**
   * The device settles: within `settleMs`, its `netstat` (asked over a telnet session) shows
   * every socket CLOSED or in TIME-WAIT, apart from the listeners and the asking session.
   * Returns the last netstat output.
   */
  async assertDeviceSettled(settleMs = 5_000): Promise<string> {
    const c = await this.shell();
    try {
      const own = await c.localPort(this);
      const deadline = Date.now() + settleMs;
      for (;;) {
        const out = await c.command('netstat');
        const busy = deviceBusySockets(out, own);
        if (busy.length === 0) {
          await c.exit();
          return out;
        }
        if (Date.now() > deadline) {
          throw new Error(`device sockets not CLOSED or TIME-WAIT after ${settleMs} ms (asking session port ${own}):\n${busy.join('\n')}\n${out}`);
        }
        await sleep(250);
      }
    } finally {
      c.kill();
    }
  }

  /** Both sides settled (the check every interop test ends with). */
  async assertClean(settleMs = 5_000): Promise<void> {
    await this.assertHostSettled(settleMs);
    await this.assertDeviceSettled(settleMs);
    // The asking session's own close.
    await this.assertHostSettled(settleMs);
  }

  /** Stops everything and deletes the namespace. Safe to call twice, and after a failed start. */
  async stop(): Promise<void> {
    for (const p of this.procs.reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 3000);
        await p.exited;
        clearTimeout(t);
      }
    }
    this.procs.length = 0;
    deleteNamespace(this.ns);
    liveNamespaces.delete(this.ns);
  }
}

function runError(cmd: string, args: string[], r: RunResult): Error {
  return new Error(`${cmd} ${args.join(' ')} exited ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Device netstat lines whose socket is neither CLOSED nor TIME-WAIT, listeners and the session
 * from `ownPort` (192.0.2.2:23 <-> 192.0.2.1:ownPort) left out.
 */
export function deviceBusySockets(netstat: string, ownPort: number): string[] {
  const busy: string[] = [];
  for (const line of netstat.split(/\r?\n/)) {
    const m = /^tcp\s+\d+\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (m === null) continue;
    const [, local, remote, state] = m;
    if (state === 'LISTEN' || state === 'CLOSED' || state === 'TIME-WAIT') continue;
    if (local === `${DEVICE_IP}:23` && remote === `${HOST_IP}:${ownPort}`) continue;
    busy.push(line);
  }
  return busy;
}

/**
 * The real `telnet` client, driven through its stdin. Lines are typed with "\n" (in character
 * mode the client sends CR LF for it). Output is read from the client's stdout as the terminal
 * would show it (CR LF line ends); `expect` waits for text after a cursor and moves past it.
 */
export class TelnetClient {
  readonly proc: Proc;
  private cursor = 0;

  constructor(proc: Proc) {
    this.proc = proc;
  }

  /** Everything the client printed to stdout. */
  get text(): string {
    return this.proc.out;
  }

  /** Text not yet taken by `expect`. */
  get unread(): string {
    return this.proc.out.slice(this.cursor);
  }

  /** Waits for `pattern` after the cursor; returns the text up to and including it, and moves past it. */
  async expect(pattern: string, ms = 15_000): Promise<string> {
    const at = await this.proc.until(() => {
      const i = this.proc.out.indexOf(pattern, this.cursor);
      return i < 0 ? null : i;
    }, ms, JSON.stringify(pattern));
    const chunk = this.proc.out.slice(this.cursor, at + pattern.length);
    this.cursor = at + pattern.length;
    return chunk;
  }

  /** Types `text` (as is). */
  type(text: string): void {
    this.proc.child.stdin!.write(text);
  }

  /** Types the password; resolves with the text up to the first prompt. */
  async login(password: string): Promise<string> {
    this.type(`${password}\n`);
    return this.expect(PROMPT);
  }

  /** Types a command line; resolves with what it printed (the echoed line included, the next prompt not). */
  async command(line: string, ms = 15_000): Promise<string> {
    this.type(`${line}\n`);
    const out = await this.expect(`\r\n${PROMPT}`, ms);
    return out.slice(0, -PROMPT.length);
  }

  /** Types `exit`; resolves with the client's exit code once the device has closed the connection. */
  async exit(ms = 10_000): Promise<number | null> {
    this.type('exit\n');
    await this.expect('logout\r\n', ms);
    return this.closed(ms);
  }

  /** Resolves with the exit code once the client has exited (it does when the connection closes). */
  async closed(ms = 10_000): Promise<number | null> {
    const t = setTimeout(() => this.proc.child.kill('SIGKILL'), ms);
    const code = await this.proc.exited;
    clearTimeout(t);
    return code;
  }

  /** This client's local TCP port (from `ss -tanp` in the namespace). */
  async localPort(rig: Rig): Promise<number> {
    const pid = this.proc.child.pid;
    const r = await rig.execIn('ss', ['-tanpH', 'state', 'established', 'dport', '=', ':23']);
    for (const line of r.stdout.toString().split('\n')) {
      if (!line.includes(`pid=${pid},`)) continue;
      const m = /\s192\.0\.2\.1:(\d+)\s/.exec(line);
      if (m) return Number(m[1]);
    }
    throw new Error(`no telnet connection of pid ${pid} in:\n${r.stdout.toString()}`);
  }

  /** Ends the client at once (no effect once it has exited). */
  kill(): void {
    const c = this.proc.child;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}


/**
 * The device connects out: `xfer 192.0.2.1 <port> <octets>` typed into a fresh session, against
 * `rig.listenOnce` answering with `replyLen` random octets. Checks the device's two SHA-256
 * lines, what the listener received, and that the session ends cleanly.
 */
export async function xferRoundTrip(rig: Rig, dir: string, port: number, octets: number, replyLen: number, timeoutMs: number): Promise<void> {
  const reply = randomBytes(replyLen);
  const replyFile = join(dir, `reply-${port}`);
  const gotFile = join(dir, `got-${port}`);
  writeFileSync(replyFile, reply);
  const listener = await rig.listenOnce(port, replyFile, gotFile);
  const c = await rig.shell();
  try {
    const out = (await c.command(`xfer ${HOST_IP} ${port} ${octets}`, timeoutMs)).split('\r\n');
    expect(out[1]).to.equal(`xfer: connecting to ${HOST_IP} port ${port}, sending ${octets} octets`);
    expect(out[2]).to.equal(`sent ${octets} octets sha256 ${sha256(xferPattern(octets))}`);
    expect(out[3]).to.equal(`received ${replyLen} octets sha256 ${sha256(reply)}`);
    expect(out[4]).to.match(/^xfer: \d+ octets in [\d.]+ s$/);
    expect(await listener.exited).to.equal(0);
    expect(listener.out).to.contain(`received ${octets}`);
    expect(sha256(readFileSync(gotFile))).to.equal(sha256(xferPattern(octets)));
    expect(await c.exit()).to.equal(0);
  } finally {
    c.kill();
  }
}

/** Waits until something listens on TCP `port` in the namespace. */
export async function waitListening(rig: Rig, port: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await rig.execIn('ss', ['-tlnH', 'sport', '=', `:${port}`]);
    if (r.stdout.toString().includes(`:${port}`)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${ms} ms`);
    await sleep(50);
  }
}
