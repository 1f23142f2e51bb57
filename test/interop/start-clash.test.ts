/**
 * No silent clash: in a namespace whose `lo` already holds 192.0.2.2/24 (this kernel has no
 * dummy module), `npm start` picks the next free pair, says so, and the host's own ping and
 * telnet reach the firmware (its ICMP counters move), not the host. Host connect and
 * `npm start -- --ip/--peer` with the taken pair refuse with one line naming the interface.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopDescribe, PROMPT, TelnetClient, track } from '../helpers/netns.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START = join(root, 'firmware-bridge/start.ts');
const HOST_CONNECT = join(root, 'firmware-bridge/host-connect.ts');

function echoReplied(stats: string): number {
  const m = /\r\nicmp:\r\n[^]*?\becho\.?[Rr]eplied (\d+)|echoReplied (\d+)/.exec(stats);
  expect(m, stats).to.not.equal(null);
  return Number(m![1] ?? m![2]);
}

interopDescribe('interop: npm start where 192.0.2.2 is taken', function () {
  this.timeout(60_000);
  const ns = `slipstack-clash-${randomBytes(3).toString('hex')}`;
  const inNs = (cmd: string, ...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: root, encoding: 'utf8' });

  before(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', '192.0.2.2/24', 'dev', 'lo']);
  });

  after(() => {
    spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`]);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('host connect with the taken pair refuses with one line naming lo and the flags', () => {
    const r = inNs(process.execPath, '--import', 'tsx', HOST_CONNECT, '--pty', '--host-ip', '192.0.2.1', '--device-ip', '192.0.2.2');
    expect(r.status).to.equal(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^host-connect: 192\.0\.2\.2 is already an address of this machine \(interface lo\): choose a free pair with --host-ip A\.B\.C\.D --device-ip A\.B\.C\.D/);
    // Nothing was brought up.
    expect(inNs('ip', '-o', 'link').stdout).to.not.match(/slip0|tun/);
  });

  it('npm start -- --ip 192.0.2.2 refuses the same way', () => {
    const r = inNs(process.execPath, '--import', 'tsx', START, '--ip', '192.0.2.2', '--peer', '192.0.2.1');
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.match(/^start: 192\.0\.2\.2 is already an address of this machine \(interface lo\): choose a free pair with --ip DEVICE --peer HOST/);
  });

  it('npm start picks 198.51.100.1/.2, says so, and ping and telnet reach the firmware', async () => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', START], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: 'clash-pw' },
    });
    const p = track(child);
    try {
      await p.waitFor(/Ctrl-C stops both/, 30_000);
      expect(p.out).to.contain('start: 192.0.2.2 is already an address of this machine (interface lo): using host 198.51.100.1 and device 198.51.100.2 instead');
      expect(p.out).to.match(/start:\s+ping 198\.51\.100\.2\n/);
      expect(p.out).to.match(/start:\s+telnet 198\.51\.100\.2\n/);
      expect(p.out).to.match(/firmware: .* 198\.51\.100\.2 peer 198\.51\.100\.1/);

      const telnet = new TelnetClient(track(spawn('ip', ['netns', 'exec', ns, 'telnet', '198.51.100.2'], { stdio: ['pipe', 'pipe', 'pipe'] })));
      await telnet.expect('Password: ');
      expect(await telnet.login('clash-pw')).to.contain(PROMPT);
      const before = echoReplied(await telnet.command('stats'));
      const ping = inNs('ping', '-c', '3', '-i', '0.2', '-W', '2', '198.51.100.2');
      expect(ping.stdout).to.match(/3 packets transmitted, 3 received, 0% packet loss/);
      const after = echoReplied(await telnet.command('stats'));
      // The firmware answered the three, not the namespace's own lo.
      expect(after - before).to.equal(3);
      expect(await telnet.exit()).to.equal(0);
    } finally {
      child.kill('SIGINT');
    }
    expect(await p.exited).to.equal(0);
  });
}, ['ip', 'ping', 'telnet']);
