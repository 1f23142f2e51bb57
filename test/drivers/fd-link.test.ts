/**
 * FdLink's interrupt coalescing on a real pty: `wakeOn` (a wake per frame) and `busyOctets` (a
 * busy line is read every `busyPollMs` of the owner's clock, not on every chunk). The octets
 * really cross a pty; the time the link judges bursts and periods by is virtual (the `clock`
 * option and the `now` handed to read/pollAt), so nothing here depends on how fast this
 * machine is: a test waits for octets to arrive, never for time to pass.
 */
import { expect } from 'chai';
import { BURST_GAP_MS, FdLink } from '../../src/drivers/fd-link.ts';
import { libc } from '../../src/drivers/libc.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { SLIP_END } from '../../src/phy/slip.ts';
import { NEVER } from '../../src/time.ts';

/** Polls `cond` on Node's loop (the link reads from its own callbacks) until it holds; throws after `ms` of real time. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Writes `n` octets of `value` (then an END when `end`) into the pty master, as the peer's UART would. */
function send(pty: PtyHandles, n: number, end = false, fd = pty.masterFd): void {
  const octets = new Uint8Array(n + (end ? 1 : 0)).fill(0x41);
  if (end) octets[n] = SLIP_END;
  expect(libc().write(fd, octets, octets.length)).to.equal(octets.length);
}

