/**
 * Real peer over a bad line (issue 4 §5): the firmware drops 5 % and reorders 2 % of the frames
 * it sends and receives (--drop 5 --reorder 2, FaultInjector at the device). Linux's TCP and the
 * device's must recover: the echo and the device-initiated transfers still arrive intact.
 *
 * Sizes are 1 MiB (not 5): loss recovery on this link runs at tens to hundreds of KB/s, and the
 * whole interop suite must stay within a few minutes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../support/pattern.ts';
import { DEVICE_IP, Rig, interopDescribe, xferRoundTrip } from '../helpers/netns.ts';

const MiB = 1024 * 1024;

interopDescribe('interop: a lossy line (--drop 5 --reorder 2)', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipstack-interop-'));
    await rig.start({ firmwareArgs: ['--drop', '5', '--reorder', '2', '--seed', '4'] });
  });

  after(async () => {
    await rig.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('echo: 1 MiB of random data comes back intact', async () => {
    const data = randomBytes(MiB);
    writeFileSync(join(dir, 'echo.in'), data);
    const r = await rig.sh(`nc -N ${DEVICE_IP} 7 < ${dir}/echo.in`, { timeoutMs: 100_000 });
    expect(r.stdout.length).to.equal(data.length);
    expect(sha256(r.stdout)).to.equal(sha256(data));
    await rig.assertClean(10_000);
  });

  it('xfer: the device sends 1 MiB and receives 1 MiB, intact both ways', async () => {
    await xferRoundTrip(rig, dir, 5555, MiB, MiB, 100_000);
    await rig.assertClean(10_000);
  });

  it('the faults really happened, and the firmware never busy-looped', async () => {
    const c = await rig.shell();
    let stats = '';
    try {
      stats = await c.command('stats');
      await c.exit();
    } finally {
      c.kill();
    }
    // This session's own close crosses the lossy line too: let it finish (the firmware re-ACKs a
    // retransmitted FIN for as long as Linux sends one) before the firmware is stopped.
    await rig.assertHostSettled(10_000);
    expect(Number(/\sfaults\.dropped (\d+)/.exec(stats.slice(stats.indexOf('\r\nlink:')))![1]), 'frames dropped').to.be.above(50);
    expect(Number(/\sfaults\.reordered (\d+)/.exec(stats)![1]), 'frames reordered').to.be.above(10);
    expect(Number(/\sretransSegs (\d+)/.exec(stats)![1]), 'device retransmissions').to.be.above(10);
    expect(await rig.stopFirmware()).to.equal(0);
    // The host loop runs a turn per wake-up (I/O) or timer; a turn that found work due "now"
    // but made none would go again at once. Many more turns than wake-ups and timers is a spin.
    const m = /host loop (\d+) turns \((\d+) woken by I\/O, (\d+) timed\)/.exec(rig.firmware!.out);
    expect(m, rig.firmware!.out).to.not.equal(null);
    const [turns, wakes, timed] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(turns, `the firmware's host loop spun: ${turns} turns for ${wakes} wake-ups by I/O and ${timed} timed sleeps ` +
      '(something reported work due now that its poll did not do)').to.be.below(4 * (wakes + timed) + 1000);
    await rig.assertHostSettled();
  });
});
