/**
 * Real peer: Debian's `slirp` (1.0.17), a userspace SLIP/CSLIP server with its own BSD-derived
 * VJ compressor and decompressor, on the other end of a pty from the firmware. Slirp makes the
 * device a host behind NAT: its redirections carry connections from this host's ports to the
 * device's services, and the device's own connections to 10.0.2.2 reach this host's loopback.
 * Everything runs in a network namespace of the test's own (slirp listens there).
 *
 * Two pairings: the firmware forced to cslip against slirp's autodetection, and the firmware
 * with no mode flag (adaptive) against slirp started in CSLIP. Each time: a telnet login, echo,
 * chargen after a half-close, the device connecting out (xfer) both ways; then slirp's own
 * statistics must show our compressed frames taken with no bad checksum.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { xferPattern } from '../../firmware-bridge/telnet/xfer.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { type Proc, TelnetClient, interopDescribe, track } from '../helpers/netns.ts';
import { sha256 } from '../../support/pattern.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIRMWARE = join(ROOT, 'firmware-bridge', 'firmware.ts');
/** devpts' own pty multiplexer node. */
const PTS_PTMX = '/dev/pts/ptmx';
const KiB = 1024;

interface Pairing {
  title: string;
  firmwareArgs: string[];
  slirpArgs: string[];
  /** The proto line the device's shell must show. */
  proto: RegExp;
}

const PAIRINGS: Pairing[] = [
  {
    title: 'firmware --proto cslip, slirp autodetecting',
    firmwareArgs: ['--proto', 'cslip'],
    slirpArgs: [],
    proto: /proto cslip: compressing TCP\/IP headers \(RFC 1144\)/,
  },
  {
    title: 'firmware with no mode flag (adaptive), slirp in CSLIP from the start',
    firmwareArgs: [],
    slirpArgs: ['compress'],
    proto: /proto adaptive: compressing TCP\/IP headers \(RFC 1144\), switched on by the peer/,
  },
];

