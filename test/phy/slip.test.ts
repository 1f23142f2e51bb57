import { expect } from 'chai';
import { SlipDecoder as LibSlipDecoder, SlipEncoder as LibSlipEncoder } from '@serialport/parser-slip-encoder';
import {
  SLIP_END as END, SLIP_ESC as ESC, SLIP_ESC_END as ESC_END, SLIP_ESC_ESC as ESC_ESC,
  SlipDecoder, slipEncode, slipEncodedMaxLen,
} from '../../src/phy/slip.ts';
import { Xorshift32 } from '../../src/random.ts';

/** A frame full of SLIP specials: END, ESC, ESC_END, ESC_ESC and random octets. */
function nastyFrame(random: Xorshift32, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const r = random.below(10);
    f[i] = r < 3 ? END : r < 6 ? ESC : r === 6 ? ESC_END : r === 7 ? ESC_ESC : random.next() & 0xff;
  }
  return f;
}

/** RFC 1055's byte-at-a-time encoder, as the reference. */
function referenceEncode(frame: Uint8Array): number[] {
  const out = [END];
  for (const b of frame) {
    if (b === END) out.push(ESC, ESC_END);
    else if (b === ESC) out.push(ESC, ESC_ESC);
    else out.push(b);
  }
  out.push(END);
  return out;
}

