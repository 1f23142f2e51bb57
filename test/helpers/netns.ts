/**
 * Real-peer test rig: a network namespace of the test's own, host connect running inside it on
 * a fresh pty pair, the firmware on the other end of the pty, and the real Linux tools (ping,
 * nc, telnet, ss) run inside the namespace. 192.0.2.1 (host) and 192.0.2.2 (device) exist only
 * there. Everything is torn down afterwards, failures included: processes killed, namespace
 * deleted.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOST_IP = '192.0.2.1';
export const DEVICE_IP = '192.0.2.2';

/** True when this process may create namespaces and TUN devices (root with iproute2). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  return r.status === 0;
}

/** A child process whose output is collected. */
export interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  /** Resolves when a line matching `re` appears on stdout or stderr; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function track(child: ChildProcess): Proc {
  const p: Proc = {
    child,
    out: '',
    err: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    waitFor(re, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = re.exec(p.out) ?? re.exec(p.err);
          if (m) {
            cleanup();
            resolve(m);
            return true;
          }
          return false;
        };
        const onData = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${ms} ms waiting for ${re}\nstdout: ${p.out}\nstderr: ${p.err}`));
        }, ms);
        const onExit = (code: number | null): void => {
          if (!check()) {
            cleanup();
            reject(new Error(`process exited (${code}) before ${re}\nstdout: ${p.out}\nstderr: ${p.err}`));
          }
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.on('exit', onExit);
        check();
      });
    },
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => { p.out += d; });
  child.stderr?.on('data', (d: string) => { p.err += d; });
  return p;
}

export interface RigOptions {
  /** Extra firmware flags (e.g. ['--drop', '5']). */
  firmwareArgs?: string[];
  /** Extra host connect flags. */
  hostArgs?: string[];
  password?: string;
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
    execFileSync('ip', ['netns', 'add', this.ns]);
    execFileSync('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    this.host = this.spawnIn('node', ['--import', 'tsx', join(ROOT, 'firmware-bridge/host-connect.ts'), '--pty', '--tun', 'sl0', ...(options.hostArgs ?? [])]);
    const m = await this.host.waitFor(/device side: (\/dev\/pts\/\d+)/);
    this.firmware = this.spawn('node', ['--import', 'tsx', join(ROOT, 'firmware-bridge/firmware.ts'), '--port', m[1]!, '--password', this.password, ...(options.firmwareArgs ?? [])]);
    await this.firmware.waitFor(/listening|ready/i);
    await this.host.waitFor(/up: 192\.0\.2\.1/);
    // The link is up when the device answers a ping.
    for (let i = 0; i < 50; i++) {
      const r = this.runIn('ping', ['-c', '1', '-W', '1', DEVICE_IP], { allowFail: true });
      if (r.status === 0) return;
    }
    throw new Error(`the device never answered a ping\nhost: ${this.host.err}\nfirmware: ${this.firmware.err}`);
  }

  /** Spawns a command inside the namespace, output collected. */
  spawnIn(cmd: string, args: string[]): Proc {
    return this.spawn('ip', ['netns', 'exec', this.ns, cmd, ...args]);
  }

  spawn(cmd: string, args: string[]): Proc {
    const p = track(spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
    this.procs.push(p);
    return p;
  }

  /** Runs a command inside the namespace to completion. */
  runIn(cmd: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number; allowFail?: boolean } = {}): { status: number | null; stdout: Buffer; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns, cmd, ...args], {
      input: opts.input ?? '', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024,
    });
    if (!opts.allowFail && r.status !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${r.stderr?.toString()}`);
    }
    return { status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr?.toString() ?? '' };
  }

  /** Stops everything and deletes the namespace. Safe to call twice. */
  async stop(): Promise<void> {
    for (const p of this.procs.reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 3000);
        await once(p.child, 'exit').catch(() => {});
        clearTimeout(t);
      }
    }
    this.procs.length = 0;
    spawnSync('sh', ['-c', `ip netns pids ${this.ns} 2>/dev/null | xargs -r kill -9`]);
    spawnSync('ip', ['netns', 'del', this.ns], { stdio: 'ignore' });
  }
}
