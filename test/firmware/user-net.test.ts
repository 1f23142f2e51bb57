/**
 * The userspace host side (firmware-bridge/host/user-net.ts) with no Linux-only driver: the
 * line is an in-memory link, the firmware's Board is polled in the host side's own loop, and
 * real node:net clients on 127.0.0.1 go through the forwards (echo with SHA-256 and half-close,
 * discard, a refused device port as a reset, the ping control port). The import graph of the
 * userspace host modules holds neither pty.ts nor tun.ts nor anything that loads koffi.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { runUserNet, type UserNet } from '../../firmware-bridge/host/user-net.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { ipv4Address } from '../../src/wire/ipv4.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every file reachable from `file` through relative imports, and every package it names. */
function importGraph(file: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (f: string): void => {
    if (files.has(f)) return;
    files.add(f);
    const text = readFileSync(join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']*)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(relative(ROOT, resolve(ROOT, dirname(f), spec)));
      else packages.add(spec);
    }
    for (const m of text.matchAll(/\bimport\(\s*'([^']*)'/g)) packages.add(`dynamic:${m[1]}`);
  };
  visit(file);
  return { files, packages };
}

async function withUserNet(fn: (net: UserNet, port: (devicePort: number) => number) => Promise<void>): Promise<void> {
  const pair = new MemoryLinkPair({ capacity: 1 << 16 });
  const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw'], {})!;
  const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
  const net = await runUserNet({
    link: pair.b, hostIp: ipv4Address('192.0.2.1'), deviceIp: ipv4Address('192.0.2.2'), mtu: config.mtu, baud: 115200,
    uartTiming: false, bind: '127.0.0.1', controlPort: 0,
    // Port 0: the system picks free ports, so the test never collides with anything.
    forwards: [{ hostPort: 0, devicePort: 7 }, { hostPort: 0, devicePort: 9 }, { hostPort: 0, devicePort: 4444 }],
    alsoPoll: [board],
  });
  board.network?.attach(net.loop);
  try {
    await fn(net, (devicePort) => net.forwards.find((f) => f.devicePort === devicePort)!.hostPort);
  } finally {
    await net.stop();
    board.shutdown();
  }
}

function open(port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  return once(s, 'connect').then(() => s);
}

describe('userspace host side (in memory, no pty, no TUN)', function () {
  this.timeout(30_000);

  it('loads without the Linux-only drivers: no pty.ts, tun.ts, libc.ts or fd-link.ts, no koffi, no serialport', () => {
    for (const entry of ['firmware-bridge/host/user-net.ts', 'firmware-bridge/host/user-net-main.ts', 'firmware-bridge/host/ping.ts', 'firmware-bridge/host/addresses.ts']) {
      const { files, packages } = importGraph(entry);
      const linuxOnly = [...files].filter((f) => /src\/drivers\/(pty|tun|libc|fd-link|fd-poll|serial-link)\.ts$/.test(f));
      expect(linuxOnly, entry).to.deep.equal([]);
      expect([...packages].filter((p) => /koffi|serialport/.test(p)), entry).to.deep.equal([]);
    }
    // The line on other OSes: serialport's stream, no libc; SerialLink only by a dynamic import taken on Linux.
    const { files, packages } = importGraph('firmware-bridge/host/user-net-line.ts');
    expect([...files].filter((f) => /src\/drivers\/(pty|tun|libc|fd-link|fd-poll|serial-link)\.ts$/.test(f))).to.deep.equal([]);
    expect([...packages].filter((p) => /koffi/.test(p))).to.deep.equal([]);
    expect([...packages]).to.include('dynamic:../../src/drivers/serial-link.ts');
  });

  it('echo through a forward: 1 MiB, SHA-256 equal, half-close passed both ways', async () => {
    await withUserNet(async (net, port) => {
      const s = await open(port(7));
      const sent = createHash('sha256');
      const got = createHash('sha256');
      let received = 0;
      s.on('data', (d: Buffer) => { got.update(d); received += d.length; });
      const ended = once(s, 'end');
      for (let i = 0; i < 64; i++) {
        const chunk = Buffer.alloc(16384, i);
        sent.update(chunk);
        if (!s.write(chunk)) await once(s, 'drain');
      }
      s.end();
      await ended;
      expect(received).to.equal(1 << 20);
      expect(got.digest('hex')).to.equal(sent.digest('hex'));
      expect(net.stats.toDevice).to.equal(1 << 20);
      s.destroy();
    });
  });

  it('discard takes what is sent; a refused device port resets the local connection', async () => {
    await withUserNet(async (net, port) => {
      const d = await open(port(9));
      d.end(Buffer.alloc(100_000, 1));
      await once(d, 'end');
      d.destroy();
      const r = await open(port(4444));
      const [err] = await once(r, 'error') as [NodeJS.ErrnoException];
      expect(err.code).to.equal('ECONNRESET');
      expect(net.stats.reset).to.be.greaterThan(0);
    });
  });

  it('the control port runs a ping of the device and writes back iputils-worded lines', async () => {
    await withUserNet(async (net) => {
      const s = await open(net.controlPort);
      s.setEncoding('utf8');
      let out = '';
      s.on('data', (t: string) => { out += t; });
      const ended = once(s, 'end');
      s.write('ping 2 100\n');
      await ended;
      expect(out).to.match(/^PING 192\.0\.2\.2 \(192\.0\.2\.2\) 100\(128\) bytes of data\./);
      expect(out).to.match(/108 bytes from 192\.0\.2\.2: icmp_seq=2/);
      expect(out).to.match(/2 packets transmitted, 2 received, 0% packet loss/);
      s.destroy();
    });
  });
});