function encode(frame: Uint8Array): Uint8Array {
  const dst = new Uint8Array(slipEncodedMaxLen(frame.length));
  const n = slipEncode(frame, 0, frame.length, dst, 0);
  return dst.slice(0, n);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Feeds `wire` to `dec` in chunks (sizes from `chunk()`), each chunk an exact-length view.
 * Returns the decoded frames.
 */
function decodeAll(dec: SlipDecoder, wire: Uint8Array, chunk: () => number = () => wire.length, capacity = 2048, targetOff = 5): number[][] {
  const frames: number[][] = [];
  const target = new Uint8Array(targetOff + capacity + 3);
  let pos = 0;
  while (pos < wire.length) {
    const n = Math.min(Math.max(1, chunk()), wire.length - pos);
    const piece = wire.subarray(pos, pos + n);
    pos += n;
    let off = 0;
    while (off < piece.length) {
      off += dec.decode(piece, off, piece.length - off);
      if (dec.needTarget) dec.setTarget(target, targetOff, capacity);
      else if (dec.frameReady) frames.push([...target.subarray(targetOff, targetOff + dec.frameLen)]);
    }
  }
  return frames;
}

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('phy/slip: encoder', () => {
  it('encodes the empty frame as END END', () => {
    expect([...encode(bytes())]).to.deep.equal([END, END]);
  });

  it('encodes one octet between ENDs', () => {
    expect([...encode(bytes(0x45))]).to.deep.equal([END, 0x45, END]);
  });

  it('escapes END and ESC (RFC 1055)', () => {
    expect([...encode(bytes(END))]).to.deep.equal([END, ESC, ESC_END, END]);
    expect([...encode(bytes(ESC))]).to.deep.equal([END, ESC, ESC_ESC, END]);
    expect([...encode(bytes(ESC_END, ESC_ESC))]).to.deep.equal([END, ESC_END, ESC_ESC, END]);
    expect([...encode(new Uint8Array(20).fill(END))]).to.deep.equal(referenceEncode(new Uint8Array(20).fill(END)));
    expect([...encode(new Uint8Array(20).fill(ESC))]).to.deep.equal(referenceEncode(new Uint8Array(20).fill(ESC)));
  });

  it('matches the reference encoder at every length and alignment (word fast path edges)', () => {
    const random = new Xorshift32(7);
    const backing = new Uint8Array(4096);
    const out = new Uint8Array(8192);
    for (let len = 0; len <= 80; len++) {
      for (let srcAlign = 0; srcAlign < 4; srcAlign++) {
        for (let trial = 0; trial < 6; trial++) {
          // Mostly plain octets with a few specials at random places, so runs of every length occur.
          const frame = new Uint8Array(len);
          for (let i = 0; i < len; i++) {
            const r = random.below(64);
            frame[i] = r === 0 ? END : r === 1 ? ESC : 0x20 + random.below(0x80);
          }
          const src = new Uint8Array(backing.buffer, srcAlign, 1024);
          src.fill(END); // specials right after the frame must not leak in
          src.set(frame, 3);
          const dstOff = trial;
          const n = slipEncode(src, 3, len, out, dstOff);
          expect([...out.subarray(dstOff, dstOff + n)]).to.deep.equal(referenceEncode(frame));
        }
      }
    }
  });

  it('never writes more than slipEncodedMaxLen', () => {
    const frame = new Uint8Array(100).fill(ESC);
    const dst = new Uint8Array(slipEncodedMaxLen(100) + 8).fill(0x55);
    const n = slipEncode(frame, 0, 100, dst, 0);
    expect(n).to.equal(slipEncodedMaxLen(100));
    expect([...dst.subarray(n)]).to.deep.equal(new Array(8).fill(0x55));
  });
});

describe('phy/slip: decoder vectors', () => {
  it('ignores empty frames (leading, trailing, back-to-back END)', () => {
    const dec = new SlipDecoder();
    const frames = decodeAll(dec, bytes(END, END, END, 1, 2, 3, END, END, END, 4, 5, 6, END, END));
    expect(frames).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    expect(dec.stats.frames).to.equal(2);
    expect(dec.stats.empty).to.equal(6);
  });

  it('accepts a frame without a leading END', () => {
    const dec = new SlipDecoder();
    expect(decodeAll(dec, bytes(0x45, 0, 0, END))).to.deep.equal([[0x45, 0, 0]]);
  });

  it('drops runts of 1 and 2 octets, as Linux does, and keeps 3', () => {
    const dec = new SlipDecoder();
    const frames = decodeAll(dec, bytes(END, 1, END, END, 1, 2, END, END, ESC, ESC_END, END, END, 1, 2, 3, END));
    expect(frames).to.deep.equal([[1, 2, 3]]);
    expect(dec.stats.runt).to.equal(3);
  });

  it('decodes frames of all END and all ESC', () => {
    const dec = new SlipDecoder();
    const allEnd = new Uint8Array(300).fill(END);
    const allEsc = new Uint8Array(300).fill(ESC);
    expect(decodeAll(dec, concat([encode(allEnd), encode(allEsc)]))).to.deep.equal([[...allEnd], [...allEsc]]);
  });

  it('carries an ESC at the end of a chunk into the next chunk', () => {
    const frame = bytes(1, END, 2, ESC, 3, END, ESC);
    const wire = encode(frame);
    // Split after every ESC, and also one octet at a time.
    for (let cut = 1; cut < wire.length; cut++) {
      let first = true;
      const dec = new SlipDecoder();
      const got = decodeAll(dec, wire, () => {
        if (first) {
          first = false;
          return cut;
        }
        return wire.length;
      });
      expect(got, `cut at ${cut}`).to.deep.equal([[...frame]]);
    }
    expect(decodeAll(new SlipDecoder(), wire, () => 1)).to.deep.equal([[...frame]]);
  });

  it('drops a frame over the capacity up to the next END, then recovers', () => {
    const dec = new SlipDecoder();
    const ten = new Uint8Array(10).fill(7);
    const eleven = new Uint8Array(11).fill(8);
    const tenEscaped = new Uint8Array(10).fill(END);
    const elevenEscaped = new Uint8Array(11).fill(ESC);
    const longRun = new Uint8Array(100).fill(9);
    const wire = concat([encode(eleven), encode(ten), encode(elevenEscaped), encode(tenEscaped), encode(longRun), encode(bytes(1, 2, 3))]);
    for (const chunk of [wire.length, 1, 3]) {
      const d = new SlipDecoder();
      expect(decodeAll(d, wire, () => chunk, 10)).to.deep.equal([[...ten], [...tenEscaped], [1, 2, 3]]);
      expect(d.stats.oversize).to.equal(3);
    }
    expect(dec.stats.oversize).to.equal(0);
  });

  it('counts ESC followed by another octet and drops that frame', () => {
    const dec = new SlipDecoder();
    const frames = decodeAll(dec, bytes(END, 0x45, ESC, 0x41, 0x46, END, 1, 2, 3, END, 0x45, 0x46, ESC, END, 4, 5, 6, END));
    expect(frames).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
    expect(dec.stats.badEscape).to.equal(2);
    expect(dec.stats.frames).to.equal(2);
  });

  it('stops at the first octet of a frame when no target is set, and can discard that frame', () => {
    const dec = new SlipDecoder();
    const wire = bytes(END, END, 1, 2, 3, END, 4, 5, 6, END);
    expect(dec.decode(wire, 0, wire.length)).to.equal(2);
    expect(dec.needTarget).to.equal(true);
    dec.discardFrame();
    const target = new Uint8Array(16);
    expect(dec.decode(wire, 2, wire.length - 2)).to.equal(4); // dropped 1 2 3 END, stopped at 4
    expect(dec.needTarget).to.equal(true);
    dec.setTarget(target, 0, 16);
    expect(dec.decode(wire, 6, 4)).to.equal(4);
    expect(dec.frameReady).to.equal(true);
    expect([...target.subarray(0, dec.frameLen)]).to.deep.equal([4, 5, 6]);
    expect(dec.hasTarget).to.equal(false);
  });

  it('reset() forgets a partial frame', () => {
    const dec = new SlipDecoder();
    const target = new Uint8Array(16);
    dec.setTarget(target, 0, 16);
    dec.decode(bytes(9, 9, 9, ESC), 0, 4);
    dec.reset();
    const wire = bytes(1, 2, 3, END);
    dec.decode(wire, 0, 4);
    expect(dec.frameReady).to.equal(true);
    expect([...target.subarray(0, dec.frameLen)]).to.deep.equal([1, 2, 3]);
  });
});

describe('phy/slip: random frames, both ways against @serialport/parser-slip-encoder', function () {
  this.timeout(120_000);
  const COUNT = 10_000;
  const random = new Xorshift32(0x5eed);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < COUNT; k++) frames.push(nastyFrame(random, random.below(301)));
  const longer = (min: number) => frames.filter((f) => f.length >= min).map((f) => [...f]);

  /** Runs `wire` through the library decoder (object mode keeps frame boundaries). */
  async function libDecode(wire: Uint8Array): Promise<number[][]> {
    const dec = new LibSlipDecoder({ readableObjectMode: true });
    const out: number[][] = [];
    dec.on('data', (frame: Buffer) => {
      if (frame.length > 0) out.push([...frame]);
    });
    const done = new Promise<void>((resolve, reject) => dec.on('end', resolve).on('error', reject));
    for (let at = 0; at < wire.length; at += 4096) dec.write(Buffer.from(wire.buffer, wire.byteOffset + at, Math.min(4096, wire.length - at)));
    dec.end();
    await done;
    return out;
  }

  /** Encodes each frame with the library encoder (each write() is one frame). */
  async function libEncode(list: Uint8Array[], bluetoothQuirk: boolean): Promise<Uint8Array> {
    const enc = new LibSlipEncoder({ bluetoothQuirk });
    const parts: Uint8Array[] = [];
    enc.on('data', (chunk: Buffer) => parts.push(new Uint8Array(chunk)));
    const done = new Promise<void>((resolve, reject) => enc.on('end', resolve).on('error', reject));
    for (const f of list) if (f.length > 0) enc.write(Buffer.from(f));
    enc.end();
    await done;
    return concat(parts);
  }

  it('our encoder -> their decoder gives every frame back', async () => {
    const wire = concat(frames.map(encode));
    expect(await libDecode(wire)).to.deep.equal(longer(1));
  });

  for (const bluetoothQuirk of [false, true]) {
    it(`their encoder (bluetoothQuirk ${bluetoothQuirk}) -> our decoder gives every frame of 3+ octets back`, async () => {
      const wire = await libEncode(frames, bluetoothQuirk);
      const dec = new SlipDecoder();
      expect(decodeAll(dec, wire)).to.deep.equal(longer(3));
      expect(dec.stats.badEscape + dec.stats.oversize).to.equal(0);
      expect(dec.stats.runt).to.equal(frames.filter((f) => f.length === 1 || f.length === 2).length);
    });
  }

  it('our encoder -> our decoder in random chunk sizes gives the same frames', () => {
    const wire = concat(frames.map(encode));
    const expected = longer(3);
    const cut = new Xorshift32(99);
    for (const max of [1, 2, 7, 64, 1500]) {
      const dec = new SlipDecoder();
      expect(decodeAll(dec, wire, () => 1 + cut.below(max)), `chunks up to ${max}`).to.deep.equal(expected);
      expect(dec.stats.frames).to.equal(expected.length);
    }
  });
});
