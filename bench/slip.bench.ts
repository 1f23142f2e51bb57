/**
 * SLIP codec speed and allocation: random 1500-octet frames are encoded into a fixed TX buffer
 * and decoded back into a pool slot, as SlipDevice does (RFC 1055 framing, src/phy/slip.ts).
 * The same frames go through @serialport/parser-slip-encoder (SlipEncoder piped into
 * SlipDecoder) in the same run for the ratio. That decoder concatenates a Buffer per octet
 * (measured earlier on this machine kind: about 2.5 MB/s, 406 KB allocated per frame), so it gets few frames.
 */
import { SlipDecoder as SerialportSlipDecoder, SlipEncoder as SerialportSlipEncoder } from '@serialport/parser-slip-encoder';
import { SlipDecoder, SlipEncoder, slipEncodedMaxLen } from '../src/phy/slip.ts';
import { Xorshift32 } from '../src/random.ts';
import { Arena } from '../src/storage/arena.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { measureAlloc, roundAlloc } from '../support/alloc.ts';
import { calibrate, range, timeAsync, timeSync, warmUp } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'slip';

const FRAME_LEN = 1500;
/** Distinct random frames, cycled. A power of two. */
const FRAMES = 64;
/** Frames per run through the serialport codec (about 0.2 s at 2.5 MB/s). */
const SERIALPORT_FRAMES = 300;

/** Results land here so the JIT cannot drop the work (an object field: no boxing). */
class Sink {
  value = 0;
}

/** Encoded frames back to back in one buffer. */
interface Wire {
  bytes: Uint8Array;
  offsets: Int32Array;
  lengths: Int32Array;
}

/** Our codec set up as SlipDevice uses it: a source pool, a TX buffer, a receive slot. */
class Codec {
  readonly source: PacketPool;
  readonly tx: Uint8Array;
  readonly rx: PacketPool;
  readonly rxSlot: number;
  readonly decoder: SlipDecoder;
  readonly encoder = new SlipEncoder();
  readonly sink = new Sink();

  /** With `arena`, the pools and the TX buffer are carved from it (as SlipDevice with `arena`): copies are copyWithin. */
  constructor(seed: number, arena?: Arena) {
    const inArena = arena !== undefined ? { arena } : {};
    this.source = new PacketPool({ slots: FRAMES, mtu: FRAME_LEN, name: 'bench-src', ...inArena });
    const random = new Xorshift32(seed);
    for (let f = 0; f < FRAMES; f++) {
      const slot = this.source.alloc();
      random.fill(this.source.bytes, this.source.start[slot]!, FRAME_LEN);
      this.source.len[slot] = FRAME_LEN;
    }
    this.tx = arena !== undefined ? arena.carve(slipEncodedMaxLen(FRAME_LEN)) : new Uint8Array(slipEncodedMaxLen(FRAME_LEN));
    this.rx = new PacketPool({ slots: 1, mtu: FRAME_LEN, name: 'bench-rx', ...inArena });
    this.rxSlot = this.rx.alloc();
    this.decoder = new SlipDecoder();
  }

  /** Encodes frame `i mod FRAMES` and decodes it back into the receive slot; returns its length. */
  roundTrip(i: number): number {
    const slot = i & (FRAMES - 1);
    const wireLen = this.encoder.encode(this.source.bytes, this.source.start[slot]!, FRAME_LEN, this.tx, 0);
    const decoder = this.decoder;
    decoder.setTarget(this.rx.bytes, this.rx.start[this.rxSlot]!, FRAME_LEN);
    let off = 0;
    let frameLen = -1;
    while (off < wireLen) {
      off += decoder.decode(this.tx, off, wireLen - off);
      if (decoder.frameReady) {
        frameLen = decoder.frameLen;
        break;
      }
    }
    return frameLen;
  }

  /** Encodes only: frame `i mod FRAMES` into the TX buffer; returns the wire length. */
  encodeOnly(i: number): number {
    const slot = i & (FRAMES - 1);
    return this.encoder.encode(this.source.bytes, this.source.start[slot]!, FRAME_LEN, this.tx, 0);
  }

