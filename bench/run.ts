/**
 * The benchmark runner: `npm run bench` prints a table of figures beside their targets and
 * references; `npm run bench -- --json` prints one JSON object of the same figures (and nothing
 * else) on stdout; progress always goes to stderr.
 *
 *   npm run bench -- --only slip,checksum     a subset, by registry key
 *   npm run bench -- --quick                  shorter runs (a smoke test; figures are rougher)
 *
 * Adding a bench is one line in REGISTRY: a module that exports `name` (the key) and
 * `run(ctx): Promise<Figure[]>`. Modules load lazily, so a subset never imports the others.
 */
import { formatJson, formatTable, type Result } from './lib/report.ts';
import type { BenchContext, BenchModule } from './lib/types.ts';

const REGISTRY: Record<string, () => Promise<BenchModule>> = {
  checksum: () => import('./checksum.bench.ts'),
  slip: () => import('./slip.bench.ts'),
  ping: () => import('./ping.bench.ts'),
  tcp: () => import('./tcp.bench.ts'),
  link: () => import('./link.bench.ts'),
  pty: () => import('./pty.bench.ts'),
  net: () => import('./net.bench.ts'),
  flash: () => import('./flash.bench.ts'),
  quickjs: () => import('./quickjs.bench.ts'),
  usernet: () => import('./usernet.bench.ts'),
};

interface Options {
  json: boolean;
  quick: boolean;
  only: string[];
}

function usage(): string {
  return `usage: npm run bench -- [--json] [--quick] [--only ${Object.keys(REGISTRY).join(',')}]\n`;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { json: false, quick: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') options.json = true;
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (list === undefined) throw new Error('--only needs a comma-separated list');
      options.only.push(...list.split(',').map((s) => s.trim()).filter((s) => s.length > 0));
    } else if (arg === '--help' || arg === '-h') {
      process.stderr.write(usage());
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  for (const name of options.only) {
    if (!(name in REGISTRY)) throw new Error(`no bench named ${name}`);
  }
  return options;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${usage()}`);
    return 2;
  }
  const names = options.only.length > 0 ? options.only : Object.keys(REGISTRY);
  const ctx: BenchContext = {
    quick: options.quick,
    log: (message) => process.stderr.write(`  ${message}\n`),
  };
  const results: Result[] = [];
  let failed = 0;
  const t0 = performance.now();
  for (const name of names) {
    process.stderr.write(`bench ${name}\n`);
    const started = performance.now();
    try {
      const module = await REGISTRY[name]!();
      if (module.name !== name) throw new Error(`module exports name ${module.name}, registry key is ${name}`);
      const figures = await module.run(ctx);
      const command = `npm run bench -- --only ${name}`;
      for (const f of figures) results.push({ ...f, bench: name, command });
    } catch (e) {
      // A broken bench is reported and the others still run; the exit code says so.
      failed++;
      process.stderr.write(`bench ${name} FAILED: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.stderr.write(`bench ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  process.stderr.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s (node ${process.version}, ${process.platform}/${process.arch})\n`);
  process.stdout.write(options.json ? formatJson(results) : formatTable(results));
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
