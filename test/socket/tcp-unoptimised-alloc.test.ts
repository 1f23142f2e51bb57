/**
 * The TCP path allocates nothing even unoptimised. V8's optimised code keeps numbers in
 * registers, but the interpreter (and Sparkplug) boxes every number that is no small integer,
 * 16 octets each: a fractional one, or a read of a field that ever held one. A function runs
 * there for a while after V8 has deoptimised it (a connection takes a path for the first time:
 * its first RTT sample, a delayed ACK, a window below one MSS), and on the ACK path, which a bulk
 * sender runs some tens of times per MB, that while can be long. So the RTT estimator is kept in
 * fixed-point integers (rtt.ts) and a deadline that is off is -1, not NEVER (deadlines.ts).
 *
 * The whole IPv4 and TCP path in a child `node --no-opt`, checksums off (the checksum's 32-bit
 * sums are beyond a small integer; it runs per segment, so V8 has it optimised at once).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('TCP allocation without the optimising compiler', () => {
  it('bulk data with timestamps, delayed ACKs and zero-window probes allocates 0 octets under node --no-opt', function () {
    this.timeout(120_000);
    const r = spawnSync(process.execPath, ['--no-opt', '--expose-gc', '--import', 'tsx', join(ROOT, 'test/helpers/tcp-unoptimised.ts')], {
      cwd: ROOT, encoding: 'utf8', timeout: 110_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { report: { leastRoundBytes: number; allocatedBytes: number }; octets: number; stats: { zeroWindowProbes: number } };
    expect(out.octets, 'octets the reader took').to.be.greaterThan(5_000_000);
    expect(out.stats.zeroWindowProbes, 'the window closed and was probed').to.be.greaterThan(0);
    expect(out.report.leastRoundBytes, JSON.stringify(out.report)).to.equal(0);
    expect(out.report.allocatedBytes, 'over all rounds').to.equal(0);
  });
});
