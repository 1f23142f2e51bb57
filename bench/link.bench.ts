/**
 * The serial line against its physical limit, in virtual time (docs/interop-linux-slip.md, "Link speed"):
 *
 * - link_eff_<baud>_<mtu>: bulk TCP goodput between two stacks over the UART-timed SLIP link,
 *   each direction, as a fraction of the limit computed in the same run:
 *   (baud/10) x MSS / (MTU + 2 + escapes), MSS = MTU - 40 - 12 (timestamps), escapes = the
 *   SLIP escapes a full segment of this data needs (counted, about 2 per 256 random octets).
 * - ping_rtt_ms_115200_median beside ping_rtt_floor_ms_115200, the serialization time of
 *   request plus reply. The clock here ticks in 10 µs units (the UART model is fed baud/100,
 *   so one unit is 10 µs of line time) so the figure is not rounded to whole milliseconds.
 * - twoway_eff_115200_1006: both ends send bulk data at once (the firmware's queue and ring
 *   sizes), worse direction against the same limit: ACKs share the line with the data, and a
 *   pure ACK goes ahead of queued data frames when SND.NXT is inside the peer's window.
 * - link_eff_cslip_115200_<mtu>, keystroke_rtt_ms_115200, keystroke_rtt_ms_cslip_115200: the
 *   same line with VJ header compression (bench/cslip.ts).
 * - prealloc_bytes_default: everything the default firmware configuration preallocates.
 * - rss_growth_mb_1gb: resident memory growth while two stacks move 1 GiB.
 */
import { Interface } from '../src/iface/interface.ts';
import { MemoryDevicePair } from '../src/phy/memory.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartLinkPair } from '../src/phy/uart.ts';
import { MemoryLinkPair } from '../src/phy/memory.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../src/time.ts';
import { Board } from '../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../firmware-bridge/cli.ts';
import { SLIP_QUEUE_FRAMES, SMALL_PROFILE, TCP_RING_LEN } from '../firmware-bridge/limits.ts';
import { HOST_A as A, HOST_B as B } from '../support/addresses.ts';
import { randomBytes } from '../support/pattern.ts';
import { cslipFigures } from './cslip.ts';
import { escapes, simulate, timeOneWay } from './lib/sim.ts';
import { median } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'link';

/** Sizes of the two ends in linkGoodput: the bench's own unless a firmware profile's are given. */
interface LinkSizes {
  slots: number;
  txQueue: number;
  /** TCP ring octets each way; the stack's default when absent. */
  ring?: number;
  /** Decoded frames each SLIP device queues; its default when absent. */
  rxQueue?: number;
  /** Octets the UART model holds per direction; its default when absent. */
  fifo?: number;
}

/** Two stacks over a UART-timed SLIP link sized by `sizes`, B listening on 5001 and A connecting to it. */
function connectedPair(baud: number, mtu: number, sizes: LinkSizes) {
  const links = new UartLinkPair(baud, sizes.fifo !== undefined ? { fifo: sizes.fifo } : {});
  const slip = { txQueue: sizes.txQueue, ...(sizes.rxQueue !== undefined ? { rxQueue: sizes.rxQueue } : {}) };
  const devA = new SlipDevice(links.a, new PacketPool({ slots: sizes.slots, mtu }), slip);
  const devB = new SlipDevice(links.b, new PacketPool({ slots: sizes.slots, mtu }), slip);
  const rings = sizes.ring !== undefined ? { txBufferLen: sizes.ring, rxBufferLen: sizes.ring } : {};
  const tcpA = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4], ...rings });
  const tcpB = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8], ...rings });
  const a = new Interface({ device: devA, address: A, tcp: tcpA });
  const b = new Interface({ device: devB, address: B, tcp: tcpB });
  const listener = tcpB.listen(5001, 1);
  const client = tcpA.connect(0, B, 5001)!;
  return { a, b, tcpB, listener, client };
}

