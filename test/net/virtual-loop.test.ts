/**
 * VirtualLoop keeps the core's time contract (src/time.ts): every `now` it hands a part is an
 * integer number of milliseconds, also when a part reports a deadline between two (met at the
 * next whole millisecond, as in test/helpers/sim.ts), and it is a small integer (a V8 Smi), also
 * when the deadline came as a double (the UART's octet times, from a Float64Array).
 */
import { expect } from 'chai';
import v8 from 'node:v8';
import { VirtualLoop } from '../../src/drivers/net/index.ts';
import { UartLinkPair } from '../../src/phy/uart.ts';
import type { Pollable } from '../../src/time.ts';

/** V8's %IsSmi, switched on for this one function. */
function smiTest(): (x: unknown) => boolean {
  v8.setFlagsFromString('--allow-natives-syntax');
  const f = new Function('x', 'return %IsSmi(x)') as (x: unknown) => boolean;
  v8.setFlagsFromString('--no-allow-natives-syntax');
  return f;
}

describe('VirtualLoop', () => {
  it('hands out integer ms only, meeting a fractional deadline at the next whole ms', async () => {
    const seen: number[] = [];
    let due = 10.25;
    const part: Pollable = {
      poll(now) {
        seen.push(now);
        if (now >= due) {
          due += 0.6;
          return true;
        }
        return false;
      },
      pollAt: () => due,
    };
    const loop = new VirtualLoop([part], 0.5);
    await loop.runFor(20);
    expect(seen.length).to.be.greaterThan(10);
    expect(seen.filter((t) => !Number.isInteger(t))).to.deep.equal([]);
    // The first deadline, 10.25 ms, is met at 11 ms, not before.
    expect(seen.filter((t) => t > 1)[0]).to.equal(11);
    expect(Number.isInteger(loop.time)).to.equal(true);
  });

  it('a UART line at 115200 baud (octets of 0.0868 ms, rounded up by the line) is read at whole ms, the last of 1000 at 87 ms, every now a small integer', async () => {
    const isSmi = smiTest();
    const line = new UartLinkPair(115200);
    const seen: number[] = [];
    const boxed = { polls: 0 };
    const out = new Uint8Array(1000).fill(0x55);
    const into = new Uint8Array(1000);
    let got = 0;
    const sender: Pollable = {
      poll(now) { seen.push(now); return false; },
      pollAt: () => Infinity,
    };
    const receiver: Pollable = {
      poll(now) {
        seen.push(now);
        if (!isSmi(now)) boxed.polls++;
        const n = line.b.read(now, into, got, into.length - got);
        got += n;
        return n > 0;
      },
      pollAt: (now) => line.b.pollAt?.(now) ?? Infinity,
    };
    expect(line.a.write(0, out, 0, out.length)).to.equal(1000);
    const loop = new VirtualLoop([sender, receiver]);
    expect(await loop.runUntil(() => got === 1000, 1000)).to.equal(true);
    expect(seen.filter((t) => !Number.isInteger(t))).to.deep.equal([]);
    // 1000 octets at 11520 octets/s take 86.8 ms: the last is read at 87 ms.
    expect(loop.time).to.equal(87);
    // Taken as the UART reports them, every deadline after the first would be a heap number.
    expect(boxed.polls, 'polls handed a heap-number now').to.equal(0);
    expect(isSmi(loop.time)).to.equal(true);
  });
});
