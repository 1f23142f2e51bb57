/**
 * `npm start` without root: run as the unprivileged user `nobody` (setpriv) inside a namespace of
 * the test's own (so its 127.0.0.1 ports are nobody else's), it brings up the userspace host
 * side. Through the forwards, with real clients: a telnet login on 127.0.0.1:2323 with the real
 * `telnet`, 10 MiB echoed through 2307 (SHA-256 equal), 100 MiB to discard through 2309 (RSS
 * bounded), chargen through
 * 2319 to a slow reader while the host process's memory stays bounded (its peak RSS is printed),
 * `npm run ping` answered; Ctrl-C ends it with exit 0.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopDescribe, PROMPT, TelnetClient, track, type Proc } from '../helpers/netns.ts';
import { noteSkip } from '../helpers/tools.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START = join(root, 'firmware-bridge/start.ts');
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const MiB = 1 << 20;

/** Why `nobody` cannot run the checkout here, or null. */
function nobodyCannotRun(): string | null {
  const r = spawnSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, '--import', 'tsx', '-e', 'await import(process.argv[1])', join(root, 'firmware-bridge/limits.ts')], { cwd: root, encoding: 'utf8' });
  if (r.error !== undefined) return `setpriv: ${r.error.message}`;
  if (r.status !== 0) return `the unprivileged user cannot read the checkout here (${r.stderr.trim().split('\n')[0]})`;
  // npm start makes a pty pair: the unprivileged user must be able to open /dev/ptmx.
  const pty = spawnSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, '-e', "require('node:fs').closeSync(require('node:fs').openSync('/dev/ptmx', 'r+'))"], { encoding: 'utf8' });
  if (pty.status !== 0) return `the unprivileged user cannot open /dev/ptmx here (${/E[A-Z]+/.exec(pty.stderr)?.[0] ?? 'failed'}), so it cannot make a pty pair`;
  return null;
}

/** kB from a /proc/PID/status field (VmRSS, VmHWM). */
function procKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