  /** Decodes only: wire frame `i mod FRAMES` (from `wire`) into the receive slot; returns its length. */
  decodeOnly(wire: Wire, i: number): number {
    const k = i & (FRAMES - 1);
    const decoder = this.decoder;
    decoder.setTarget(this.rx.bytes, this.rx.start[this.rxSlot]!, FRAME_LEN);
    let off = wire.offsets[k]!;
    const end = off + wire.lengths[k]!;
    while (off < end) {
      off += decoder.decode(wire.bytes, off, end - off);
      if (decoder.frameReady) return decoder.frameLen;
    }
    return -1;
  }

  /** Every frame encoded back to back, for `decodeOnly`. */
  encodeAll(): Wire {
    const bytes = new Uint8Array(FRAMES * slipEncodedMaxLen(FRAME_LEN));
    const offsets = new Int32Array(FRAMES);
    const lengths = new Int32Array(FRAMES);
    let at = 0;
    for (let f = 0; f < FRAMES; f++) {
      offsets[f] = at;
      lengths[f] = this.encoder.encode(this.source.bytes, this.source.start[f]!, FRAME_LEN, bytes, at);
      at += lengths[f]!;
    }
    return { bytes, offsets, lengths };
  }

  /** Decodes every frame once and compares it with its source; throws on a difference. */
  verify(): void {
    const rxStart = this.rx.start[this.rxSlot]!;
    for (let f = 0; f < FRAMES; f++) {
      const len = this.roundTrip(f);
      if (len !== FRAME_LEN) throw new Error(`slip round trip of frame ${f}: length ${len}, want ${FRAME_LEN}`);
      const start = this.source.start[f]!;
      for (let i = 0; i < FRAME_LEN; i++) {
        if (this.rx.bytes[rxStart + i] !== this.source.bytes[start + i]) throw new Error(`slip round trip of frame ${f}: octet ${i} differs`);
      }
    }
  }

  loop(n: number): void {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += this.roundTrip(i);
    this.sink.value ^= acc;
  }
}

/** The frames as Buffers, for the serialport streams. */
function framesAsBuffers(codec: Codec): Buffer[] {
  const out: Buffer[] = [];
  for (let f = 0; f < FRAMES; f++) {
    const start = codec.source.start[f]!;
    out.push(Buffer.from(codec.source.bytes.slice(start, start + FRAME_LEN)));
  }
  return out;
}

