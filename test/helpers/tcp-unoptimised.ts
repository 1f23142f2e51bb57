/**
 * Run by test/socket/tcp-unoptimised-alloc.test.ts in a child `node --no-opt` (no TurboFan: every
 * function runs in the interpreter or Sparkplug, as a function does for a while after V8 has
 * deoptimised it): two stacks over an in-memory device pair (checksums off, as the pair allows)
 * move bulk data with timestamps, delayed ACKs, and a reader that pauses long enough for the
 * window to close and the persist timer to probe, then reads a little, then everything. Prints
 * the allocation report and the counters as one JSON line.
 */
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { HOST_B } from '../../support/addresses.ts';
import { measureAlloc } from '../../support/alloc.ts';
import { testPool } from './pools.ts';
import { VirtualClock, runUntil } from './sim.ts';
import { stackPair } from './tcp-sim.ts';

const link = new MemoryDevicePair(testPool({ slots: 64 }), testPool({ slots: 64 }), { checksum: false });
const pair = stackPair(link.a, link.b, { sockets: 2, txBufferLen: 16384, rxBufferLen: 8192 });
const clock = new VirtualClock();
const parts = [pair.a, pair.b];
const listener = pair.tcpB.listen(9);
const client = pair.tcpA.connect(clock.now, HOST_B, 9)!;
if (!runUntil(clock, parts, () => client.state === TcpState.Established, 5000)) throw new Error('no connection');
const server = pair.tcpB.accept(listener)!;
const src = new Uint8Array(3000).fill(0x54);
const dst = new Uint8Array(4096);
const moved = { octets: 0 };
const report = measureAlloc((i) => {
  const now = (clock.now += 50);
  client.send(src, 0, src.length);
  pair.a.poll(now);
  pair.b.poll(now);
  // 25 turns (1.25 s) of nothing read: the window closes and the sender probes it; then a little, then all.
  const phase = i % 40;
  const n = phase < 25 ? 0 : server.recv(dst, 0, phase < 30 ? 700 : dst.length);
  if (n > 0) moved.octets += n;
  pair.b.poll(now);
  pair.a.poll(now);
}, 8000, 2000, 4);
process.stdout.write(`${JSON.stringify({ report, octets: moved.octets, stats: pair.tcpA.stats })}\n`);
