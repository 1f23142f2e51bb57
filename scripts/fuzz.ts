/**
 * `npm run fuzz -- --iterations N [--seed S] [--surface slip|ipv4|telnet|cslip|http] [--mode random|mutated] [--json]`
 *
 * Runs N random and N mutated inputs (default 1 000 000 each) into every fuzzing surface of
 * test/fuzz/surfaces.ts, and prints per surface and mode the inputs per second and the checks:
 * no throw, no pool slot or TCP socket left in use, a ping answered afterwards, and the
 * surface's own checks (cslip: the decompressor's accounting and a clean compressed exchange
 * after; http: an authorized GET /api/stats served after), with the surface's own figures
 * (decompressor counters, HTTP status counts). Exit 1 on any failure, with the seed and the
 * input's index that reproduce it.
 */
import { parseArgs } from 'node:util';
import { FUZZ_SURFACES, FuzzFailure, runFuzz, type FuzzMode, type FuzzResult, type FuzzSurface } from '../test/fuzz/surfaces.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' }, seed: { type: 'string' }, surface: { type: 'string' }, mode: { type: 'string' },
    json: { type: 'boolean' }, help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run fuzz -- [--iterations N (1000000)] [--seed S (1)] [--surface ${FUZZ_SURFACES.join('|')}] ` +
    '[--mode random|mutated] [--json]\n');
  process.exit(0);
}
const iterations = Number(values.iterations ?? 1_000_000);
const seed = Number(values.seed ?? 1);
if (!Number.isInteger(iterations) || iterations < 1 || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
  process.stderr.write('fuzz: --iterations wants a positive whole number and --seed 0..4294967295\n');
  process.exit(2);
}
const surfaces = values.surface !== undefined ? [values.surface as FuzzSurface] : [...FUZZ_SURFACES];
const modes: FuzzMode[] = values.mode !== undefined ? [values.mode as FuzzMode] : ['random', 'mutated'];
for (const s of surfaces) if (!FUZZ_SURFACES.includes(s)) { process.stderr.write(`fuzz: no surface ${s}\n`); process.exit(2); }
for (const m of modes) if (m !== 'random' && m !== 'mutated') { process.stderr.write(`fuzz: no mode ${m}\n`); process.exit(2); }

const results: FuzzResult[] = [];
let failed = false;
for (const surface of surfaces) {
  for (const mode of modes) {
    let r: FuzzResult;
    try {
      r = await runFuzz(surface, mode, iterations, seed);
    } catch (e) {
      failed = true;
      process.stderr.write(`${e instanceof FuzzFailure ? e.message : (e as Error).stack}\n`);
      continue;
    }
    results.push(r);
    const ok = r.leakedSlots === 0 && r.leakedSockets === 0 && r.answersPing && r.problems.length === 0;
    if (!ok) failed = true;
    if (!values.json) {
      process.stdout.write(`${surface.padEnd(7)} ${mode.padEnd(8)} ${r.inputs} inputs in ${(r.ms / 1000).toFixed(1)} s: ` +
        `${Math.round(r.inputs / (r.ms / 1000))} inputs/s, 0 throws, ${r.leakedSlots} slots and ${r.leakedSockets} sockets left, ` +
        `ping ${r.answersPing ? 'answered' : 'NOT answered'} (seed ${seed})${ok ? '' : '  FAILED'}\n`);
      const figures = Object.entries(r.counters).map(([k, v]) => `${k} ${v}`).join(', ');
      if (figures !== '') process.stdout.write(`        ${figures}\n`);
      for (const p of r.problems) process.stdout.write(`        FAILED: ${p}\n`);
    } else {
      for (const p of r.problems) process.stderr.write(`fuzz ${surface}/${mode} seed ${seed}: ${p}\n`);
    }
  }
}
if (values.json) {
  const out: Record<string, number> = { fuzz_iterations: iterations, fuzz_seed: seed, fuzz_failures: failed ? 1 : 0 };
  for (const r of results) {
    out[`fuzz_${r.surface}_${r.mode}_inputs_per_s`] = Math.round(r.inputs / (r.ms / 1000));
    for (const [k, v] of Object.entries(r.counters)) out[`fuzz_${r.surface}_${r.mode}_${k}`] = v;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
process.exit(failed ? 1 : 0);
