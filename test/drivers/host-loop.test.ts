import { expect } from 'chai';
import { HostLoop, type LoopTimer } from '../../src/drivers/host-loop.ts';
import { TimerFd } from '../../src/drivers/timer-fd.ts';
import { NEVER, type Pollable } from '../../src/time.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A part with a periodic deadline: due every `period` ms after its last poll. */
class Ticker implements Pollable {
  polls = 0;
  ticks = 0;
  nowSeen: number[] = [];
  private next = -1;
  private readonly period: number;

  constructor(period: number) {
    this.period = period;
  }

  poll(now: number): boolean {
    this.polls++;
    this.nowSeen.push(now);
    if (this.next < 0) this.next = now + this.period;
    if (now >= this.next) {
      this.ticks++;
      this.next = now + this.period;
    }
    return false;
  }

  pollAt(now: number): number {
    return this.next < 0 ? now : this.next;
  }
}

/** A part with nothing to do until `work` is raised (by a "driver" that then calls wake). */
class Inbox implements Pollable {
  polls = 0;
  work = 0;
  handled = 0;
  poll(): boolean {
    this.polls++;
    if (this.work === 0) return false;
    this.work--;
    this.handled++;
    return true;
  }
  pollAt(now: number): number {
    return this.work > 0 ? now : NEVER;
  }
}

