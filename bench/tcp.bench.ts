/**
 * Bulk TCP between two stacks in one Node process, beside Node's own `net` module over
 * 127.0.0.1 moving the same bytes with the same write size (64 KiB), in the same run.
 *
 * - tcp_ip_mb_s: over an in-memory raw-IP Device pair with a large MTU and checksums skipped,
 *   as Linux loopback does (MTU 65536, no checksums): the device says so in its capabilities.
 * - tcp_ip_1500_mb_s: the same pair at MTU 1500 with every checksum computed and verified.
 * - tcp_slip_mb_s: over the in-memory SLIP ByteLink (MTU 1500, checksums on): every frame is
 *   SLIP-encoded and decoded.
 * - tcp_alloc_bytes_per_mb / tcp_minor_gcs_per_100mb: the core in steady state (v8.GCProfiler).
 *
 * Both stacks share one Arena: the pool, the SLIP buffers and the socket rings are one
 * ArrayBuffer, so the copies (app -> send ring -> slot -> receive ring -> app) are copyWithin.
 * The application's 64 KiB write buffer and read buffer are carved from it too.
 */
import net from 'node:net';
import { Interface } from '../src/iface/interface.ts';
import type { Device } from '../src/phy/device.ts';
import { MemoryDevicePair, MemoryLinkPair } from '../src/phy/memory.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { TcpStack, tcpRingBytes } from '../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { Arena } from '../src/storage/arena.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { measureAlloc, roundAlloc } from '../support/alloc.ts';
import { HOST_A as A, HOST_B as B } from '../support/addresses.ts';
import { median } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'tcp';

const WRITE = 65536;
const RING = 1 << 20;

interface Rig {
  a: Interface;
  b: Interface;
  client: TcpSocket;
  server: TcpSocket;
  src: Uint8Array;
  dst: Uint8Array;
  /** Octets moved so far (received by the server), and the virtual clock (1 ms per step). */
  moved: { n: number; now: number };
}

type LinkKind = 'ip-big' | 'ip-1500' | 'slip';

export function rig(kind: LinkKind): Rig {
  const mtu = kind === 'ip-big' ? 65535 : 1500;
  const slots = kind === 'ip-big' ? 48 : 256;
  const linkCapacity = 256 * 1024;
  const arena = new Arena(2 * tcpRingBytes({ sockets: 1, txBufferLen: RING, rxBufferLen: RING }) + slots * (mtu + 4) * 2 + 2 * WRITE + 4 * 65536
    + (kind === 'slip' ? 2 * linkCapacity : 0));
  let devA: Device;
  let devB: Device;
  if (kind === 'slip') {
    // The link rings and the SLIP buffers in the arena too: SlipDevice encodes into and decodes
    // out of the rings (WindowedByteLink), with copyWithin.
    const links = new MemoryLinkPair({ capacity: linkCapacity, arena });
    devA = new SlipDevice(links.a, new PacketPool({ slots, mtu, arena }), { txQueue: 64, rxQueue: 64, arena });
    devB = new SlipDevice(links.b, new PacketPool({ slots, mtu, arena }), { txQueue: 64, rxQueue: 64, arena });
  } else {
    // One pool for both ends, so a frame's slot is handed over rather than copied (Linux loopback
    // hands over the skb the same way).
    const pool = new PacketPool({ slots: slots * 2, mtu, arena });
    const pair = new MemoryDevicePair(pool, pool, { queue: slots, checksum: kind === 'ip-1500' });
    devA = pair.a;
    devB = pair.b;
  }
  const tcpA = new TcpStack({ sockets: 1, txBufferLen: RING, rxBufferLen: RING, isnKey: [1, 2, 3, 4], arena, config: { delayedAckMs: 0 } });
  const tcpB = new TcpStack({ sockets: 1, txBufferLen: RING, rxBufferLen: RING, isnKey: [5, 6, 7, 8], arena, config: { delayedAckMs: 0 } });
  const a = new Interface({ device: devA, address: A, tcp: tcpA });
  const b = new Interface({ device: devB, address: B, tcp: tcpB });
  const l = tcpB.listen(5001, 1);
  const client = tcpA.connect(0, B, 5001)!;
  let server: TcpSocket | null = null;
  for (let i = 0; i < 100 && server === null; i++) {
    a.poll(0);
    b.poll(0);
    server = tcpB.accept(l);
  }
  if (server === null) throw new Error('bench: handshake did not complete');
  const src = arena.carve(WRITE);
  const dst = arena.carve(WRITE);
  for (let i = 0; i < WRITE; i++) src[i] = (i * 31) & 0xff;
  return { a, b, client, server, src, dst, moved: { n: 0, now: 0 } };
}

/** One round: the client writes what the ring takes, both stacks poll, the server reads. */
export function step(r: Rig): void {
  // Virtual time: 1 ms per step, so timers (delayed ACK, RTO) behave; the clock is never read.
  const now = ++r.moved.now;
  const c = r.client;
  let room = c.sendSpace;
  while (room > 0) {
    const n = c.send(r.src, 0, room < WRITE ? room : WRITE);
    if (n <= 0) break;
    room -= n;
  }
  r.a.poll(now);
  r.b.poll(now);
  for (;;) {
    const n = r.server.recv(r.dst, 0, WRITE);
    if (n <= 0) break;
    r.moved.n += n;
  }
  r.b.poll(now);
  r.a.poll(now);
}

