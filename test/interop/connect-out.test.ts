/**
 * Real peer: the device connects out (issue 4 §5). `xfer <ip> <port> <octets>` typed into a
 * telnet session makes the device open a TCP connection to a listener in the namespace, send the
 * xfer pattern (xorshift32 from 0x5eed, little-endian words), half-close, and read the
 * listener's reply to EOF; both SHA-256s are printed by the device and checked here against what
 * the listener received and sent.
 *
 * The 5 MiB reply comes from a small node listener (Rig.listenOnce) rather than `nc -l`:
 * OpenBSD nc in listen mode quits as soon as the peer's FIN has arrived while its stdin buffer
 * happens to be empty ("listen and net in gone, queues empty, done" in its readwrite loop), so
 * with both directions running at once it can cut its own reply short. `nc -N -l` is used too,
 * with a reply small enough to be out long before the device's FIN.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { xferPattern } from '../../firmware-bridge/telnet/xfer.ts';
import { sha256 } from '../../support/pattern.ts';
import { HOST_IP, PROMPT, Rig, interopDescribe, sleep, waitListening, xferRoundTrip } from '../helpers/netns.ts';

const MiB = 1024 * 1024;

interopDescribe('interop: the device connects out (xfer)', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipstack-interop-'));
    await rig.start();
  });

  after(async () => {
    await rig.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('xfer 192.0.2.1 5555 5242880 to a listener that answers with 5 MiB: SHA-256 equal both ways', async () => {
    await xferRoundTrip(rig, dir, 5555, 5 * MiB, 5 * MiB, 60_000);
    await rig.assertClean();
  });

  it('xfer to nc -N -l: 5 MiB out, 64 KiB back (nc closes first, the device ends in LAST-ACK)', async () => {
    const octets = 5 * MiB;
    const reply = randomBytes(64 * 1024);
    writeFileSync(join(dir, 'nc-reply'), reply);
    const nc = rig.sh(`nc -N -l 5556 < ${dir}/nc-reply > ${dir}/nc-got`, { timeoutMs: 60_000 });
    await waitListening(rig, 5556);
    const c = await rig.shell();
    try {
      const out = await c.command(`xfer ${HOST_IP} 5556 ${octets}`, 60_000);
      expect(out).to.contain(`\r\nsent ${octets} octets sha256 ${sha256(xferPattern(octets))}\r\n`);
      expect(out).to.contain(`\r\nreceived ${reply.length} octets sha256 ${sha256(reply)}\r\n`);
      expect((await nc).status).to.equal(0);
      expect(sha256(readFileSync(join(dir, 'nc-got')))).to.equal(sha256(xferPattern(octets)));
      expect(await c.exit()).to.equal(0);
    } finally {
      c.kill();
    }
    await rig.assertClean();
  });

  it('Ctrl-C typed into the telnet client aborts a running xfer (RST), and the shell goes on', async () => {
    const nc = rig.sh('nc -l 5558 > /dev/null', { timeoutMs: 60_000, allowFail: true });
    await waitListening(rig, 5558);
    const c = await rig.shell();
    try {
      c.type(`xfer ${HOST_IP} 5558 1000000000\n`);
      await c.expect('sending 1000000000 octets\r\n');
      await sleep(500);
      // In character mode the client sends Ctrl-C as the octet 0x03.
      c.type('\x03');
      const out = await c.expect(`\r\n${PROMPT}`, 10_000);
      const m = /^\^C\r\nxfer: interrupted after (\d+) octets sent, 0 received\r\n/.exec(out);
      expect(m, out).to.not.equal(null);
      expect(Number(m![1])).to.be.above(0);
      // The listener saw the reset and is gone.
      await nc;
      expect(await c.command('echo still here')).to.contain('\r\nstill here\r\n');
      expect(await c.exit()).to.equal(0);
    } finally {
      c.kill();
    }
    await rig.assertClean();
  });

  it('xfer to a port nobody listens on: connection refused, and the shell goes on', async () => {
    const c = await rig.shell();
    try {
      const out = await c.command(`xfer ${HOST_IP} 5557 1000`);
      expect(out).to.contain('\r\nxfer: connection refused after 0 octets sent, 0 received\r\n');
      expect(await c.command('echo still here')).to.contain('\r\nstill here\r\n');
      expect(await c.exit()).to.equal(0);
    } finally {
      c.kill();
    }
    await rig.assertClean();
  });
});