/** Pushes `count` frames through SlipEncoder -> SlipDecoder; resolves when all came out intact. */
function serialportRoundTrip(frames: readonly Buffer[], count: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const encoder = new SerialportSlipEncoder();
    const decoder = new SerialportSlipDecoder();
    let received = 0;
    decoder.on('data', (frame: Buffer) => {
      if (frame.length === 0) return;
      const want = frames[received % frames.length]!;
      if (!frame.equals(want)) reject(new Error(`serialport SlipDecoder: frame ${received} differs`));
      if (++received === count) {
        encoder.unpipe(decoder);
        resolve();
      }
    });
    encoder.on('error', reject);
    decoder.on('error', reject);
    encoder.pipe(decoder);
    for (let i = 0; i < count; i++) encoder.write(frames[i % frames.length]!);
  });
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const codec = new Codec(0x5eed);
  codec.verify();

  warmUp((k) => codec.loop(k), 150, 100);
  const n = calibrate((k) => codec.loop(k), ctx.quick ? 40 : 250, 200);
  const ours = timeSync(() => codec.loop(n), ctx.quick ? 3 : 9, 1);
  const mbps = (frames: number, ms: number): number => (FRAME_LEN * frames) / (ms * 1e3);
  const oursSamples = ours.samplesMs.map((ms) => mbps(n, ms));
  const oursMbps = mbps(n, ours.medianMs);
  ctx.log(`slipstack: ${n} frames per run, MB/s median ${oursMbps.toFixed(0)} (${range(oursSamples, 0)})`);

  // The same round trip with everything in one Arena, as SlipDevice runs with `arena`.
  const inArena = new Codec(0x5eed, new Arena(FRAMES * (FRAME_LEN + 4) + FRAME_LEN + 4 + slipEncodedMaxLen(FRAME_LEN) + 64));
  inArena.verify();
  warmUp((k) => inArena.loop(k), 150, 100);
  const nArena = calibrate((k) => inArena.loop(k), ctx.quick ? 40 : 250, 200);
  const arenaRun = timeSync(() => inArena.loop(nArena), ctx.quick ? 3 : 9, 1);
  const arenaSamples = arenaRun.samplesMs.map((ms) => mbps(nArena, ms));
  const arenaMbps = mbps(nArena, arenaRun.medianMs);
  ctx.log(`slipstack in one arena: ${nArena} frames per run, MB/s median ${arenaMbps.toFixed(0)} (${range(arenaSamples, 0)})`);

  // The two halves alone, for reading the round-trip figure (no targets: reference only).
  const wire = codec.encodeAll();
  const halves = (body: (i: number) => number): { mbps: number; samples: number[] } => {
    const loop = (k: number): void => {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += body(i);
      codec.sink.value ^= acc;
    };
    warmUp(loop, 100, 100);
    const count = calibrate(loop, ctx.quick ? 20 : 120, 200);
    const t = timeSync(() => loop(count), ctx.quick ? 3 : 7, 1);
    return { mbps: mbps(count, t.medianMs), samples: t.samplesMs.map((ms) => mbps(count, ms)) };
  };
  const encodeOnly = halves((i) => codec.encodeOnly(i));
  const decodeOnly = halves((i) => codec.decodeOnly(wire, i));
  ctx.log(`slipstack: encode only ${encodeOnly.mbps.toFixed(0)} MB/s, decode only ${decodeOnly.mbps.toFixed(0)} MB/s`);

  const alloc = measureAlloc((i) => {
    codec.sink.value ^= codec.roundTrip(i);
  }, ctx.quick ? 20_000 : 200_000, ctx.quick ? 5_000 : 20_000);
  ctx.log(`slipstack: ${alloc.allocatedBytes} B allocated over ${alloc.iterations} frames, ${alloc.minorGcs} minor GCs`);

  const buffers = framesAsBuffers(codec);
  const theirFrames = ctx.quick ? 50 : SERIALPORT_FRAMES;
  const theirs = await timeAsync(() => serialportRoundTrip(buffers, theirFrames), ctx.quick ? 1 : 3, 1);
  const theirSamples = theirs.samplesMs.map((ms) => mbps(theirFrames, ms));
  const theirMbps = mbps(theirFrames, theirs.medianMs);
  ctx.log(`serialport: ${theirFrames} frames per run, MB/s median ${theirMbps.toFixed(2)} (${range(theirSamples, 2)})`);

  return [
    {
      key: 'slip_codec_mb_s',
      value: oursMbps,
      unit: 'MB/s',
      target: '>= 1000',
      note: `payload MB/s, encode + decode of random ${FRAME_LEN} B frames into a pool slot, ${n} frames per run, median of ${ours.samplesMs.length} (${range(oursSamples, 0)}); a first hand-written codec: ~210`,
    },
    {
      key: 'slip_codec_arena_mb_s',
      value: arenaMbps,
      unit: 'MB/s',
      note: `as slip_codec_mb_s with the pools and TX buffer carved from one Arena (runs move by copyWithin), median of ${arenaRun.samplesMs.length} (${range(arenaSamples, 0)})`,
    },
    {
      key: 'slip_encode_mb_s',
      value: encodeOnly.mbps,
      unit: 'MB/s',
      note: `SlipEncoder.encode alone, same frames, median (${range(encodeOnly.samples, 0)}); a first hand-written encoder: ~300-420`,
    },
    {
      key: 'slip_decode_mb_s',
      value: decodeOnly.mbps,
      unit: 'MB/s',
      note: `SlipDecoder.decode alone, pre-encoded frames into a pool slot, median (${range(decodeOnly.samples, 0)}); a first hand-written decoder: ~185-297`,
    },
    {
      key: 'slip_codec_vs_serialport_ratio',
      value: oursMbps / theirMbps,
      unit: 'x',
      note: `@serialport/parser-slip-encoder SlipEncoder | SlipDecoder on the same frames: ${theirMbps.toFixed(2)} MB/s (${theirFrames} frames per run, median of ${theirs.samplesMs.length}, ${range(theirSamples, 2)}); earlier: ~2.5`,
    },
    {
      key: 'slip_codec_alloc_bytes',
      value: roundAlloc(alloc.bytesPerIteration),
      unit: 'B/frame',
      target: '== 0',
      note: `v8.GCProfiler over ${alloc.iterations} round trips, steady state, ${alloc.minorGcs} minor GCs; serialport's decoder: ~406 KB/frame`,
    },
  ];
}
