/**
 * The firmware as a user runs it: its own process on a real pty, its messages, its exit codes.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { HostLoop } from '../../src/drivers/host-loop.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { Interface } from '../../src/iface/interface.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { SLIP_END } from '../../src/phy/slip.ts';
import { UartTimedLink } from '../../src/phy/uart.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER } from '../../src/time.ts';
import { HOST_A as HOST, HOST_B as DEVICE } from '../../support/addresses.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function firmware(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'firmware-bridge/firmware.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: '', ...env },
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, out: () => text, exit: new Promise((r) => child.on('exit', (code) => r(code))) };
}

async function waitFor(run: Run, re: RegExp, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(run.out())) {
    if (run.child.exitCode !== null || Date.now() - t0 > ms) throw new Error(`no ${re} in: ${run.out()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('firmware process', function () {
  this.timeout(60_000);
  let pty: PtyHandles | null = null;

  afterEach(() => {
    pty?.close();
    pty = null;
  });

  it('refuses a missing port with one line naming the fix, exit 1', async () => {
    const run = firmware(['--port', '/dev/does-not-exist', '--password', 'x']);
    expect(await run.exit).to.equal(1);
    expect(run.out().trim()).to.equal('firmware: no such port /dev/does-not-exist: check the path (ls /dev/tty*)');
  });

  it('refuses a bad flag with one line and exit 2', async () => {
    const run = firmware(['--port', 'x', '--mtu', 'big']);
    expect(await run.exit).to.equal(2);
    expect(run.out().trim()).to.equal("firmware: --mtu wants a whole number, got 'big'");
  });

  it('without a password says telnet is off and why, and still serves the rest', async () => {
    pty = openPtyPair();
    const run = firmware(['--port', pty.slavePath]);
    await waitFor(run, /ready/);
    expect(run.out()).to.match(/telnet is off: no password \(give --password or SLIPSTACK_PASSWORD, or --insecure-no-login\)/);
    expect(run.out()).to.match(/listening: echo 7 \(TCP and UDP\), discard 9, chargen 19/);
    run.child.kill('SIGTERM');
    expect(await run.exit).to.equal(0);
  });

  it('SIGTERM closes cleanly with exit 0 and a summary', async () => {
    pty = openPtyPair();
    const run = firmware(['--port', pty.slavePath], { SLIPSTACK_PASSWORD: 'from-env' });
    await waitFor(run, /ready/);
    expect(run.out()).to.match(/listening: telnet 23, echo 7/);
    run.child.kill('SIGTERM');
    expect(await run.exit).to.equal(0);
    expect(run.out()).to.match(/SIGTERM: closing connections/);
    expect(run.out()).to.match(/stopped: \d+ frames in, \d+ out/);
  });

  it('a saturated line is read in batches while busy, a ping on a quiet line as it arrives; the summary counts both', async () => {
    pty = openPtyPair();
    // A pty is a line with a rate only when both ends pace to one (--uart-timing): the firmware
    // reads in batches only then (an unpaced pty is read on arrival: batches would cap it).
    const run = firmware(['--port', pty.slavePath, '--baud', '3000000', '--mtu', '1006', '--uart-timing'], { SLIPSTACK_PASSWORD: 'x' });
    await waitFor(run, /ready/);
    // The host end paces its writes to 3 Mbaud too, as host connect --uart-timing does.
    const link = new FdLink(pty.masterFd, { closeFd: false, name: 'test pty', wakeOn: SLIP_END });
    const tcp = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4] });
    const line = new UartTimedLink(link, 3_000_000);
    const iface = new Interface({ device: new SlipDevice(line, new PacketPool({ slots: 32, mtu: 1006 })), address: HOST, tcp });
    const loop = new HostLoop([iface]);
    link.onActivity(() => loop.wake());
    const running = loop.run();
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const t0 = Date.now();
      while (!cond()) {
        if (Date.now() - t0 > 30_000) throw new Error(`timed out: ${what}; firmware said: ${run.out()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      // A ping on the quiet line.
      const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(1024), txBuffer: new Uint8Array(1024) });
      icmp.bind(7);
      iface.addIcmpSocket(icmp);
      const reply = new Uint8Array(64);
      icmp.sendEcho(DEVICE, 1, new Uint8Array(56), 0, 56);
      loop.wake();
      await until(() => icmp.recvEcho(reply, 0, 64) >= 0, 'the ping reply');
      // 400 kB to discard: a stream.
      const size = 400_000;
      const data = new Uint8Array(16384).fill(0x5a);
      const sock = tcp.connect(loop.now(), DEVICE, 9)!;
      let sent = 0;
      loop.add({ poll: () => {
        let moved = false;
        for (let n = 1; sent < size && sock.state === TcpState.Established && n > 0; sent += n) {
          n = sock.send(data, 0, Math.min(data.length, size - sent));
          moved ||= n > 0;
        }
        return moved;
      }, pollAt: () => NEVER });
      loop.wake();
      await until(() => sent === size && sock.sendQueue === 0, 'the transfer');
      sock.close();
      loop.wake();
      await until(() => sock.state === TcpState.Closed || sock.state === TcpState.TimeWait, 'the close');
    } finally {
      await loop.stop();
      await running;
    }
    run.child.kill('SIGTERM');
    expect(await run.exit).to.equal(0);
    await link.close();
    expect(run.out()).to.match(/discarded 400000,/);
    const m = /serial line read (\d+) times on arrival, (\d+) times while busy \((\d+) busy spells\)/.exec(run.out());
    expect(m, run.out()).to.not.equal(null);
    const [onArrival, whileBusy, spells] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(onArrival, 'reads on arrival (the ping, the handshake)').to.be.above(0);
    expect(spells, 'busy spells').to.be.at.least(1);
    expect(whileBusy, 'periodic reads while busy').to.be.above(0);
  });
});
