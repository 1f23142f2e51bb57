/**
 * ICMP echo between two complete stacks over the in-memory SLIP ByteLink: request encoded,
 * decoded, answered in its own slot, reply encoded, decoded and delivered to the ICMP socket.
 * Figures: round trips per second of real time, and bytes allocated per ping in steady state
 * (v8.GCProfiler; the core's target is 0).
 */
import { Interface } from '../src/iface/interface.ts';
import { MemoryLinkPair } from '../src/phy/memory.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import { Arena } from '../src/storage/arena.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { measureAlloc, roundAlloc } from '../support/alloc.ts';
import { HOST_A as A, HOST_B as B } from '../support/addresses.ts';
import { calibrate, spread, timeSync, warmUp } from './lib/timing.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'ping';

const DATA_LEN = 56;

/** Sequence counter and a failure count in object fields (no boxing). */
class State {
  seq = 0;
  lost = 0;
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const links = new MemoryLinkPair();
  const poolA = new PacketPool({ slots: 16, mtu: 1500, arena: new Arena(16 * 1500 + 64) });
  const poolB = new PacketPool({ slots: 16, mtu: 1500, arena: new Arena(16 * 1500 + 64) });
  const a = new Interface({ device: new SlipDevice(links.a, poolA), address: A });
  const b = new Interface({ device: new SlipDevice(links.b, poolB), address: B });
  const sock = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
  sock.bind(0x5e);
  a.addIcmpSocket(sock);
  const data = new Uint8Array(DATA_LEN);
  const reply = new Uint8Array(DATA_LEN);
  const st = new State();

  const once = (): void => {
    const seq = (st.seq + 1) & 0xffff;
    st.seq = seq;
    data[0] = seq >> 8;
    data[1] = seq & 0xff;
    sock.sendEcho(B, seq, data, 0, DATA_LEN);
    a.poll(0); // request out
    b.poll(0); // request in, reply out
    a.poll(0); // reply in
    if (sock.recvEcho(reply, 0, DATA_LEN) !== DATA_LEN || sock.seqNo !== seq || reply[1] !== (seq & 0xff)) st.lost++;
  };
  const loop = (n: number): void => {
    for (let i = 0; i < n; i++) once();
  };

  warmUp(loop, 200);
  const n = calibrate(loop, ctx.quick ? 50 : 300, 1000);
  const t = timeSync(() => loop(n), ctx.quick ? 3 : 7, 1);
  const perSec = (ms: number): number => (n * 1000) / ms;
  ctx.log(`${n} pings per run, pings/s ${spread(t.samplesMs.map(perSec), 0)}, lost ${st.lost}`);
  const alloc = measureAlloc(() => once(), ctx.quick ? 20_000 : 200_000);
  ctx.log(`alloc ${alloc.allocatedBytes} B over ${alloc.iterations} pings, ${alloc.minorGcs} minor GCs`);
  if (st.lost !== 0) throw new Error(`${st.lost} pings were not answered correctly`);

  return [
    {
      key: 'ping_per_s_mem',
      value: Math.round(perSec(t.medianMs)),
      unit: 'pings/s',
      note: '56-octet echo, two stacks over the in-memory SLIP ByteLink, one process',
    },
    {
      key: 'ping_alloc_bytes',
      value: roundAlloc(alloc.bytesPerIteration),
      unit: 'B/ping',
      target: '== 0',
      note: 'steady state, v8.GCProfiler',
    },
  ];
}