function measureStack(kind: LinkKind, bytes: number, runs: number): number[] {
  const r = rig(kind);
  // Warm up: 1/4 of a run.
  while (r.moved.n < bytes / 4) step(r);
  const rates: number[] = [];
  for (let k = 0; k < runs; k++) {
    const start = r.moved.n;
    const t0 = performance.now();
    while (r.moved.n - start < bytes) step(r);
    const ms = performance.now() - t0;
    rates.push((r.moved.n - start) / 1e6 / (ms / 1000));
  }
  return rates;
}

async function measureNet(bytes: number): Promise<number> {
  const chunk = Buffer.alloc(WRITE, 7);
  return await new Promise<number>((resolve, reject) => {
    let received = 0;
    let t0 = 0;
    const server = net.createServer((sock) => {
      sock.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= bytes) {
          const ms = performance.now() - t0;
          sock.destroy();
          server.close();
          resolve(received / 1e6 / (ms / 1000));
        }
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1', () => {
        t0 = performance.now();
        let sent = 0;
        const pump = (): void => {
          while (sent < bytes) {
            sent += WRITE;
            if (!client.write(chunk)) {
              client.once('drain', pump);
              return;
            }
          }
          client.end();
        };
        pump();
      });
      client.on('error', () => {});
    });
  });
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const MB = 1e6;
  const bytes = (ctx.quick ? 64 : 256) * MB;
  const runs = ctx.quick ? 2 : 5;

  const netRates: number[] = [];
  for (let k = 0; k < runs; k++) netRates.push(await measureNet(bytes));
  const netMbs = median(netRates);
  ctx.log(`net loopback MB/s ${netRates.map((x) => x.toFixed(0)).join(' ')}`);

  const ipRates = measureStack('ip-big', bytes, runs);
  ctx.log(`ip MTU 65535 no checksum MB/s ${ipRates.map((x) => x.toFixed(0)).join(' ')}`);
  const ip1500 = measureStack('ip-1500', bytes / 4, runs);
  ctx.log(`ip MTU 1500 checksums MB/s ${ip1500.map((x) => x.toFixed(0)).join(' ')}`);
  const slip = measureStack('slip', bytes / 4, runs);
  ctx.log(`slip MTU 1500 MB/s ${slip.map((x) => x.toFixed(0)).join(' ')}`);

  // Allocation: steady state of the MTU 1500 path with checksums (the most work per octet).
  const r = rig('ip-1500');
  while (r.moved.n < 32 * MB) step(r);
  for (let i = 0; i < 2000; i++) step(r);
  const before = r.moved.n;
  const alloc = measureAlloc(() => step(r), ctx.quick ? 4000 : 40000, 0);
  const movedMb = (r.moved.n - before) / MB;
  // Steady state: the least-allocating measured round (the others carry JIT and profiler noise).
  const perMb = movedMb > 0 ? (alloc.bytesPerIteration * alloc.iterations) / movedMb : 0;
  const gcsPer100 = movedMb > 0 ? (alloc.minorGcs / movedMb) * 100 : 0;
  ctx.log(`alloc ${alloc.allocatedBytes} B, ${alloc.minorGcs} minor GCs, ${movedMb.toFixed(0)} MB moved during measurement`);

  const ipMbs = median(ipRates);
  const slipMbs = median(slip);
  return [
    { key: 'net_loopback_mb_s', value: Math.round(netMbs), unit: 'MB/s', note: `node:net over 127.0.0.1, one process, ${WRITE / 1024} KiB writes, median of ${runs}` },
    { key: 'tcp_ip_mb_s', value: Math.round(ipMbs), unit: 'MB/s', note: `MTU 65535, checksums off (device capability), 1 MiB rings, ${WRITE / 1024} KiB writes` },
    { key: 'tcp_ip_vs_net_ratio', value: +(ipMbs / netMbs).toFixed(2), unit: 'x', target: '>= 1.0', note: 'tcp_ip_mb_s / net_loopback_mb_s, same run' },
    { key: 'tcp_ip_1500_mb_s', value: Math.round(median(ip1500)), unit: 'MB/s', note: 'MTU 1500, checksums computed and verified' },
    { key: 'tcp_slip_mb_s', value: Math.round(slipMbs), unit: 'MB/s', note: 'MTU 1500, checksums on, every frame SLIP-encoded and decoded' },
    { key: 'tcp_slip_vs_net_ratio', value: +(slipMbs / netMbs).toFixed(2), unit: 'x', target: '>= 0.5', note: 'tcp_slip_mb_s / net_loopback_mb_s, same run' },
    { key: 'tcp_alloc_bytes_per_mb', value: roundAlloc(perMb), unit: 'B/MB', target: '== 0', note: 'core, steady state, MTU 1500 path, v8.GCProfiler' },
    { key: 'tcp_minor_gcs_per_100mb', value: +gcsPer100.toFixed(2), unit: 'GCs', target: '== 0', note: 'minor GCs per 100 MB moved during the allocation measurement' },
  ];
}
