import { expect } from 'chai';
import { HostLoop } from '../../src/drivers/host-loop.ts';
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
});
