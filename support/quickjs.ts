/**
 * The core on a microcontroller-class JavaScript engine: bundles every module of the core (src/
 * without drivers/) and support/quickjs-world.ts with esbuild into one script, evaluates it in
 * QuickJS (npm `quickjs-emscripten`, the engine compiled to WebAssembly; no Node API inside), and
 * runs two stacks there in virtual time: ping, and a TCP transfer whose received octets come
 * back out to be hashed here. Used by test/core/quickjs.test.ts and bench/quickjs.bench.ts.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { getQuickJS, type QuickJSContext, type QuickJSHandle } from 'quickjs-emscripten';
import { sha256 } from './pattern.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The Node-facing folder of src/, outside the core (slipstack/net included: src/drivers/net/). */
const NODE_FOLDERS = [join('src', 'drivers')];

/** Every .ts file of the core (src/ without drivers/), relative to the repository root. */
export function coreSources(dir = 'src'): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!NODE_FOLDERS.includes(path)) out.push(...coreSources(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/**
 * One IIFE script: every core module is imported (so each module's top level runs in the engine)
 * and the world sets `globalThis.slipstackWorld`. `platform: 'neutral'` resolves no Node
 * built-in: a core import of one fails the build.
 */
export async function bundleCore(): Promise<string> {
  const lines = coreSources().map((file, i) => `import * as m${i} from './${relative(ROOT, join(ROOT, file))}';`);
  lines.push(`globalThis.slipstackModules = [${coreSources().map((_, i) => `m${i}`).join(', ')}].length;`);
  lines.push(`import './support/quickjs-world.ts';`);
  const result = await build({
    stdin: { contents: lines.join('\n'), resolveDir: ROOT, sourcefile: 'quickjs-entry.ts', loader: 'ts' },
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export interface QuickJsRun {
  /** Core modules loaded in the engine. */
  modules: number;
  /** Echo replies that came back intact, of `pings`. */
  pingReplies: number;
  pings: number;
  /** SHA-256 of the octets stack B received. */
  receivedSha256: string;
  /** Octets received. */
  receivedLen: number;
  /** QuickJS heap (runtime `memory_used_size`) with the core loaded and two stacks built, octets. */
  heapBytes: number;
  /** Of `heapBytes`, what building the two stacks (pools, rings, tables, SLIP buffers) added, octets. */
  stacksBytes: number;
  /** QuickJS heap after the transfer, its 2 x `size` octets of test data (sent and received) included. */
  transferHeapBytes: number;
  /** Wall time of the whole run inside the engine, ms (printed by the bench, never asserted). */
  wallMs: number;
}

function unwrap(vm: QuickJSContext, result: ReturnType<QuickJSContext['evalCode']>): QuickJSHandle {
  if (result.error) {
    const error = vm.dump(result.error) as { message?: string; stack?: string } | string;
    result.error.dispose();
    throw new Error(`QuickJS: ${typeof error === 'string' ? error : `${error.message}\n${error.stack ?? ''}`}`);
  }
  return result.value;
}

/** The runtime's `memory_used_size`, octets. */
function heapUsed(vm: QuickJSContext): number {
  const handle = vm.runtime.computeMemoryUsage();
  const usage = vm.dump(handle) as { memory_used_size: number };
  handle.dispose();
  return usage.memory_used_size;
}

/** Runs the bundled core in a fresh QuickJS runtime: `pings` pings, then `size` octets of Xorshift32(`seed`) from A to B. */
export async function runCoreInQuickJs(pings: number, size: number, seed: number): Promise<QuickJsRun> {
  const code = await bundleCore();
  const quickjs = await getQuickJS();
  const vm = quickjs.newContext();
  try {
    const t0 = performance.now();
    unwrap(vm, vm.evalCode(code, 'slipstack-core.js')).dispose();
    const modules = vm.getNumber(unwrap(vm, vm.evalCode('globalThis.slipstackModules')));
    const loaded = heapUsed(vm);
    unwrap(vm, vm.evalCode('globalThis.slipstackStacks = slipstackWorld.makeWorld(); 0')).dispose();
    const withStacks = heapUsed(vm);
    unwrap(vm, vm.evalCode('globalThis.slipstackStacks = null; 0')).dispose();
    const pingReplies = vm.getNumber(unwrap(vm, vm.evalCode(`slipstackWorld.ping(${pings})`)));
    const out = unwrap(vm, vm.evalCode(`slipstackWorld.transfer(${size}, ${seed}).received`));
    const received = vm.getArrayBuffer(out);
    const bytes = received.value.slice();
    received.dispose();
    out.dispose();
    const transferHeapBytes = heapUsed(vm);
    const wallMs = performance.now() - t0;
    return {
      modules,
      pingReplies,
      pings,
      receivedSha256: sha256(bytes),
      receivedLen: bytes.length,
      heapBytes: withStacks,
      stacksBytes: withStacks - loaded,
      transferHeapBytes,
      wallMs,
    };
  } finally {
    vm.dispose();
  }
}
