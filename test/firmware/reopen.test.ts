/**
 * A serial port that disappears and comes back (a USB-serial adapter pulled and put back): the
 * firmware says so, waits, opens the same path again when it reappears, and a TCP connection
 * that outlives the outage carries on with no data lost. The port is a symlink the test points
 * at a fresh pty (as udev re-creates /dev/ttyUSB0 or a /dev/serial/by-id link); the test's own
 * stack talks SLIP on the pty masters, moving from the old one to the new one.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { HostLoop } from '../../src/drivers/host-loop.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { Interface } from '../../src/iface/interface.ts';
import type { ByteLink } from '../../src/phy/device.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { SLIP_END } from '../../src/phy/slip.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER } from '../../src/time.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The test's end of the line: whichever pty master is current (none while unplugged). */
class SwitchLink implements ByteLink {
  current: FdLink | null = null;
  read(now: number, dst: Uint8Array, off: number, len: number): number {
    return this.current !== null ? this.current.read(now, dst, off, len) : 0;
  }
  write(now: number, src: Uint8Array, off: number, len: number): number {
    return this.current !== null && this.current.isOpen ? this.current.write(now, src, off, len) : len;
  }
  pollAt(now: number): number {
    return this.current !== null ? this.current.pollAt(now) : NEVER;
  }
}

function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

describe('firmware: the serial port disappears and comes back', function () {
  this.timeout(60_000);
  let child: ChildProcess | null = null;
  let dir = '';
  const ptys: PtyHandles[] = [];

  afterEach(() => {
    child?.kill('SIGKILL');
    child = null;
    for (const p of ptys.splice(0)) p.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('says so, reopens the same path when it reappears, and a TCP connection carries on with nothing lost', async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipstack-reopen-'));
    const port = join(dir, 'ttyUSB0');
    const first = openPtyPair();
    ptys.push(first);
    symlinkSync(first.slavePath, port);
    child = spawn(process.execPath, ['--import', 'tsx', join(root, 'firmware-bridge/firmware.ts'), '--port', port], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: 'x' },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    await until(() => /ready/.test(out), 20_000, 'ready');

    // The test's stack on the line, echoing through the device's port 7.
    const line = new SwitchLink();
    const pool = new PacketPool({ slots: 64, mtu: 1006 });
    const tcp = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4] });
    const iface = new Interface({ device: new SlipDevice(line, pool), address: HOST_A, tcp });
    const loop = new HostLoop([iface]);
    const attach = (pty: PtyHandles): void => {
      const link = new FdLink(pty.masterFd, { closeFd: false, name: 'test pty master', wakeOn: SLIP_END });
      link.onActivity(() => loop.wake());
      line.current = link;
      loop.wake();
    };
    attach(first);
    const running = loop.run();
    try {
      const sock = tcp.connect(loop.now(), HOST_B, 7)!;
      loop.wake();
      await until(() => sock.state === TcpState.Established, 10_000, 'the connection');
      const data = randomBytes(60_000);
      const back: Buffer[] = [];
      let sent = 0;
      let received = 0;
      const buf = new Uint8Array(4096);
      const pump = (): void => {
        if (sent < data.length) sent += Math.max(0, sock.send(data, sent, data.length - sent));
        for (;;) {
          const n = sock.recv(buf, 0, buf.length);
          if (n <= 0) break;
          back.push(Buffer.from(buf.subarray(0, n)));
          received += n;
        }
        loop.wake();
      };
      const pumper = setInterval(pump, 5);
      try {
        await until(() => received >= 20_000, 20_000, 'some echo before the outage');

        // Unplugged: the pty goes away under the firmware.
        const old = line.current!;
        line.current = null;
        await old.close();
        first.close();
        unlinkSync(port);
        await until(() => /disappeared .*waiting for it to come back/.test(out), 10_000, 'the firmware saying the port disappeared');
        expect(child.exitCode, 'the firmware keeps running').to.equal(null);
        await new Promise((r) => setTimeout(r, 1000));

        // Plugged back: a new pty under the same path.
        const second = openPtyPair();
        ptys.push(second);
        symlinkSync(second.slavePath, port);
        attach(second);
        await until(() => /is back after [\d.]+ s; reopened/.test(out), 10_000, 'the firmware reopening the port');
        await until(() => received === data.length, 30_000, 'every octet echoed');
      } finally {
        clearInterval(pumper);
      }
      const hash = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      expect(hash(Buffer.concat(back))).to.equal(hash(data));
      expect(sock.state).to.equal(TcpState.Established);
      sock.abort();
      sock.close();
    } finally {
      await loop.stop();
      await running;
      await line.current?.close();
    }
  });
});