describe('drivers/host-loop', () => {
  it('sleeps until the earliest deadline: a part due every 50 ms is polled about 20 times in a second, not thousands', async () => {
    const ticker = new Ticker(50);
    const loop = new HostLoop([ticker]);
    const cpu = process.cpuUsage();
    const running = loop.run();
    await sleep(1000);
    await loop.stop();
    await running;
    const used = process.cpuUsage(cpu);
    // Generous bounds: this is behaviour (sleeping until pollAt), not timer precision.
    expect(ticker.ticks).to.be.within(10, 22);
    expect(ticker.polls).to.be.within(10, 60); // a timer can fire up to 1 ms early: then one extra short sleep
    expect(loop.stats.timedSleeps).to.be.within(10, 60);
    expect(used.user + used.system).to.be.below(300_000); // µs: well under a third of the second
    // The clock is integer ms, monotonic.
    for (let i = 1; i < ticker.nowSeen.length; i++) {
      expect(Number.isInteger(ticker.nowSeen[i])).to.equal(true);
      expect(ticker.nowSeen[i]!).to.be.at.least(ticker.nowSeen[i - 1]!);
    }
  });

  it('with nothing due it sleeps (no polls, ~0% CPU) until wake(), then polls until quiet', async () => {
    const inbox = new Inbox();
    const loop = new HostLoop([inbox]);
    const running = loop.run();
    await sleep(20);
    const pollsAfterStart = inbox.polls;
    const cpu = process.cpuUsage();
    await sleep(500);
    const used = process.cpuUsage(cpu);
    expect(inbox.polls).to.equal(pollsAfterStart); // idle: not a single poll
    expect(used.user + used.system).to.be.below(100_000);

    inbox.work = 5;
    loop.wake();
    loop.wake(); // coalesced
    await sleep(20);
    expect(inbox.handled).to.equal(5);
    expect(loop.stats.wakes).to.equal(1);
    await loop.stop();
    await running;
  });

  it('passes progress between parts in one turn until nothing moves', async () => {
    // A producer fills a one-slot mailbox only when it is empty; a consumer empties it.
    let mailbox = 0;
    let produced = 0;
    let consumed = 0;
    const producer: Pollable = {
      poll: () => {
        if (mailbox !== 0 || produced === 10) return false;
        mailbox = 1;
        produced++;
        return true;
      },
      pollAt: (now) => (produced < 10 && mailbox === 0 ? now : NEVER),
    };
    const consumer: Pollable = {
      poll: () => {
        if (mailbox === 0) return false;
        mailbox = 0;
        consumed++;
        return true;
      },
      pollAt: (now) => (mailbox !== 0 ? now : NEVER),
    };
    const loop = new HostLoop([producer, consumer]);
    const running = loop.run();
    await sleep(30);
    expect(consumed).to.equal(10);
    expect(loop.stats.turns).to.be.at.most(3);
    await loop.stop();
    await running;
  });

  it('stop() resolves run(); a part that throws rejects it', async () => {
    const loop = new HostLoop([new Ticker(10)]);
    const running = loop.run();
    await sleep(15);
    await loop.stop();
    await running;
    expect(loop.isRunning).to.equal(false);
    await loop.stop(); // twice is fine

    const failing = new HostLoop([
      {
        poll: () => {
          throw new Error('boom');
        },
        pollAt: () => NEVER,
      },
    ]);
    let caught: unknown = null;
    await failing.run().catch((error: unknown) => {
      caught = error;
    });
    expect((caught as Error).message).to.equal('boom');
    expect(failing.isRunning).to.equal(false);
  });

  it('a part added while running is polled', async () => {
    const loop = new HostLoop();
    const running = loop.run();
    await sleep(10);
    const inbox = new Inbox();
    inbox.work = 2;
    loop.add(inbox);
    await sleep(20);
    expect(inbox.handled).to.equal(2);
    await loop.stop();
    await running;
  });

  it('with a precise timer (TimerFd) it sleeps until each deadline and never runs a part before it', async () => {
    /** Due every `period` ms; counts polls that come before the deadline. */
    const period = 3;
    let next = -1;
    let early = 0;
    let ticks = 0;
    const part: Pollable = {
      poll: (now) => {
        if (next < 0) next = now + period;
        else if (now < next) early++;
        else {
          ticks++;
          next = now + period;
        }
        return false;
      },
      pollAt: (now) => (next < 0 ? now : next),
    };
    const loop = new HostLoop([part], { timer: (fire) => new TimerFd(fire) });
    const running = loop.run();
    await sleep(300);
    await loop.stop();
    await running;
    expect(ticks).to.be.within(10, 110);
    // A timerfd set for the deadline's instant does not fire before it: no turn finds it not yet due.
    expect(early).to.equal(0);
    expect(loop.stats.timedSleeps).to.be.at.least(ticks);
  });

  it('batchedBy: while a link reads in batches, a deadline before its next batch waits for it; work due at once does not', async () => {
    /** A timer that records what it was armed for and never fires (the test runs turns by wake()). */
    const armed: number[] = [];
    const timer: LoopTimer = { arm: (delay) => armed.push(delay), disarm: () => {}, close: () => {} };
    const link = { batchAt: -1 };
    let dueNow = false; // the part has work due at once (once)
    const part: Pollable = {
      poll: () => false,
      pollAt: (now) => {
        if (dueNow) {
          dueNow = false;
          return now;
        }
        return now + 1;
      },
    };
    const loop = new HostLoop([part], { timer: () => timer, batchedBy: link });
    const running = loop.run();
    await sleep(20);
    // Not batching: armed for the part's deadline, 1 ms ahead.
    expect(armed.length).to.equal(1);
    expect(armed[0]!).to.be.within(0, 1);
    // The line turns busy, its next batch 100 ms away: the 1 ms deadline waits for it.
    link.batchAt = loop.now() + 100;
    loop.wake();
    await sleep(20);
    expect(armed.length).to.equal(2);
    expect(armed[1]!).to.be.above(50);
    // Work due at once is not held back: the loop goes again without sleeping, then waits for the batch.
    const yields = loop.stats.yields;
    link.batchAt = loop.now() + 100;
    dueNow = true;
    loop.wake();
    await sleep(20);
    expect(loop.stats.yields).to.equal(yields + 1);
    expect(armed.length).to.equal(3);
    expect(armed[2]!).to.be.above(50);
    // No batch (the line is quiet again): nothing held back.
    link.batchAt = -1;
    loop.wake();
    await sleep(20);
    expect(armed[3]!).to.be.within(0, 1);
    await loop.stop();
    await running;
  });
});

describe('drivers/timer-fd', () => {
  /** Waits (real time, at most 5 s) until `cond` holds. */
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !cond(); i++) await sleep(5);
    expect(cond()).to.equal(true);
  }

  it('fires once per arming, not after disarm; a new arming replaces the old', async () => {
    let fired = 0;
    const t = new TimerFd(() => {
      fired++;
      t.disarm(); // acknowledges the expiry (the fd stays readable until armed or disarmed)
    });
    try {
      t.arm(2);
      await until(() => fired === 1);
      await sleep(30);
      expect(fired).to.equal(1); // once
      t.arm(5);
      t.disarm();
      await sleep(50);
      expect(fired).to.equal(1);
      t.arm(10_000);
      t.arm(1); // replaces
      await until(() => fired === 2);
    } finally {
      t.close();
    }
    t.close(); // twice is fine
    t.arm(1); // closed: ignored
    await sleep(20);
    expect(fired).to.equal(2);
  });
});
