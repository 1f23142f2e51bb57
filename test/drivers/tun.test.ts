import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { noteSkip, skipWithout } from '../helpers/tools.ts';

const CHILD = fileURLToPath(new URL('./tun-echo.child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO, timeout: 30_000, ...options }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Collects a child's stdout as JSON lines; `next(pred)` waits for the first line that matches. */
class JsonLines {
  readonly lines: Array<Record<string, unknown>> = [];
  private waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  private partial = '';

  constructor(child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      this.partial += text;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const obj = JSON.parse(line) as Record<string, unknown>;
        this.lines.push(obj);
        this.waiters = this.waiters.filter((w) => (w.pred(obj) ? (w.resolve(obj), false) : true));
      }
    });
  }

  next(pred: (l: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> {
    const found = this.lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not seen after ${ms} ms; lines: ${JSON.stringify(this.lines)}`)), ms);
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

describe('drivers/tun: a TUN interface in a test network namespace', function () {
  const ns = `slipstack-test-${randomBytes(4).toString('hex')}`;
  let created = false;
  let child: ChildProcess | null = null;

  before(async function () {
    if (process.getuid?.() !== 0) {
      noteSkip('TUN tests: needs root');
      this.skip(); // TUN and `ip netns` need root
    }
    if (!existsSync('/dev/net/tun')) {
      noteSkip('TUN tests: needs /dev/net/tun');
      this.skip();
    }
    skipWithout(this, 'ip');
    const added = await run('ip', ['netns', 'add', ns]);
    if (added.code !== 0) throw new Error(`ip netns add ${ns}: ${added.stderr}`);
    created = true;
  });

  afterEach(() => {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = null;
  });

  after(async () => {
    if (created) {
      const deleted = await run('ip', ['netns', 'del', ns]);
      expect(deleted.code, deleted.stderr).to.equal(0);
    }
  });

  for (const mode of ['push', 'pull'] as const) {
    it(`receives an ICMP echo request from ping and answers it by hand (${mode} mode)`, async function () {
      skipWithout(this, 'ping');
      const name = `sltest${mode === 'push' ? 0 : 1}`;
      child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', CHILD, name, '192.0.2.1', '192.0.2.2', mode], {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const out = new JsonLines(child);
      const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

      const ready = await Promise.race([
        out.next((l) => 'ready' in l || 'error' in l, 20_000, 'child ready'),
        exited.then((code) => {
          throw new Error(`child exited ${code}: ${stderr}`);
        }),
      ]);
      expect(ready, JSON.stringify(ready)).to.deep.equal({ ready: true, name });

      // The interface exists in the namespace only.
      const inside = await run('ip', ['netns', 'exec', ns, 'ip', '-o', 'addr', 'show', 'dev', name]);
      expect(inside.stdout).to.contain('inet 192.0.2.1 peer 192.0.2.2/32');
      expect((await run('ip', ['link', 'show', name])).code).to.not.equal(0);

      const ping = await run('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', '192.0.2.2']);
      const request = await out.next((l) => 'request' in l, 5000, 'echo request');
      expect(request.request).to.include({ src: '192.0.2.1', dst: '192.0.2.2', len: 84, replied: true, mode });
      expect(ping.code, ping.stdout + ping.stderr).to.equal(0);
      expect(ping.stdout).to.contain('1 received');

      child.stdin!.end(); // the child closes the TUN and exits
      expect(await exited).to.equal(0);
      const { stats } = (await out.next((l) => 'stats' in l, 5000, 'stats')) as { stats: Record<string, number> };
      expect(stats.rxPackets).to.be.at.least(1);
      expect(stats.txPackets).to.equal(1);
      expect(stats.txErrors).to.equal(0);
      // IPv6 router solicitations are dropped and counted (none arrive where IPv6 is disabled).
      expect(stats.droppedNonIpv4).to.be.at.least(0);
      // Closing the fd removed the interface.
      expect((await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'show', name])).code).to.not.equal(0);
    });
  }

  it('without CAP_NET_ADMIN: "TUN needs root (CAP_NET_ADMIN): run with sudo"', async function () {
    // As nobody (65534) in the root namespace: TUNSETIFF is refused before anything is created.
    const result = await run(process.execPath, ['--import', 'tsx', CHILD, 'sltestx'], {
      uid: 65534,
      gid: 65534,
    });
    const line = result.stdout.trim().split('\n').pop() ?? '';
    if (!line.startsWith('{')) this.skip(); // e.g. the repository is not readable by nobody
    expect(JSON.parse(line)).to.deep.equal({ error: 'TUN needs root (CAP_NET_ADMIN): run with sudo', code: 'EPERM' });
  });
});
