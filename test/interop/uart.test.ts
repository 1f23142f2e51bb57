/**
 * Real peer over a UART-timed line (issue 4 §5): both host connect and the firmware pace their
 * output to 115200 baud 8N1 (--baud 115200 --uart-timing), 11 520 octets a second each way, as a
 * real serial line would. Ping works (with the round trip the line rate implies) and a 200 KiB
 * transfer through echo arrives intact, no faster than the line allows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../support/pattern.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

const BAUD = 115200;
const LINE_RATE = BAUD / 10; // octets per second, 8N1

interopDescribe('interop: a UART-timed line at 115200 baud', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipstack-interop-'));
    const timing = ['--baud', String(BAUD), '--uart-timing'];
    await rig.start({ firmwareArgs: timing, hostArgs: timing });
  });

  after(async () => {
    await rig.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('ping -c 5 -i 0.2: answered, with a round trip no shorter than the line allows', async () => {
    const r = await rig.execIn('ping', ['-c', '5', '-i', '0.2', '-W', '2', DEVICE_IP]);
    const out = r.stdout.toString();
    expect(out).to.contain('5 packets transmitted, 5 received, 0% packet loss');
    // 84 octets + 2 END each way: 2 x 86 / 11520 s = 14.9 ms at least.
    const min = Number(/rtt min\/avg\/max\/mdev = ([\d.]+)\//.exec(out)![1]);
    expect(min, 'minimum RTT, ms').to.be.at.least((2 * 86 * 1000) / LINE_RATE - 1);
    await rig.assertClean();
  });

  it('echo: 200 KiB come back intact, at no more than the line rate', async () => {
    const data = randomBytes(200 * 1024);
    writeFileSync(join(dir, 'echo.in'), data);
    const r = await rig.sh(`nc -N ${DEVICE_IP} 7 < ${dir}/echo.in`, { timeoutMs: 90_000 });
    expect(r.stdout.length).to.equal(data.length);
    expect(sha256(r.stdout)).to.equal(sha256(data));
    // Each direction carries the 200 KiB at most 11 520 octets a second (less framing).
    expect(r.ms, 'transfer time, ms').to.be.at.least((data.length / LINE_RATE) * 1000);
    await rig.assertClean();
  });
});
