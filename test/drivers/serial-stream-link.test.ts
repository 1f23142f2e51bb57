/**
 * SerialStreamLink, the portable serial link (serialport's own stream, no libc, no koffi), over a
 * real pty on Linux (the only OS here): the userspace host side runs on it exactly as it would on
 * `COM3` or `/dev/tty.usbserial-*`, against the firmware's Board on the pty's master, and a
 * forward carries 256 KiB to echo and back with SHA-256 equal; the control port's ping is answered.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { openUserNetLine } from '../../firmware-bridge/host/user-net-line.ts';
import { runUserNet } from '../../firmware-bridge/host/user-net.ts';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { openPtyPair } from '../../src/drivers/pty.ts';
import { SerialStreamLink } from '../../src/drivers/serial-stream-link.ts';
import { SLIP_END } from '../../src/phy/slip.ts';
import { ipv4Address } from '../../src/wire/ipv4.ts';

describe('drivers/serial-stream-link: the userspace host side on serialport\'s stream (a pty here)', function () {
  this.timeout(30_000);

  it('echo 256 KiB through a forward and a ping, the firmware board on the master', async () => {
    const pty = openPtyPair();
    const line = await openUserNetLine(pty.slavePath, { baud: 115200, rtscts: false, portable: true });
    expect(line).to.be.instanceOf(SerialStreamLink);
    const boardLink = new FdLink(pty.masterFd, { closeFd: false, name: 'board', wakeOn: SLIP_END });
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw'], {})!;
    const board = new Board({ link: boardLink, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const net = await runUserNet({
      link: line, hostIp: ipv4Address('192.0.2.1'), deviceIp: ipv4Address('192.0.2.2'), mtu: config.mtu, baud: 115200,
      uartTiming: false, bind: '127.0.0.1', controlPort: 0, forwards: [{ hostPort: 0, devicePort: 7 }], alsoPoll: [board],
    });
    boardLink.onActivity(() => net.loop.wake());
    board.network?.attach(net.loop);
    try {
      const s = connect({ port: net.forwards[0]!.hostPort, host: '127.0.0.1', allowHalfOpen: true });
      await once(s, 'connect');
      const sent = createHash('sha256');
      const got = createHash('sha256');
      let received = 0;
      s.on('data', (d: Buffer) => { got.update(d); received += d.length; });
      const ended = once(s, 'end');
      for (let i = 0; i < 16; i++) {
        const chunk = Buffer.alloc(16384, (i * 37) & 0xff);
        chunk[100] = 0xc0;
        chunk[200] = 0xdb;
        sent.update(chunk);
        if (!s.write(chunk)) await once(s, 'drain');
      }
      s.end();
      await ended;
      expect(received).to.equal(256 * 1024);
      expect(got.digest('hex')).to.equal(sent.digest('hex'));
      s.destroy();

      const c = connect({ port: net.controlPort, host: '127.0.0.1', allowHalfOpen: true });
      c.setEncoding('utf8');
      let out = '';
      c.on('data', (t: string) => { out += t; });
      await once(c, 'connect');
      const done = once(c, 'end');
      c.write('ping 1 56\n');
      await done;
      expect(out).to.match(/1 packets transmitted, 1 received/);
      c.destroy();
    } finally {
      await net.stop();
      board.shutdown();
      await line.close();
      await boardLink.close();
      pty.close();
    }
  });
});
