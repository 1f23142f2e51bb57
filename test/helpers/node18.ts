/**
 * Debian bookworm's own Node 18 (the `nodejs` package a board's distribution ships), for running
 * the flash image on the oldest Node it promises, on a machine whose Node is newer.
 *
 * The .debs (nodejs, libnode108, and the three JavaScript packages libnode loads from
 * /usr/share/nodejs at startup) are fetched with `apt-get download` into .tmp/node18/debs and
 * unpacked with `dpkg-deb -x` into .tmp/node18/root; nothing is installed. Debian's node reads
 * those scripts from the absolute path /usr/share/nodejs, so `.tmp/node18/bin/node` is a wrapper
 * that runs it in a mount namespace of its own with that directory laid over /usr/share
 * (read-only overlay), and LD_LIBRARY_PATH pointing at libnode. Needs root for the namespace.
 *
 * Idempotent: a second call finds the wrapper and checks it still says v18. `.ci/run` runs this
 * file once (`node --import tsx test/helpers/node18.ts`) so CI has it before the tests.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools } from './tools.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(ROOT, '.tmp', 'node18');
const WRAPPER = join(DIR, 'bin', 'node');
/** Packages whose files Debian's libnode108 loads at startup (externalized builtins). */
const JS_PACKAGES = ['node-acorn', 'node-cjs-module-lexer', 'node-undici'];

export interface Node18 {
  /** An executable that behaves as Debian's /usr/bin/node 18 would. */
  node: string;
  /** e.g. v18.20.4 */
  version: string;
  /** The real binary the wrapper runs (what /proc/<pid>/exe of a running firmware points to). */
  binary: string;
}

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: 300_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function check(): Node18 | null {
  if (!existsSync(WRAPPER)) return null;
  const r = run(WRAPPER, ['--version']);
  if (!r.ok || !/^v18\./.test(r.out)) return null;
  return { node: WRAPPER, version: r.out, binary: join(DIR, 'root', 'usr', 'bin', 'node') };
}

/** Node 18 ready to run, or the reason it cannot be had here (for a pending test). */
export function node18(): Node18 | { why: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { why: 'needs root (Debian\'s node 18 runs in a mount namespace of its own)' };
  const ready = check();
  if (ready !== null) return ready;
  const missing = missingTools('apt-get', 'apt-cache', 'dpkg-deb', 'unshare', 'ldd');
  if (missing !== null) return { why: missing };
  const madison = run('apt-cache', ['madison', 'nodejs']);
  const version = /\|\s*(18\.[^\s|]+)\s*\|/.exec(madison.out)?.[1];
  if (version === undefined) return { why: 'apt knows no nodejs 18 (Debian bookworm\'s): not a bookworm machine, or apt-get update has not run' };
  const debs = join(DIR, 'debs');
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  const got = run('apt-get', ['download', `nodejs=${version}`, `libnode108=${version}`, ...JS_PACKAGES], debs);
  if (!got.ok) return { why: `cannot download Debian's nodejs ${version} (apt-get download: ${got.out.split('\n').slice(-1)[0]})` };
  const root = join(DIR, 'root');
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    const x = run('dpkg-deb', ['-x', join(debs, deb), root]);
    if (!x.ok) return { why: `dpkg-deb -x ${deb}: ${x.out}` };
  }
  const libDir = readdirSync(join(root, 'usr', 'lib')).map((d) => join(root, 'usr', 'lib', d)).find((d) => existsSync(join(d, 'libnode.so.108')));
  if (libDir === undefined) return { why: 'the libnode108 package had no libnode.so.108' };
  const ldd = spawnSync('ldd', [join(root, 'usr', 'bin', 'node')], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: libDir } });
  const notFound = [...(ldd.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
  if (notFound.length > 0) return { why: `Debian's node 18 needs ${notFound.join(', ')} (install libnode108's dependencies: apt-get install libnode108 --no-install-recommends -s shows them)` };
  mkdirSync(dirname(WRAPPER), { recursive: true });
  writeFileSync(WRAPPER, `#!/bin/sh
# Debian bookworm's node ${version}, unpacked in ${root} (test/helpers/node18.ts).
exec unshare -m --propagation private sh -c 'lib="$1"; shift; mount -t overlay overlay -o lowerdir="$0/usr/share":/usr/share /usr/share && LD_LIBRARY_PATH="$lib" exec "$0/usr/bin/node" "$@"' '${root}' '${libDir}' "$@"
`);
  chmodSync(WRAPPER, 0o755);
  return check() ?? { why: `Debian's node ${version} unpacked but does not run (${run(WRAPPER, ['--version']).out.split('\n')[0]})` };
}

// `node --import tsx test/helpers/node18.ts`: fetch it now (.ci/run does, before the tests).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = node18();
  if ('why' in r) process.stdout.write(`node18: not available: ${r.why}\n`);
  else process.stdout.write(`node18: ${r.node} (${r.version})\n`);
}
