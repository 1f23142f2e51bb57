/**
 * Debian bookworm's Node 18 for another CPU (armhf, the i.MX6ULL's; arm64), run on this x64
 * machine under QEMU user-mode emulation, so the flash image's arm and arm64 binaries are loaded
 * by a real arm node exactly as on a board: koffi's loader reads that node's ELF header, serialport's
 * node-gyp-build that node's arm_version.
 *
 * Nothing is installed: `qemu-user-static` (this machine's architecture) and the other CPU's
 * nodejs, libnode108 and the libraries they link are fetched with `apt-get download` (for the
 * other CPU with apt's lists kept in .tmp/foreign/<arch>/apt, not the system's) and unpacked with
 * `dpkg-deb -x` into .tmp/foreign/<arch>/root. `.tmp/foreign/<arch>/bin/node` runs
 * `qemu-<cpu>-static -L root root/usr/bin/node`. Idempotent; `.ci/run` runs this file once.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools } from './tools.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The QEMU user-mode binaries we use, out of Debian's qemu-user-static (the rest is removed). */
const QEMU_DIR = join(ROOT, '.tmp', 'foreign', 'qemu');

export type ForeignArch = 'arm' | 'arm64';

const DEBIAN: Record<ForeignArch, { arch: string; triplet: string; qemu: string }> = {
  arm: { arch: 'armhf', triplet: 'arm-linux-gnueabihf', qemu: 'qemu-arm-static' },
  arm64: { arch: 'arm64', triplet: 'aarch64-linux-gnu', qemu: 'qemu-aarch64-static' },
};

/** What Debian's libnode108 links, and the JavaScript it loads from /usr/share/nodejs. */
const LIBRARIES = ['libc6', 'libstdc++6', 'libgcc-s1', 'libuv1', 'libc-ares2', 'libnghttp2-14', 'libbrotli1', 'libicu72', 'libssl3', 'zlib1g',
  'node-acorn', 'node-cjs-module-lexer', 'node-undici'];

export interface ForeignNode {
  /** An executable that runs the other CPU's node 18 under QEMU. */
  node: string;
  /** `process.arch` it reports. */
  arch: ForeignArch;
  version: string;
  /** The QEMU binary (what /proc/<pid>/exe of a running firmware points to). */
  qemu: string;
}

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: 600_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function ready(dir: string, arch: ForeignArch): ForeignNode | null {
  const node = join(dir, 'bin', 'node');
  if (!existsSync(node)) return null;
  const r = run(node, ['-p', 'process.arch + " " + process.version']);
  const m = /^(\S+) (v18\.\S+)$/.exec(r.out);
  if (!r.ok || m === null || m[1] !== arch) return null;
  return { node, arch, version: m[2]!, qemu: join(QEMU_DIR, DEBIAN[arch].qemu) };
}

/** Fetches qemu-user-static for this machine and keeps only the arm and arm64 binaries; null when done, else why not. */
function fetchQemu(): string | null {
  const scratch = join(ROOT, '.tmp', 'foreign', 'qemu-deb');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    const q = run('apt-get', ['-q', 'download', 'qemu-user-static'], scratch);
    if (!q.ok) return `cannot download qemu-user-static (apt-get download: ${q.out.split('\n').slice(-1)[0]})`;
    const x = join(scratch, 'x');
    for (const f of readdirSync(scratch).filter((n) => n.endsWith('.deb'))) run('dpkg-deb', ['-x', join(scratch, f), x]);
    mkdirSync(QEMU_DIR, { recursive: true });
    for (const { qemu } of Object.values(DEBIAN)) {
      if (!existsSync(join(x, 'usr', 'bin', qemu))) return `qemu-user-static has no ${qemu}`;
      cpSync(join(x, 'usr', 'bin', qemu), join(QEMU_DIR, qemu));
    }
    return null;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The other CPU's node 18 ready to run, or why it cannot be had here. */
export function foreignNode(arch: ForeignArch): ForeignNode | { why: string } {
  const deb = DEBIAN[arch];
  const dir = join(ROOT, '.tmp', 'foreign', deb.arch);
  const have = ready(dir, arch);
  if (have !== null) return have;
  if (process.platform !== 'linux' || process.arch !== 'x64') return { why: 'needs an x64 Linux host (QEMU user mode for the other CPU)' };
  const missing = missingTools('apt-get', 'dpkg-deb');
  if (missing !== null) return { why: missing };
  rmSync(dir, { recursive: true, force: true });
  const lists = join(dir, 'apt', 'lists');
  const cache = join(dir, 'apt', 'cache');
  mkdirSync(join(lists, 'partial'), { recursive: true });
  mkdirSync(join(cache, 'archives', 'partial'), { recursive: true });
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  const apt = ['-q', '-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache=${cache}`, '-o', `APT::Architecture=${deb.arch}`, '-o', `APT::Architectures::=${deb.arch}`];
  // A mirror in the middle of a sync fails one index now and then; what matters is whether nodejs 18 is found.
  run('apt-get', [...apt, 'update']);
  const madison = run('apt-cache', [...apt, 'madison', 'nodejs']);
  const version = /\|\s*(18\.[^\s|]+)\s*\|/.exec(madison.out)?.[1];
  if (version === undefined) return { why: `apt knows no ${deb.arch} nodejs 18 (Debian bookworm's)` };
  const got = run('apt-get', [...apt, 'download', `nodejs=${version}`, `libnode108=${version}`, ...LIBRARIES], debs);
  if (!got.ok) return { why: `cannot download Debian's ${deb.arch} nodejs ${version} (apt-get download: ${got.out.split('\n').slice(-1)[0]})` };
  const qemu = join(QEMU_DIR, deb.qemu);
  if (!existsSync(qemu)) {
    const why = fetchQemu();
    if (why !== null) return { why };
  }
  const root = join(dir, 'root');
  for (const f of readdirSync(debs)) run('dpkg-deb', ['-x', join(debs, f), root]);
  // Keep what runs; the .debs and apt's lists are not needed again.
  rmSync(debs, { recursive: true, force: true });
  rmSync(join(dir, 'apt'), { recursive: true, force: true });
  // One library directory: QEMU maps -L paths for open() but not for the loader's directory checks.
  const libs = join(root, 'usr', 'lib', deb.triplet);
  if (existsSync(join(root, 'lib', deb.triplet))) cpSync(join(root, 'lib', deb.triplet), libs, { recursive: true, force: false });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'node'), `#!/bin/sh
# Debian bookworm's ${deb.arch} node ${version} under QEMU user mode (test/helpers/foreign-node.ts).
LD_LIBRARY_PATH=/usr/lib/${deb.triplet} exec '${qemu}' -L '${root}' '${root}/usr/bin/node' "$@"
`);
  chmodSync(join(dir, 'bin', 'node'), 0o755);
  return ready(dir, arch) ?? { why: `Debian's ${deb.arch} node ${version} unpacked but does not run under ${deb.qemu}` };
}

// `node --import tsx test/helpers/foreign-node.ts`: fetch both now (.ci/run does, before the tests).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const arch of ['arm', 'arm64'] as const) {
    const r = foreignNode(arch);
    process.stdout.write('why' in r ? `foreign node ${arch}: not available: ${r.why}\n` : `foreign node ${arch}: ${r.node} (${r.version})\n`);
  }
}
