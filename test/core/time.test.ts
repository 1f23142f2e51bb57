/** src/time.ts: the token bucket on handed-in time, and `earliest`. */
import { expect } from 'chai';
import { earliest, NEVER, TokenBucket } from '../../src/time.ts';

describe('time', () => {
  it('earliest picks the earlier deadline; NEVER loses to any time', () => {
    expect(earliest(5, 3)).to.equal(3);
    expect(earliest(NEVER, 7)).to.equal(7);
    expect(earliest(NEVER, NEVER)).to.equal(NEVER);
  });

  it('TokenBucket starts full, refuses what it does not hold, refills by elapsed ms up to its depth', () => {
    const bucket = new TokenBucket(1000, 1000);
    expect(bucket.take(0, 500)).to.equal(true);
    expect(bucket.take(0, 500)).to.equal(true);
    expect(bucket.take(0, 1)).to.equal(false);
    // A refusal spends nothing: 499 ms give 499 tokens, one more ms the 500th.
    expect(bucket.take(499, 500)).to.equal(false);
    expect(bucket.take(500, 500)).to.equal(true);
    expect(bucket.level(500)).to.equal(0);
    expect(bucket.level(60_000)).to.equal(1000);
    bucket.take(60_000, 1000);
    bucket.reset();
    expect(bucket.level(60_000)).to.equal(1000);
  });

  it('TokenBucket keeps fractions of a token exactly and ignores time going backwards', () => {
    const bucket = new TokenBucket(3, 2);
    expect(bucket.take(0, 2)).to.equal(true);
    // 3 tokens a second: one token after 334 ms (1.002), not after 333 (0.999).
    expect(bucket.take(333)).to.equal(false);
    expect(bucket.take(334)).to.equal(true);
    expect(bucket.level(100)).to.be.closeTo(0.002, 1e-9);
    expect(bucket.level(100)).to.be.closeTo(0.002, 1e-9);
  });
});