interopDescribe('interop: npm start without root (the userspace host side)', function () {
  this.timeout(120_000);
  const ns = `slipstack-usernet-${randomBytes(3).toString('hex')}`;
  let start: Proc;
  let hostPid = 0;
  const inNs = (cmd: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 16 * MiB });

  before(async function () {
    const why = nobodyCannotRun();
    if (why !== null) {
      noteSkip(`npm start without root: ${why}`);
      if (this.test?.parent !== undefined) this.test.parent.title += ` (pending: ${why})`;
      this.skip();
    }
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    start = track(spawn('ip', ['netns', 'exec', ns, ...NOBODY, process.execPath, '--import', 'tsx', START], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: 'usernet-pw', HOME: '/tmp' },
    }));
    await start.waitFor(/Ctrl-C stops both/, 30_000);
    for (const pid of execFileSync('ip', ['netns', 'pids', ns]).toString().trim().split('\n')) {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('host-connect.ts')) hostPid = Number(pid);
    }
  });

  after(() => {
    start?.child.kill('SIGKILL');
    spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`]);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('says it runs the userspace host side and prints exactly the commands of that mode', () => {
    expect(start.out).to.contain('userspace host side');
    expect(start.out).to.match(/start:\s+npm run ping\n/);
    expect(start.out).to.match(/start:\s+telnet 127\.0\.0\.1 2323\n/);
    expect(start.out).to.match(/start:\s+nc 127\.0\.0\.1 2307 /);
    expect(start.out).to.not.match(/ping 192\.0\.2\.2|telnet 192\.0\.2\.2|needs root/);
    expect(hostPid).to.be.greaterThan(0);
  });

  it('telnet 127.0.0.1 2323 with the real client logs in to the device', async () => {
    const telnet = new TelnetClient(track(spawn('ip', ['netns', 'exec', ns, 'telnet', '127.0.0.1', '2323'], { stdio: ['pipe', 'pipe', 'pipe'] })));
    await telnet.expect('Password: ');
    expect(await telnet.login('usernet-pw')).to.contain(PROMPT);
    expect(await telnet.command('netstat')).to.match(/192\.0\.2\.2:23\s+192\.0\.2\.1:\d+\s+ESTABLISHED/);
    expect(await telnet.exit()).to.equal(0);
  });

  it('echo: 10 MiB through 127.0.0.1:2307, SHA-256 equal', () => {
    // The same bytes both ways: a file in a private temporary directory.
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    try {
      execFileSync('sh', ['-c', `head -c ${10 * MiB} /dev/urandom > ${dir}/in`]);
      const sent = execFileSync('sha256sum', [`${dir}/in`]).toString().split(' ')[0];
      const got = inNs('sh', '-c', `nc -N 127.0.0.1 2307 < ${dir}/in | sha256sum`);
      expect(got.status, got.stderr).to.equal(0);
      expect(got.stdout.split(' ')[0]).to.equal(sent);
    } finally {
      spawnSync('rm', ['-rf', dir]);
    }
  });

  it('discard: 100 MiB through 127.0.0.1:2309 are taken, the connection closes cleanly, memory stays bounded', () => {
    const before = procKb(hostPid, 'VmRSS');
    const r = inNs('sh', '-c', `head -c ${100 * MiB} /dev/zero | nc -N 127.0.0.1 2309 | wc -c`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('0');
    const after = procKb(hostPid, 'VmRSS');
    console.log(`      host process RSS: ${(before / 1024).toFixed(1)} MiB before 100 MiB to discard, ${(after / 1024).toFixed(1)} MiB after, ` +
      `peak so far ${(procKb(hostPid, 'VmHWM') / 1024).toFixed(1)} MiB`);
    // The transfer is paced by the device's TCP window, not buffered here: far less than 100 MiB.
    expect(after - before).to.be.lessThan(64 * 1024);
  });

  it('chargen to a slow reader through 127.0.0.1:2319: the host process stays bounded (peak RSS reported)', async () => {
    const rssBefore = procKb(hostPid, 'VmRSS');
    // A reader that takes 4 KiB every 20 ms for 6 s: far slower than the line.
    const script = `const s = require('node:net').connect({ port: 2319, host: '127.0.0.1' });
      let n = 0; s.pause();
      const t = setInterval(() => { const d = s.read(4096); if (d !== null) n += d.length; }, 20);
      setTimeout(() => { clearInterval(t); s.destroy(); console.log(n); }, 6000);`;
    const reader = track(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let peakDuring = 0;
    while (reader.child.exitCode === null) {
      peakDuring = Math.max(peakDuring, procKb(hostPid, 'VmRSS'));
      await new Promise((r) => setTimeout(r, 200));
    }
    await reader.exited;
    const read = Number(reader.out.trim());
    const hwm = procKb(hostPid, 'VmHWM');
    console.log(`      host process RSS: ${(rssBefore / 1024).toFixed(1)} MiB before chargen, ${(peakDuring / 1024).toFixed(1)} MiB at most during it, ` +
      `peak (VmHWM, whole run incl. the 10 MiB echo) ${(hwm / 1024).toFixed(1)} MiB; the slow reader took ${read} octets`);
    expect(read).to.be.greaterThan(0);
    // Bounded: a stalled reader leaves the rest in the device's TCP window, not in this process.
    expect(peakDuring - rssBefore).to.be.lessThan(32 * 1024);
    expect(hwm).to.be.lessThan(300 * 1024);
  });

  it('npm run ping is answered by the device', () => {
    const r = spawnSync('ip', ['netns', 'exec', ns, ...NOBODY, 'npm', 'run', '-s', 'ping', '--', '--count', '3', '--size', '200'], {
      cwd: root, encoding: 'utf8', env: { ...process.env, HOME: '/tmp', npm_config_cache: '/tmp/.npm-nobody' },
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^PING 192\.0\.2\.2 \(192\.0\.2\.2\) 200\(228\) bytes of data\./);
    expect(r.stdout).to.match(/3 packets transmitted, 3 received, 0% packet loss/);
  });

  it('Ctrl-C ends it with exit 0', async () => {
    start.child.kill('SIGINT');
    expect(await start.exited).to.equal(0);
    expect(start.out).to.match(/host-connect: forwarded \d+ connections/);
    expect(start.out).to.match(/firmware: stopped/);
  });
}, ['ip', 'nc', 'telnet', 'setpriv']);
