/**
 * ReopeningSerialLink on a pty named as itself (/dev/pts/N): when the other end closes, the port
 * is given up, never opened again, even when the next pty opened gets the same number (it would
 * be someone else's terminal). A symlink to a pty is still re-opened (test/firmware/reopen.test.ts).
 */
import { expect } from 'chai';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { ReopeningSerialLink } from '../../src/drivers/reopening-serial-link.ts';
import { SerialLink } from '../../src/drivers/serial-link.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('drivers/reopening-serial-link: a pty does not come back', function () {
  this.timeout(10_000);
  const ptys: PtyHandles[] = [];
  let link: ReopeningSerialLink | null = null;

  afterEach(async () => {
    await link?.close();
    link = null;
    for (const p of ptys.splice(0)) p.close();
  });

  it('gives the pty up when its other end closes, and leaves the next pty with that number alone', async () => {
    const first = openPtyPair();
    const path = first.slavePath;
    const gone: string[] = [];
    const down: string[] = [];
    link = await ReopeningSerialLink.open(path, { retryMs: 10, onGone: (r) => gone.push(r), onDown: (r) => down.push(r) });
    expect(link.isOpen).to.equal(true);
    first.close();
    for (let i = 0; i < 200 && gone.length === 0; i++) await sleep(10);
    expect(gone.length, 'onGone was called').to.equal(1);
    expect(down, 'no waiting for it to come back').to.deep.equal([]);
    // The number is free now; the next pty is most likely given it (unless another process
    // opens one in between). Whichever pty has that name, the link must not take it.
    const next = openPtyPair();
    ptys.push(next);
    await sleep(100); // ten retry periods
    expect(link.isOpen).to.equal(false);
    expect(link.stats.reopens).to.equal(0);
    if (next.slavePath === path) {
      // Nobody holds it: our own exclusive open succeeds.
      const mine = await SerialLink.open(path);
      expect(mine.isOpen).to.equal(true);
      await mine.close();
    }
    // Written octets go nowhere, counted, as while any port is down.
    expect(link.write(0, new Uint8Array(5), 0, 5)).to.equal(5);
    expect(link.stats.droppedWhileDown).to.equal(5);
  });
});