/** Goodput (octets/s) of `size` octets sent one way over a UART-timed SLIP link. */
function linkGoodput(baud: number, mtu: number, size: number, reverse: boolean, sizes: LinkSizes = { slots: 64, txQueue: 8 }): { goodput: number; limit: number } {
  const { a, b, tcpB, listener: l, client } = connectedPair(baud, mtu, { fifo: 8192, ...sizes });
  const data = randomBytes(size, 0x1234 + mtu);
  const { first, last } = timeOneWay([a, b], tcpB, l, client, data, reverse);
  if (last < 0) throw new Error(`link ${baud}/${mtu}: transfer did not finish`);
  // The first octet arrives one segment after the clock starts: time the rest.
  const firstSegment = Math.min(size, mtu - 52);
  const goodput = (size - firstSegment) / ((last - first) / 1000);
  const mss = mtu - 40 - 12;
  const escPerSegment = (escapes(data) / size) * mss;
  const limit = ((baud / 10) * mss) / (mtu + 2 + escPerSegment);
  return { goodput, limit };
}

/**
 * Two-way bulk: each end sends `size` octets to the other at once, over a UART-timed SLIP link
 * with the firmware's SLIP queue and TCP ring sizes. Returns each direction's goodput against
 * the one-way limit (each direction has its own wire; the ACKs of one ride behind the other's data).
 */
function twoWayGoodput(baud: number, mtu: number, size: number): { ab: number; ba: number; limit: number } {
  const firmware = { slots: 64, txQueue: SLIP_QUEUE_FRAMES, rxQueue: SLIP_QUEUE_FRAMES, ring: TCP_RING_LEN };
  const { a, b, tcpB, listener: l, client } = connectedPair(baud, mtu, firmware);
  const clock = { now: 0 };
  let server: TcpSocket | null = null;
  const data = randomBytes(size, 0x4321 + mtu);
  const sink = new Uint8Array(65536);
  const sent = [0, 0];
  const received = [0, 0];
  const first = [-1, -1];
  const last = [-1, -1];
  const move = (now: number, k: number, tx: TcpSocket, rx: TcpSocket): boolean => {
    let progress = false;
    while (sent[k]! < size) {
      const n = tx.send(data, sent[k]!, Math.min(65536, size - sent[k]!));
      if (n <= 0) break;
      sent[k]! += n;
      progress = true;
    }
    for (;;) {
      const n = rx.recv(sink, 0, sink.length);
      if (n <= 0) break;
      if (first[k]! < 0) first[k] = now;
      received[k]! += n;
      if (received[k] === size) last[k] = now;
      progress = true;
    }
    return progress;
  };
  const app: Pollable = {
    poll(now) {
      if (server === null) server = tcpB.accept(l);
      if (server === null) return false;
      const ab = move(now, 0, client, server);
      const ba = move(now, 1, server, client);
      return ab || ba;
    },
    pollAt: () => NEVER,
  };
  simulate([a, b, app], clock, () => last[0]! >= 0 && last[1]! >= 0, 24 * 3600_000);
  if (last[0]! < 0 || last[1]! < 0) throw new Error(`two-way ${baud}/${mtu}: transfer did not finish`);
  const firstSegment = Math.min(size, mtu - 52);
  const goodput = (k: number) => (size - firstSegment) / ((last[k]! - first[k]!) / 1000);
  const mss = mtu - 40 - 12;
  const escPerSegment = (escapes(data) / size) * mss;
  const limit = ((baud / 10) * mss) / (mtu + 2 + escPerSegment);
  return { ab: goodput(0) / limit, ba: goodput(1) / limit, limit };
}

/** Ping RTTs at `baud` over UART-timed SLIP, with a clock in 10 µs units. */
function pingRtt(baud: number, count: number): { rtts: number[]; floorMs: number } {
  const SCALE = 100; // clock units per ms
  const links = new UartLinkPair(baud / SCALE);
  const devA = new SlipDevice(links.a, new PacketPool({ slots: 16, mtu: 1006 }));
  const devB = new SlipDevice(links.b, new PacketPool({ slots: 16, mtu: 1006 }));
  const a = new Interface({ device: devA, address: A });
  const b = new Interface({ device: devB, address: B });
  const sock = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
  sock.bind(0x99);
  a.addIcmpSocket(sock);
  const clock = { now: 0 };
  const data = new Uint8Array(56);
  const reply = new Uint8Array(64);
  const rtts: number[] = [];
  let wire = 0;
  for (let seq = 1; seq <= count; seq++) {
    const tx0 = devA.stats.txBytes + devB.stats.txBytes;
    sock.sendEcho(B, seq, data, 0, 56);
    const t0 = clock.now;
    let got = false;
    simulate([a, b], clock, () => {
      if (sock.recvEcho(reply, 0, reply.length) >= 0 && sock.seqNo === seq) got = true;
      return got;
    }, clock.now + 10_000 * SCALE);
    if (!got) throw new Error(`ping ${seq} was not answered`);
    rtts.push((clock.now - t0) / SCALE);
    wire = devA.stats.txBytes + devB.stats.txBytes - tx0;
    clock.now += 100 * SCALE;
    simulate([a, b], clock, () => false, clock.now + 10 * SCALE);
  }
  return { rtts, floorMs: (wire * 10 * 1000) / baud };
}