describe('drivers/fd-link: interrupt coalescing', () => {
  let pty: PtyHandles | null = null;
  let link: FdLink | null = null;
  /** The link's clock (ms) for burst gaps: moved by hand. */
  let clock = 0;
  let wakes = 0;
  const dst = new Uint8Array(65536);

  function open(options: { busyOctets?: number; busyPollMs?: number; busyBatchOctets?: number; rxCapacity?: number } = {}): FdLink {
    pty = openPtyPair();
    clock = 0;
    wakes = 0;
    link = new FdLink(pty.slaveFd, { closeFd: false, name: 'test slave', wakeOn: SLIP_END, clock: () => clock, ...options });
    link.onActivity(() => wakes++);
    return link;
  }

  /** Two chunks 1 ms apart, 300 octets in all: a burst of busyOctets 256, so the line turns busy. */
  async function turnBusy(l: FdLink): Promise<void> {
    const before = l.stats.rxBytes;
    send(pty!, 200);
    await until(() => l.stats.rxBytes === before + 200, 'the first chunk');
    clock += 1;
    send(pty!, 100);
    await until(() => l.isBusy, 'the busy line');
  }

  afterEach(async () => {
    await link?.close();
    pty?.close();
    link = null;
    pty = null;
  });

  it('a quiet line wakes its owner once per frame and is never busy: a ping-sized frame is read on arrival', async () => {
    const l = open({ busyOctets: 256 });
    send(pty!, 85, true); // an 84-octet datagram between two ENDs, as SLIP puts a ping on the line
    await until(() => wakes > 0, 'the END');
    expect(l.stats.rxBytes).to.equal(86);
    expect(l.isBusy).to.equal(false);
    expect(l.batchAt).to.equal(-1);
    expect(l.pollAt(100)).to.equal(100); // octets to read
    expect(l.read(100, dst, 0, dst.length)).to.equal(86);
    expect(l.pollAt(100)).to.equal(NEVER); // nothing due: it listens
    expect(l.stats.busySpells).to.equal(0);
  });

  it('without an END in the octets the owner is not woken (wakeOn), though they are read', async () => {
    const l = open();
    send(pty!, 40);
    await until(() => l.stats.rxBytes === 40, 'the octets');
    expect(wakes).to.equal(0);
    send(pty!, 0, true);
    await until(() => wakes === 1, 'the END');
  });

  it('a burst of busyOctets turns the line busy: read every busyPollMs from the owner\'s turns, then back to listening when a read finds it silent', async () => {
    const l = open({ busyOctets: 256, busyPollMs: 10 });
    send(pty!, 200);
    await until(() => l.stats.rxBytes === 200, 'the first chunk');
    expect(l.isBusy).to.equal(false);
    clock += 1; // the next chunk 1 ms later: the same burst
    send(pty!, 100);
    await until(() => l.stats.rxBytes === 300, 'the second chunk');
    expect(l.isBusy).to.equal(true);
    expect(l.stats.busySpells).to.equal(1);
    expect(wakes).to.equal(1); // the owner hears of it (no END yet) so it polls the link from now on
    // The owner's first turn sets the period from its own clock.
    expect(l.batchAt).to.equal(-1);
    expect(l.read(1000, dst, 0, dst.length)).to.equal(300);
    expect(l.batchAt).to.equal(1010);
    expect(l.pollAt(1000)).to.equal(1010);

    // Busy: octets that arrive now wait in the pty until the period is up; nobody is woken.
    send(pty!, 500, true);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.stats.rxBytes).to.equal(300);
    expect(wakes).to.equal(1);
    expect(l.read(1009, dst, 0, dst.length)).to.equal(0);
    expect(l.stats.busyReads).to.equal(0);
    // The period is up: one read takes everything there is.
    expect(l.read(1010, dst, 0, dst.length)).to.equal(501);
    expect(l.stats.busyReads).to.equal(1);
    expect(l.pollAt(1010)).to.equal(1020);
    expect(l.batchAt).to.equal(1020);

    // A period with nothing on the line: back to listening, woken by what arrives.
    expect(l.pollAt(1020)).to.equal(NEVER);
    expect(l.stats.busyReads).to.equal(2);
    expect(l.isBusy).to.equal(false);
    expect(l.batchAt).to.equal(-1);
    send(pty!, 10, true);
    await until(() => wakes === 2, 'a frame on the quiet line');
    expect(l.read(1021, dst, 0, dst.length)).to.equal(11);
  });

  it('a line that fills a read (busyFullOctets or more at once) is read on arrival: it never turns busy, and a busy one that brings busyBatchOctets in a period goes back to listening', async () => {
    // (busyBatchOctets below its default: a pty takes only about 10-15 KiB from a writer before the reader reads.)
    const l = open({ busyOctets: 256, busyPollMs: 10, busyBatchOctets: 6000 });
    // Full reads back to back (an unpaced pty): no busy spell, every octet read on arrival.
    for (let k = 0; k < 3; k++) {
      send(pty!, 4000);
      clock += 1;
      await until(() => l.stats.rxBytes === 4000 * (k + 1), `chunk ${k}`);
      expect(l.isBusy, `after chunk ${k}`).to.equal(false);
      l.read(1000 + k, dst, 0, dst.length);
    }
    expect(l.stats.busySpells).to.equal(0);
    // Small chunks turn it busy; then the line speeds up: the periodic read is full, so it
    // goes back to listening instead of capping the rate at one read a period.
    clock += 100;
    await turnBusy(l);
    expect(l.read(2000, dst, 0, dst.length)).to.equal(300);
    send(pty!, 4000);
    send(pty!, 4000);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.read(2010, dst, 0, dst.length)).to.be.at.least(6000);
    expect(l.isBusy).to.equal(false);
    expect(l.pollAt(2010)).to.not.equal(2020);
    await until(() => l.stats.rxBytes === 20_300, 'the rest, read on arrival');
  });

  it('busy, a periodic read reads on past full reads (a tty hands over 4 KiB a read) and stops at the first short one', async () => {
    const l = open({ busyOctets: 256, busyPollMs: 20 });
    await turnBusy(l);
    expect(l.read(1000, dst, 0, dst.length)).to.equal(300);
    // A 20 ms period at 3 Mbaud brings 6 000 octets: more than one read(2) of a tty carries.
    send(pty!, 4000);
    send(pty!, 3999, true);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.read(1019, dst, 0, dst.length)).to.equal(0);
    // More than one read(2) brings: the read after the full one. (How much the kernel has moved
    // up to the tty by then varies under load, 6 048 once; the rest comes with the next period.)
    const first = l.read(1020, dst, 0, dst.length);
    expect(first).to.be.greaterThan(4095);
    expect(l.stats.busyReads).to.equal(1);
    expect(l.isBusy).to.equal(true); // less than busyBatchOctets: the period suits the line
    expect(l.batchAt).to.equal(1040);
    expect(first + l.read(1040, dst, 0, dst.length)).to.equal(8000);
  });

  it('a trickle (chunks more than BURST_GAP_MS apart) never adds up to a busy line', async () => {
    const l = open({ busyOctets: 256 });
    for (let i = 1; i <= 5; i++) {
      send(pty!, 100);
      await until(() => l.stats.rxBytes === 100 * i, `chunk ${i}`);
      clock += BURST_GAP_MS + 1;
    }
    expect(l.isBusy).to.equal(false);
    expect(l.stats.busySpells).to.equal(0);
    expect(l.stats.rxWakeups).to.be.at.least(5);
  });

  it('busy with a full ring is not silence: it stays busy, and the owner\'s reads make room for the next periodic read', async () => {
    const l = open({ busyOctets: 256, busyPollMs: 10, rxCapacity: 512 });
    send(pty!, 300);
    await until(() => l.isBusy, 'the busy line');
    send(pty!, 400);
    await new Promise((r) => setTimeout(r, 50));
    expect(l.pollAt(0)).to.equal(0); // 300 octets to read; the period starts at 0
    expect(l.batchAt).to.equal(10);
    // The owner does not read: the periodic read fills the ring (212 of the 400) and finds it full.
    expect(l.pollAt(10)).to.equal(10);
    expect(l.pollAt(20)).to.equal(20);
    expect(l.isBusy).to.equal(true);
    expect(l.stats.busyReads).to.equal(2);
    expect(l.read(20, dst, 0, dst.length)).to.equal(512);
    expect(l.read(30, dst, 0, dst.length)).to.equal(188);
    expect(l.isBusy).to.equal(true);
    expect(l.pollAt(40)).to.equal(NEVER); // silent: listening again
    expect(l.isBusy).to.equal(false);
  });

  it('a hangup while busy is found by the next periodic read and ends the busy spell', async () => {
    // Its own pty: the link owns the master and hears a hangup when the slave closes.
    const own = openPtyPair();
    const l = new FdLink(own.masterFd, { name: 'test master', wakeOn: SLIP_END, busyOctets: 256, busyPollMs: 10, clock: () => 0 });
    send(own, 300, false, own.slaveFd);
    await until(() => l.isBusy, 'the busy line');
    expect(l.read(0, dst, 0, dst.length)).to.equal(300);
    libc().close(own.slaveFd); // the last slave fd: the master now reads EIO
    expect(l.pollAt(10)).to.equal(NEVER);
    const why = await l.closed;
    expect(why.disconnected).to.equal(true);
    expect(why.reason).to.match(/hangup/);
    expect(l.isBusy).to.equal(false);
    expect(l.batchAt).to.equal(-1);
  });

  it('refuses a busyPollMs below 1 and a negative busyOctets', () => {
    pty = openPtyPair();
    expect(() => new FdLink(pty!.slaveFd, { closeFd: false, busyPollMs: 0 })).to.throw(RangeError);
    expect(() => new FdLink(pty!.slaveFd, { closeFd: false, busyOctets: -1 })).to.throw(RangeError);
  });
});
