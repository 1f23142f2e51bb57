/**
 * `npm start` as root runs it: the virtual board comes up on a TUN interface, the host's own
 * ping reaches it, Ctrl-C stops both programs with exit 0. (Without root: user-net.test.ts.)
 * It runs inside a namespace of its own, so slip0 and 192.0.2.1 exist only there.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interopDescribe } from '../helpers/netns.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START = join(root, 'firmware-bridge/start.ts');

interopDescribe('interop: npm start (the virtual board)', function () {
  this.timeout(60_000);
  const ns = `slipstack-start-${randomBytes(3).toString('hex')}`;

  before(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });

  after(() => {
    spawnSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`]);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('comes up, prints what to try and a generated password, answers ping, and stops on Ctrl-C with exit 0', async () => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', START], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: '' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 400 && !/Ctrl-C stops both/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).to.match(/start:\s+ping 192\.0\.2\.2/);
    expect(out).to.match(/telnet 192\.0\.2\.2\s+\(password for this run: \S+\)/);
    const ping = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.2'], { encoding: 'utf8' });
    expect(ping.stdout).to.match(/3 packets transmitted, 3 received, 0% packet loss/);
    child.kill('SIGINT');
    expect(await exited).to.equal(0);
    expect(out).to.match(/firmware: stopped/);
    expect(out).to.match(/host-connect: forwarded/);
  });
}, ['ip', 'ping']);
