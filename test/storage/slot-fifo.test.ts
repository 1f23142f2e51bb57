import { expect } from 'chai';
import { SlotFifo } from '../../src/storage/slot-fifo.ts';

/** Everything the FIFO holds, oldest first, by shifting it empty. */
function drain(fifo: SlotFifo): number[] {
  const out: number[] = [];
  for (let s = fifo.shift(); s >= 0; s = fifo.shift()) out.push(s);
  return out;
}

describe('SlotFifo', () => {
  it('starts empty: shift and peek answer -1', () => {
    const fifo = new SlotFifo(4);
    expect(fifo.capacity).to.equal(4);
    expect(fifo.length).to.equal(0);
    expect(fifo.isEmpty()).to.equal(true);
    expect(fifo.isFull()).to.equal(false);
    expect(fifo.shift()).to.equal(-1);
    expect(fifo.peek()).to.equal(-1);
  });

  it('hands indices back in the order they went in, slot 0 included', () => {
    const fifo = new SlotFifo(4);
    expect(fifo.push(0)).to.equal(true);
    expect(fifo.push(7)).to.equal(true);
    expect(fifo.push(3)).to.equal(true);
    expect(fifo.length).to.equal(3);
    expect(fifo.peek()).to.equal(0);
    expect(fifo.length).to.equal(3);
    expect(drain(fifo)).to.deep.equal([0, 7, 3]);
    expect(fifo.isEmpty()).to.equal(true);
  });

  it('refuses when full and keeps what it has', () => {
    const fifo = new SlotFifo(2);
    expect(fifo.push(5)).to.equal(true);
    expect(fifo.push(6)).to.equal(true);
    expect(fifo.isFull()).to.equal(true);
    expect(fifo.push(9)).to.equal(false);
    expect(fifo.length).to.equal(2);
    expect(drain(fifo)).to.deep.equal([5, 6]);
  });

  it('wraps around its storage any number of times', () => {
    const fifo = new SlotFifo(3);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      // Push 1..3, shift 1..3: the head walks round the ring at every offset.
      const n = 1 + (round % 3);
      for (let i = 0; i < n; i++) expect(fifo.push(next++)).to.equal(true);
      for (let i = 0; i < n; i++) expect(fifo.shift()).to.equal(expected++);
    }
    fifo.push(100);
    fifo.push(101);
    fifo.push(102);
    expect(fifo.push(103)).to.equal(false);
    expect(drain(fifo)).to.deep.equal([100, 101, 102]);
  });

  it('a capacity of 1 works', () => {
    const fifo = new SlotFifo(1);
    expect(fifo.push(42)).to.equal(true);
    expect(fifo.push(43)).to.equal(false);
    expect(fifo.shift()).to.equal(42);
    expect(fifo.push(43)).to.equal(true);
    expect(fifo.peek()).to.equal(43);
  });

  it('clear forgets every index', () => {
    const fifo = new SlotFifo(4);
    fifo.push(1);
    fifo.push(2);
    fifo.shift();
    fifo.push(3);
    fifo.clear();
    expect(fifo.length).to.equal(0);
    expect(fifo.shift()).to.equal(-1);
    fifo.push(4);
    expect(drain(fifo)).to.deep.equal([4]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new SlotFifo(0)).to.throw(RangeError);
    expect(() => new SlotFifo(-1)).to.throw(RangeError);
    expect(() => new SlotFifo(2.5)).to.throw(RangeError);
  });
});