for (const pairing of PAIRINGS) {
  interopDescribe(`interop: Debian's slirp as the CSLIP peer (${pairing.title})`, function () {
    this.timeout(120_000);
    const ns = `slipstack-slirp${process.pid}-${randomBytes(3).toString('hex')}`;
    const password = 'slirp-' + randomBytes(4).toString('hex');
    let dir = '';
    let ptsPtmxMode = -1;
    let pty: PtyHandles | null = null;
    let slirp: Proc | null = null;
    let firmware: Proc | null = null;
    const cleanup = (): void => {
      execFileSync('sh', ['-c', `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9; ip netns del ${ns} 2>/dev/null; true`]);
    };

    function inNs(cmd: string, args: string[], options: { stdio?: ('pipe' | number)[]; cwd?: string } = {}): Proc {
      const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: options.stdio ?? ['pipe', 'pipe', 'pipe'], cwd: options.cwd ?? ROOT });
      return track(child);
    }

    /** `sh -c` in the namespace; resolves with stdout once it exits 0. */
    async function sh(script: string, ms = 60_000): Promise<Buffer> {
      const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      if (code !== 0) throw new Error(`\`${script}\` exited ${code}: ${err}`);
      return Buffer.concat(out);
    }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'slipstack-slirp-'));
      process.once('exit', cleanup);
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // slirp talks on its stdin/stdout: the pty's master. It also does fchmod(0, 0600) on
      // that fd, which through /dev/ptmx would shut every other user out of ptys. The master is
      // opened through devpts' own node instead (/dev/pts/ptmx, mode 000: root's only), whose
      // mode the test puts back afterwards. (A node of the test's own will not do: the kernel
      // finds the pty instance through a `pts` directory beside the node.)
      ptsPtmxMode = statSync(PTS_PTMX).mode & 0o7777;
      pty = openPtyPair({ ptmxPath: PTS_PTMX });
      const ptmxMode = statSync('/dev/ptmx').mode & 0o7777;
      // Redirections to the device's telnet, echo and chargen; no rate limit of its own (-S: statistics to slirp_stats at exit).
      slirp = inNs('slirp', ['-S', 'baudrate 4000000', 'redir 5023 23', 'redir 5007 7', 'redir 5019 19', ...pairing.slirpArgs],
        { stdio: [pty.masterFd, pty.masterFd, 'pipe'], cwd: dir });
      await slirp.waitFor(/SLiRP Ready/, 15_000);
      expect((statSync('/dev/ptmx').mode & 0o7777).toString(8), "/dev/ptmx's mode with slirp running").to.equal(ptmxMode.toString(8));
      firmware = track(spawn('node', ['--import', 'tsx', FIRMWARE, '--port', pty.slavePath,
        '--ip', '10.0.2.15', '--peer', '10.0.2.2', ...pairing.firmwareArgs], { cwd: ROOT, env: { ...process.env, SLIPSTACK_PASSWORD: password } }));
      await firmware.waitFor(/ready/, 30_000);
    });

    after(async () => {
      for (const p of [firmware, slirp]) {
        if (p !== null && p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGKILL');
          await p.exited;
        }
      }
      pty?.close();
      if (ptsPtmxMode >= 0 && (statSync(PTS_PTMX).mode & 0o7777) !== ptsPtmxMode) chmodSync(PTS_PTMX, ptsPtmxMode);
      cleanup();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('telnet through slirp\'s redirection: login, and the shell shows compression in force', async () => {
      const client = new TelnetClient(inNs('telnet', ['127.0.0.1', '5023']));
      try {
        await client.expect('Password: ', 20_000);
        await client.login(password);
        const stats = await client.command('stats');
        expect(stats).to.match(pairing.proto);
        expect(stats).to.match(/vj\.in\.compressed [1-9]\d*/);
        expect(await client.exit()).to.equal(0);
      } finally {
        client.kill();
      }
    });

    it('echo: 256 KiB of random data come back with the same SHA-256', async () => {
      const data = randomBytes(256 * KiB);
      writeFileSync(join(dir, 'echo.in'), data);
      const out = await sh(`nc -N 127.0.0.1 5007 < ${dir}/echo.in`, 90_000);
      expect(out.length).to.equal(data.length);
      expect(sha256(out)).to.equal(sha256(data));
    });

    it('chargen keeps sending after nc half-closes: 64 KiB read', async () => {
      const out = await sh('nc -N 127.0.0.1 5019 < /dev/null | head -c 65536', 60_000);
      expect(out.length).to.equal(65536);
      expect(out.subarray(0, 74).toString('latin1')).to.equal(`${Array.from({ length: 72 }, (_, i) => String.fromCharCode(0x20 + i)).join('')}\r\n`);
    });

    it('the device connects out through slirp\'s NAT (xfer 10.0.2.2): 128 KiB each way, intact', async () => {
      const reply = randomBytes(128 * KiB);
      writeFileSync(join(dir, 'reply'), reply);
      const script = `
        import net from 'node:net';
        import fs from 'node:fs';
        const [replyFile, outFile] = process.argv.slice(1);
        const server = net.createServer({ allowHalfOpen: true }, (sock) => {
          server.close();
          const chunks = [];
          sock.on('data', (d) => chunks.push(d));
          sock.on('end', () => { fs.writeFileSync(outFile, Buffer.concat(chunks)); console.log('received ' + Buffer.concat(chunks).length); });
          fs.createReadStream(replyFile).pipe(sock);
        });
        server.listen(5555, '127.0.0.1', () => console.log('listening'));
      `;
      const listener = inNs('node', ['--input-type=module', '-e', script, join(dir, 'reply'), join(dir, 'got')]);
      await listener.waitFor(/listening/, 10_000);
      const client = new TelnetClient(inNs('telnet', ['127.0.0.1', '5023']));
      try {
        await client.expect('Password: ', 20_000);
        await client.login(password);
        const octets = 128 * KiB;
        const lines = (await client.command(`xfer 10.0.2.2 5555 ${octets}`, 90_000)).split('\r\n');
        expect(lines[2]).to.equal(`sent ${octets} octets sha256 ${sha256(xferPattern(octets))}`);
        expect(lines[3]).to.equal(`received ${reply.length} octets sha256 ${sha256(reply)}`);
        await listener.exited;
        expect(sha256(readFileSync(join(dir, 'got')))).to.equal(sha256(xferPattern(octets)));
        expect(await client.exit()).to.equal(0);
      } finally {
        client.kill();
      }
    });

    it('slirp decompressed every compressed frame we sent (no bad checksum), and we its', async () => {
      const fw = firmware!;
      fw.child.kill('SIGTERM');
      expect(await fw.exited).to.equal(0);
      const m = /headers compressed (\d+) out, (\d+) in, (\d+) tossed/.exec(fw.out);
      expect(m, fw.out).to.not.equal(null);
      expect(Number(m![1]), 'compressed frames sent').to.be.greaterThan(100);
      expect(Number(m![2]), 'compressed frames received').to.be.greaterThan(100);
      slirp!.child.kill('SIGTERM');
      await slirp!.exited;
      const stats = readFileSync(join(dir, 'slirp_stats'), 'utf8');
      expect(stats).to.contain('VJ compression is on');
      const badSums = /(\d+) discarded for bad checksums/.exec(stats);
      expect(Number(badSums![1]), `slirp's TCP checksum failures:\n${stats}`).to.equal(0);
      const compressedIn = /(\d+) inbound compressed packets/.exec(stats);
      expect(Number(compressedIn![1])).to.be.greaterThan(100);
      expect(/(\d+) inbound packets tossed due to error/.exec(stats)![1]).to.equal('0');
    });
  }, ['ip', 'nc', 'telnet', 'slirp']);
}