/** RSS growth (MB) while two stacks move `total` octets over a memory pair. */
function rssGrowth(total: number): number {
  const pool = new PacketPool({ slots: 256, mtu: 1500 });
  const pair = new MemoryDevicePair(pool, pool, { queue: 128 });
  const tcpA = new TcpStack({ sockets: 1, txBufferLen: 256 * 1024, rxBufferLen: 256 * 1024, isnKey: [1, 2, 3, 4] });
  const tcpB = new TcpStack({ sockets: 1, txBufferLen: 256 * 1024, rxBufferLen: 256 * 1024, isnKey: [5, 6, 7, 8] });
  const a = new Interface({ device: pair.a, address: A, tcp: tcpA });
  const b = new Interface({ device: pair.b, address: B, tcp: tcpB });
  const l = tcpB.listen(9, 1);
  const c = tcpA.connect(0, B, 9)!;
  let s: TcpSocket | null = null;
  const src = randomBytes(65536, 7);
  const dst = new Uint8Array(65536);
  let moved = 0;
  let now = 0;
  let baseline = 0;
  while (moved < total) {
    now++;
    c.send(src, 0, src.length);
    a.poll(now);
    b.poll(now);
    if (s === null) s = tcpB.accept(l);
    if (s !== null) {
      for (;;) {
        const n = s.recv(dst, 0, dst.length);
        if (n <= 0) break;
        moved += n;
      }
    }
    b.poll(now);
    a.poll(now);
    // Baseline after the first 64 MB: JIT code and one-time structures are in place by then.
    if (baseline === 0 && moved >= 64 * 1024 * 1024) {
      (globalThis as { gc?: () => void }).gc?.();
      baseline = process.memoryUsage().rss;
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  return (process.memoryUsage().rss - baseline) / (1024 * 1024);
}

/**
 * ArrayBuffer octets a board takes when built with `args` (Node counts them in
 * process.memoryUsage().arrayBuffers): the largest of three builds, each after a full GC, since
 * dead buffers that V8 frees while a board is being built would make one build look smaller.
 */
function boardBytes(args: string[]): { bytes: number; board: Board; sockets: number } {
  const config = parseFirmwareArgs(['--port', 'none', '--password', 'x', ...args], {})!;
  const link = new MemoryLinkPair().a;
  let bytes = 0;
  let board: Board | null = null;
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    board = new Board({ link, config, isnKey: [1, 2, 3, 4], version: 'bench', imageSha256: '-',
      arrayBufferBytes: () => process.memoryUsage().arrayBuffers });
    if (board.memory.allocated > bytes) bytes = board.memory.allocated;
  }
  return { bytes, board: board!, sockets: config.sockets };
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  // Memory first, before the runs below leave garbage behind.
  const full = boardBytes([]);
  const smallBytes = boardBytes(['--profile', 'small']);
  figures.push({ key: 'prealloc_bytes_default', value: full.bytes, unit: 'octets',
    note: `default firmware (${full.sockets} TCP sockets): packet memory ${full.board.preallocatedBytes} (pool, 2 x ${TCP_RING_LEN / 1024} KiB rings per socket, reassembly), the rest telnet sessions and service buffers` });
  figures.push({ key: 'prealloc_bytes_small', value: smallBytes.bytes, unit: 'octets', target: `<= ${SMALL_PROFILE.memoryBudget}`,
    note: `--profile small (MTU ${SMALL_PROFILE.mtu}, ${SMALL_PROFILE.sockets} TCP sockets, ${SMALL_PROFILE.poolSlots} slots, 2 x ${SMALL_PROFILE.tcpRingLen} octet rings, ${SMALL_PROFILE.telnetSessions} telnet sessions): every ArrayBuffer the board allocates` });
  const bauds = [115200, 3_000_000];
  const mtus = [296, 1006, 1500];
  for (const baud of bauds) {
    for (const mtu of mtus) {
      // Enough segments to leave slow start far behind: about 60 s of line time at 115200.
      const size = Math.round((baud / 10) * (ctx.quick ? 10 : 60));
      const ab = linkGoodput(baud, mtu, size, false);
      const ba = linkGoodput(baud, mtu, size, true);
      const eff = Math.min(ab.goodput / ab.limit, ba.goodput / ba.limit);
      ctx.log(`${baud} baud MTU ${mtu}: A->B ${ab.goodput.toFixed(0)} B/s, B->A ${ba.goodput.toFixed(0)} B/s, limit ${ab.limit.toFixed(0)} B/s`);
      figures.push({
        key: `link_eff_${baud}_${mtu}`,
        value: +eff.toFixed(4),
        unit: 'x limit',
        target: '>= 0.97',
        note: `worse direction; limit ${ab.limit.toFixed(0)} B/s; CSLIP Linux<->Linux measured 0.71 of the line at 115200`,
      });
    }
  }

  const two = twoWayGoodput(115200, 1006, Math.round(11520 * (ctx.quick ? 10 : 60)));
  ctx.log(`two-way 115200 baud MTU 1006: A->B ${two.ab.toFixed(3)}, B->A ${two.ba.toFixed(3)} of ${two.limit.toFixed(0)} B/s`);
  figures.push({
    key: 'twoway_eff_115200_1006',
    value: +Math.min(two.ab, two.ba).toFixed(4),
    unit: 'x limit',
    target: '>= 0.95',
    note: `both ends send at once, worse direction; firmware queue (${SLIP_QUEUE_FRAMES} frames) and rings (${TCP_RING_LEN / 1024} KiB); pure ACKs ahead of queued data (TxPriority.Control) when nothing is outstanding or SND.NXT is inside the peer's window, else FIFO`,
  });
  // The same line with Van Jacobson header compression (bench/cslip.ts).
  figures.push(...cslipFigures(ctx));

  const ping = pingRtt(115200, ctx.quick ? 5 : 20);
  const rtt = median(ping.rtts);
  ctx.log(`ping RTTs ${ping.rtts.map((r) => r.toFixed(2)).join(' ')} ms, floor ${ping.floorMs.toFixed(2)} ms`);
  figures.push({ key: 'ping_rtt_ms_115200_median', value: +rtt.toFixed(2), unit: 'ms', target: `<= ${(ping.floorMs * 1.05).toFixed(2)}`, note: '56-octet ping over UART-timed SLIP at 115200, virtual time in 10 µs steps' });
  figures.push({ key: 'ping_rtt_floor_ms_115200', value: +ping.floorMs.toFixed(2), unit: 'ms', note: 'serialization of request + reply (SLIP octets x 10 bits / 115200)' });

  const small = parseFirmwareArgs(['--port', 'none', '--password', 'x', '--profile', 'small'], {})!;
  const smallSizes = { slots: SMALL_PROFILE.poolSlots, txQueue: SMALL_PROFILE.slipQueueFrames, ring: SMALL_PROFILE.tcpRingLen };
  const smallSize = Math.round(11520 * (ctx.quick ? 10 : 60));
  const sab = linkGoodput(115200, small.mtu, smallSize, false, smallSizes);
  const sba = linkGoodput(115200, small.mtu, smallSize, true, smallSizes);
  figures.push({ key: 'link_eff_small_115200_296', value: +Math.min(sab.goodput / sab.limit, sba.goodput / sba.limit).toFixed(4), unit: 'x limit',
    note: `--profile small's sizes (${SMALL_PROFILE.tcpRingLen}-octet rings, ${SMALL_PROFILE.slipQueueFrames}-frame SLIP queue), one-way bulk at 115200, worse direction` });

  const growth = rssGrowth(ctx.quick ? 256 * 1024 * 1024 : 1024 * 1024 * 1024);
  ctx.log(`RSS growth ${growth.toFixed(2)} MB`);
  figures.push({ key: 'rss_growth_mb_1gb', value: +growth.toFixed(2), unit: 'MB', target: '< 1', note: 'resident set growth while two stacks move 1 GiB (after a 64 MB warm-up)' });
  return figures;
}
