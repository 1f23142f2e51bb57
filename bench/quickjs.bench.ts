/**
 * The core inside QuickJS (support/quickjs.ts): the engine's heap with the core loaded and two
 * stacks built, and the wall time of a 1 MiB transfer between them in the interpreter.
 *
 * - quickjs_heap_bytes: runtime `memory_used_size` with the bundled core and two stacks (32-slot
 *   pools at MTU 1500, 2 TCP sockets each with the default rings).
 * - quickjs_stacks_bytes: what building those two stacks added.
 * - quickjs_tcp_mb_s: the 1 MiB transfer over SLIP in the interpreter, MB/s of wall time.
 */
import { runCoreInQuickJs } from '../support/quickjs.ts';
import { randomBytes, sha256 } from '../support/pattern.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'quickjs';

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const size = 1 << 20;
  const r = await runCoreInQuickJs(10, size, 0x5eed);
  const ok = r.pingReplies === r.pings && r.receivedSha256 === sha256(randomBytes(size, 0x5eed));
  ctx.log(`QuickJS: ${r.modules} core modules, ${r.pingReplies}/${r.pings} pings, 1 MiB ${ok ? 'intact' : 'DAMAGED'} in ${r.wallMs.toFixed(0)} ms; heap ${r.heapBytes}, after the transfer ${r.transferHeapBytes}`);
  return [
    { key: 'quickjs_heap_bytes', value: r.heapBytes, unit: 'octets', note: `QuickJS heap: the bundled core (${r.modules} modules) and two stacks built (32-slot pools, MTU 1500, 2 TCP sockets each); ${ok ? 'ping and 1 MiB checked' : 'CHECK FAILED'}` },
    { key: 'quickjs_stacks_bytes', value: r.stacksBytes, unit: 'octets', note: 'of quickjs_heap_bytes, what building the two stacks added' },
    { key: 'quickjs_tcp_mb_s', value: +((size / 1e6) / (r.wallMs / 1000)).toFixed(2), unit: 'MB/s', note: 'ping x 10 and 1 MiB over SLIP between the two stacks, interpreted, wall time of the whole run' },
  ];
}
