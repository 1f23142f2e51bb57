import { expect } from 'chai';
import { Assembler } from '../../src/storage/assembler.ts';
import { Xorshift32 } from '../../src/random.ts';

function ranges(asm: Assembler): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < asm.rangeCount; i++) out.push([asm.rangeStart(i), asm.rangeEnd(i)]);
  return out;
}

/** Ranges most recent first, as SACK blocks are sent (RFC 2018 §4). */
function recent(asm: Assembler): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let k = 0; ; k++) {
    const i = asm.recentRange(k);
    if (i < 0) break;
    out.push([asm.rangeStart(i), asm.rangeEnd(i)]);
  }
  return out;
}

describe('Assembler', () => {
  it('starts empty', () => {
    const asm = new Assembler(4);
    expect(asm.isEmpty()).to.equal(true);
    expect(asm.rangeCount).to.equal(0);
    expect(asm.frontLength).to.equal(0);
    expect(asm.removeFront()).to.equal(0);
    expect(asm.recentRange(0)).to.equal(-1);
  });

  it('rejects a nonsense size', () => {
    expect(() => new Assembler(0)).to.throw(RangeError);
    expect(() => new Assembler(1.5)).to.throw(RangeError);
  });

  it('merges in-order segments into one run at the front', () => {
    const asm = new Assembler(2);
    for (let i = 0; i < 10; i++) expect(asm.add(i * 10, i * 10 + 10)).to.equal(true);
    expect(ranges(asm)).to.deep.equal([[0, 100]]);
    expect(asm.frontLength).to.equal(100);
  });

  it('merges segments that arrive in reverse order', () => {
    const asm = new Assembler(1);
    for (let i = 9; i >= 0; i--) expect(asm.add(i * 10, i * 10 + 10)).to.equal(true);
    expect(ranges(asm)).to.deep.equal([[0, 100]]);
  });

  it('keeps disjoint ranges sorted', () => {
    const asm = new Assembler(4);
    asm.add(50, 60);
    asm.add(10, 20);
    asm.add(30, 40);
    expect(ranges(asm)).to.deep.equal([[10, 20], [30, 40], [50, 60]]);
    expect(asm.frontLength).to.equal(0);
  });

  it('ignores duplicates and contained ranges', () => {
    const asm = new Assembler(4);
    asm.add(10, 20);
    asm.add(10, 20);
    asm.add(12, 18);
    asm.add(10, 11);
    asm.add(19, 20);
    expect(ranges(asm)).to.deep.equal([[10, 20]]);
  });

  it('ignores empty ranges', () => {
    const asm = new Assembler(1);
    expect(asm.add(5, 5)).to.equal(true);
    expect(asm.add(7, 3)).to.equal(true);
    expect(asm.isEmpty()).to.equal(true);
  });

  it('extends a range by overlaps on either side', () => {
    const asm = new Assembler(4);
    asm.add(10, 20);
    asm.add(5, 12);
    expect(ranges(asm)).to.deep.equal([[5, 20]]);
    asm.add(18, 30);
    expect(ranges(asm)).to.deep.equal([[5, 30]]);
    asm.add(0, 40);
    expect(ranges(asm)).to.deep.equal([[0, 40]]);
  });

  it('merges a range that touches or bridges its neighbours', () => {
    const asm = new Assembler(4);
    asm.add(0, 10);
    asm.add(20, 30);
    asm.add(40, 50);
    asm.add(10, 20); // exactly fills the first hole
    expect(ranges(asm)).to.deep.equal([[0, 30], [40, 50]]);
    asm.add(25, 45); // overlaps both
    expect(ranges(asm)).to.deep.equal([[0, 50]]);
    asm.add(50, 60); // touches the end
    expect(ranges(asm)).to.deep.equal([[0, 60]]);
  });

  it('merges several ranges at once', () => {
    const asm = new Assembler(8);
    for (let i = 1; i < 8; i++) asm.add(i * 10, i * 10 + 5);
    expect(asm.rangeCount).to.equal(7);
    asm.add(22, 63);
    expect(ranges(asm)).to.deep.equal([[10, 15], [20, 65], [70, 75]]);
  });

  it('refuses a new hole when full and changes nothing', () => {
    const asm = new Assembler(3);
    asm.add(10, 20);
    asm.add(30, 40);
    asm.add(50, 60);
    const before = ranges(asm);
    const recentBefore = recent(asm);
    expect(asm.add(0, 5)).to.equal(false);
    expect(asm.add(25, 27)).to.equal(false);
    expect(asm.add(70, 80)).to.equal(false);
    expect(ranges(asm)).to.deep.equal(before);
    expect(recent(asm)).to.deep.equal(recentBefore);
    // But anything that touches an existing range still merges.
    expect(asm.add(20, 25)).to.equal(true);
    expect(asm.add(60, 80)).to.equal(true);
    expect(asm.add(0, 10)).to.equal(true);
    expect(ranges(asm)).to.deep.equal([[0, 25], [30, 40], [50, 80]]);
    // And a bridge frees a slot for a new hole.
    expect(asm.add(25, 30)).to.equal(true);
    expect(asm.add(100, 110)).to.equal(true);
    expect(ranges(asm)).to.deep.equal([[0, 40], [50, 80], [100, 110]]);
  });

  it('removeFront takes the run at offset 0 and shifts the rest', () => {
    const asm = new Assembler(4);
    asm.add(20, 30);
    asm.add(0, 10);
    asm.add(40, 45);
    expect(asm.frontLength).to.equal(10);
    expect(asm.removeFront()).to.equal(10);
    expect(ranges(asm)).to.deep.equal([[10, 20], [30, 35]]);
    expect(asm.removeFront()).to.equal(0);
    expect(ranges(asm)).to.deep.equal([[10, 20], [30, 35]]);
    asm.add(0, 10);
    expect(asm.removeFront()).to.equal(20);
    expect(ranges(asm)).to.deep.equal([[10, 15]]);
  });

  it('advance moves the front, trimming and dropping ranges behind it', () => {
    const asm = new Assembler(4);
    asm.add(5, 10);
    asm.add(15, 25);
    asm.add(30, 40);
    asm.advance(0);
    expect(ranges(asm)).to.deep.equal([[5, 10], [15, 25], [30, 40]]);
    asm.advance(12);
    expect(ranges(asm)).to.deep.equal([[3, 13], [18, 28]]);
    asm.advance(5);
    expect(ranges(asm)).to.deep.equal([[0, 8], [13, 23]]);
    expect(asm.frontLength).to.equal(8);
    asm.advance(23);
    expect(asm.isEmpty()).to.equal(true);
  });

  it('recentRange lists ranges most recently grown first', () => {
    const asm = new Assembler(4);
    asm.add(10, 20); // A
    asm.add(30, 40); // B
    asm.add(50, 60); // C
    expect(recent(asm)).to.deep.equal([[50, 60], [30, 40], [10, 20]]);
    asm.add(20, 22); // A grows
    expect(recent(asm)).to.deep.equal([[10, 22], [50, 60], [30, 40]]);
    asm.add(45, 47); // D, new
    expect(recent(asm)).to.deep.equal([[45, 47], [10, 22], [50, 60], [30, 40]]);
    asm.add(47, 50); // D merges into C: the merged range is the newest
    expect(recent(asm)).to.deep.equal([[45, 60], [10, 22], [30, 40]]);
    expect(asm.recentRange(3)).to.equal(-1);
    // Order survives removeFront and advance.
    asm.add(0, 10);
    expect(recent(asm)).to.deep.equal([[0, 22], [45, 60], [30, 40]]);
    asm.removeFront();
    expect(recent(asm)).to.deep.equal([[23, 38], [8, 18]]);
    asm.advance(10);
    expect(recent(asm)).to.deep.equal([[13, 28], [0, 8]]);
  });

  it('clear forgets everything', () => {
    const asm = new Assembler(2);
    asm.add(1, 2);
    asm.add(4, 5);
    asm.clear();
    expect(asm.isEmpty()).to.equal(true);
    expect(asm.add(7, 8)).to.equal(true);
    expect(asm.add(10, 11)).to.equal(true);
    expect(asm.add(13, 14)).to.equal(false);
  });

  it('matches a boolean-array model over random operations', () => {
    const random = new Xorshift32(7);
    const span = 200;
    for (const maxRanges of [1, 2, 3, 4, 8]) {
      const asm = new Assembler(maxRanges);
      let model = new Array<boolean>(span * 3).fill(false);
      // Recency model: per octet, the number of the add that last grew the run holding it.
      let stamp = new Array<number>(span * 3).fill(0);
      for (let op = 0; op < 20_000; op++) {
        const kind = random.below(10);
        if (kind < 7) {
          const start = random.below(span);
          const end = start + random.below(40);
          // Would the add need a new range beyond maxRanges?
          const next = model.slice();
          for (let i = start; i < end; i++) next[i] = true;
          const needed = countRuns(next);
          const ok = asm.add(start, end);
          const expectOk = end <= start || needed <= maxRanges;
          if (ok !== expectOk) expect.fail(`max ${maxRanges} op ${op}: add(${start}, ${end}) returned ${ok}`);
          if (ok) model = next;
          if (ok && end > start) {
            // Every octet of the run that now holds [start, end) becomes the newest.
            let s = start;
            while (s > 0 && model[s - 1]) s--;
            for (let i = s; model[i]; i++) stamp[i] = op + 1;
          }
        } else if (kind < 9) {
          const front = asm.frontLength;
          let want = 0;
          while (model[want]) want++;
          if (front !== want) expect.fail(`max ${maxRanges} op ${op}: frontLength ${front}, want ${want}`);
          const n = kind === 7 ? asm.removeFront() : random.below(30);
          if (kind === 8) asm.advance(n);
          if (kind === 7 && n !== want) expect.fail(`removeFront ${n}, want ${want}`);
          model = model.slice(n).concat(new Array<boolean>(n).fill(false));
          stamp = stamp.slice(n).concat(new Array<number>(n).fill(0));
        } else {
          // Recent order: runs sorted by the add that last grew them, newest first.
          const want = runs(model).sort((a, b) => stamp[b[0]]! - stamp[a[0]]!);
          const got = recent(asm);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            expect.fail(`max ${maxRanges} op ${op}: recent ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          }
        }
        // The ranges are exactly the runs of the model, sorted and separated by holes.
        const want = runs(model);
        const got = ranges(asm);
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          expect.fail(`max ${maxRanges} op ${op}: ranges ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        }
      }
    }
  });
});

function runs(bits: boolean[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = 0;
  while (i < bits.length) {
    if (!bits[i]) {
      i++;
      continue;
    }
    const s = i;
    while (i < bits.length && bits[i]) i++;
    out.push([s, i]);
  }
  return out;
}

function countRuns(bits: boolean[]): number {
  return runs(bits).length;
}
