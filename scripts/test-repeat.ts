/**
 * `npm run test:repeat -- N [mocha args...]`: runs the whole suite N times in a row, each run a
 * fresh mocha process exactly as `npm test` starts it, and prints per test how many runs it
 * failed. A flaky test shows as "failed 1/10". Exit 0 only when every run passed.
 *
 *   npm run test:repeat -- 10                  # ten full runs
 *   npm run test:repeat -- 5 test/interop      # five runs of the interop suites only
 *
 * Each run's JSON report is kept in .tmp/test-repeat/run-K.json (mocha's json reporter) and
 * what the run printed besides in run-K.log; the first error message of every failing test is
 * printed with its count.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.tmp', 'test-repeat');

interface MochaTest {
  fullTitle: string;
  err?: { message?: string };
}
interface MochaReport {
  stats: { passes: number; pending: number; failures: number; duration: number };
  failures: MochaTest[];
}

const USAGE = 'usage: npm run test:repeat -- N [mocha args, e.g. a folder or --grep]\n';

function runOnce(k: number, extra: readonly string[]): Promise<MochaReport | null> {
  const file = join(OUT, `run-${k}.json`);
  rmSync(file, { force: true });
  const log = openSync(join(OUT, `run-${k}.log`), 'w');
  const mocha = join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mocha, '--reporter', 'json', '--reporter-option', `output=${file}`, ...extra], {
      cwd: ROOT,
      stdio: ['ignore', log, log],
    });
    child.on('exit', () => {
      closeSync(log);
      try {
        resolve(JSON.parse(readFileSync(file, 'utf8')) as MochaReport);
      } catch {
        resolve(null); // mocha died before writing its report
      }
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const n = Number(argv[0]);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const extra = argv.slice(1);
  mkdirSync(OUT, { recursive: true });
  const failed = new Map<string, { count: number; message: string }>();
  let badRuns = 0;
  for (let k = 1; k <= n; k++) {
    const started = Date.now();
    const report = await runOnce(k, extra);
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    if (report === null) {
      badRuns++;
      failed.set('(mocha itself)', { count: (failed.get('(mocha itself)')?.count ?? 0) + 1, message: 'no report written: mocha crashed or was killed' });
      process.stdout.write(`run ${k}/${n}: mocha wrote no report (${secs} s)\n`);
      continue;
    }
    const s = report.stats;
    if (s.failures > 0) badRuns++;
    process.stdout.write(`run ${k}/${n}: ${s.passes} passing, ${s.pending} pending, ${s.failures} failing (${secs} s)\n`);
    for (const t of report.failures) {
      const prev = failed.get(t.fullTitle);
      const message = (t.err?.message ?? '').split('\n')[0] ?? '';
      failed.set(t.fullTitle, { count: (prev?.count ?? 0) + 1, message: prev?.message ?? message });
    }
  }
  if (failed.size === 0) {
    process.stdout.write(`all ${n} runs passed; no test failed in any run\n`);
    return 0;
  }
  process.stdout.write(`\n${badRuns} of ${n} runs had failures. Per test:\n`);
  for (const [title, f] of [...failed].sort((a, b) => b[1].count - a[1].count)) {
    process.stdout.write(`  failed ${f.count}/${n}: ${title}\n      first error: ${f.message}\n`);
  }
  return 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
