/**
 * The flash image: everything a board needs to run the firmware with no `npm install` and no
 * network, only the Node its distribution ships (18 or newer).
 *
 *   dist/slipstack-<version>/                 the image directory (linux arm, arm64 and x64)
 *     slipstack                               launcher: finds node, checks its version, runs the bundle
 *     firmware-bridge.mjs                     the firmware, one esbuild bundle (target node18)
 *     node_modules/koffi/                     koffi's JavaScript (its loader)
 *     node_modules/@koromix/koffi-linux-<cpu>/ koffi's prebuilt binary per CPU (glibc)
 *     node_modules/@serialport/bindings-cpp/  serialport's binding loader + prebuilds/linux-{arm,arm64,x64}
 *     node_modules/...                        the few pure-JS packages those two load
 *     README.txt, SHA256SUMS                  what it is; the SHA-256 of every file
 *   dist/slipstack-<version>.tar.gz           the directory as one file (all three CPUs)
 *   dist/slipstack-<version>-linux-<cpu>.tar.gz   the same for one CPU (what the console flasher sends)
 *   dist/slipstack-<version>.sha256           SHA-256 of each tarball (`sha256sum -c` reads it)
 *
 * How the right binary is found at run time, unchanged from npm's own layout: koffi's loader
 * requires `@koromix/koffi-${process.platform}-${process.arch}`, whose index.js picks
 * `linux_armhf/koffi.node` (or linux_arm64, linux_x64) after reading the ELF interpreter of the
 * running node (glibc or musl). serialport's binding is loaded by node-gyp-build from
 * `prebuilds/linux-${process.arch}/`, choosing armv6/armv7 by `ARM_VERSION` (which the launcher
 * sets from `uname -m`) or by node's own `arm_version`. Only glibc builds are in the image.
 *
 * Everything is deterministic (sorted entries, one mtime, gzip without a timestamp), so the same
 * tree gives the same SHA-256, which is what lets an interrupted console upload resume.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { packageFiles, type LockEntry, type Lockfile } from './npm-packs.ts';
import { tarGz, type TarEntry } from './tar.ts';

/** The CPUs the image carries binaries for, as Node names them (`process.arch`). */
export type Arch = 'arm' | 'arm64' | 'x64';
export const ARCHES: readonly Arch[] = ['arm', 'arm64', 'x64'];

/** The oldest Node the image runs on (Debian bookworm's `nodejs`), and the one the project uses. */
export const NODE_MIN_MAJOR = 18;

/** The packages with native code; the bundle leaves them out and the image carries them. */
const NATIVE_ROOTS = ['koffi', '@serialport/bindings-cpp'];

/**
 * Dependencies that only matter when compiling from source, never at run time
 * (`node-addon-api` is C++ headers for `binding.gyp`; `cnoke.cjs` is koffi's build driver).
 */
const BUILD_ONLY_PACKAGES = new Set(['node-addon-api']);
const BUILD_ONLY_FILES = new Set(['koffi/cnoke.cjs']);
const SKIPPED_DIRS = new Set(['vendor', 'doc', 'docs', 'test', 'tests', 'example', 'examples', '.github']);

/** One file of the image, relative to the image directory. */
export interface ImageFile {
  path: string;
  mode: number;
  data: Uint8Array;
  /** The CPU this file is for, or null when every CPU needs it. */
  arch: Arch | null;
}

export interface Tarball {
  /** File name in the output directory. */
  name: string;
  path: string;
  /** null for the all-CPU tarball. */
  arch: Arch | null;
  bytes: number;
  sha256: string;
}

export interface Image {
  version: string;
  /** `slipstack-<version>`: the directory name, inside the tarballs too. */
  dirName: string;
  /** The image directory (absolute). */
  dir: string;
  files: ImageFile[];
  /** The all-CPU tarball first, then one per CPU in ARCHES order. */
  tarballs: Tarball[];
  /** The `.sha256` file listing the tarballs. */
  manifest: string;
  /** The bundle alone, as `npm run flash` wrote it before the image existed (benches run it). */
  bundle: string;
}

export interface BuildOptions {
  /** The repository root (package.json, package-lock.json, node_modules). */
  root: string;
  /** Output directory. Defaults to `<root>/dist`. */
  outDir?: string;
  /** Where fetched packages are cached. Defaults to `<root>/.tmp/npm-packs`. */
  cacheDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The image's CPU for `uname -m` or `process.arch` output, or null when the image has none. */
export function archOf(machine: string): Arch | null {
  const m = machine.trim();
  if (m === 'arm' || /^armv[67]/.test(m) || m === 'armv8l' || m === 'armhf') return 'arm';
  if (m === 'arm64' || m === 'aarch64') return 'arm64';
  if (m === 'x64' || m === 'x86_64' || m === 'amd64') return 'x64';
  return null;
}

/** The launcher: a POSIX sh script (busybox ash, dash, bash). */
export function launcherScript(version: string): string {
  return `#!/bin/sh
# slipstack ${version}: the firmware image. Runs on Node ${NODE_MIN_MAJOR} or newer, linux arm (armv6/v7),
# arm64 and x64 with glibc; no npm install, no network.
#   ./slipstack --port /dev/ttymxc2 --baud 115200      (--help lists every flag)
# SLIPSTACK_NODE names the node to use; SLIPSTACK_PASSWORD_FILE a file holding the telnet password.
case "$0" in
  */*) here=\${0%/*} ;;
  *) here=. ;;
esac
node=\${SLIPSTACK_NODE:-}
if [ -z "$node" ]; then
  for candidate in node nodejs; do
    if command -v "$candidate" >/dev/null 2>&1; then node=$candidate; break; fi
  done
fi
if [ -z "$node" ]; then
  echo "slipstack: no node on this system: install Node ${NODE_MIN_MAJOR} or newer (Debian: the nodejs package)" >&2
  exit 127
fi
version=$("$node" --version 2>/dev/null)
major=\${version#v}
major=\${major%%.*}
case "$major" in
  ''|*[!0-9]*) echo "slipstack: cannot run $node" >&2; exit 127 ;;
esac
if [ "$major" -lt ${NODE_MIN_MAJOR} ]; then
  echo "slipstack: $node is $version; slipstack needs Node ${NODE_MIN_MAJOR} or newer" >&2
  exit 1
fi
# serialport's binding comes as armv6 and armv7 builds: pick by the CPU, not by how node was built.
if [ -z "\${ARM_VERSION:-}" ]; then
  case $(uname -m) in
    armv7*|armv8l) ARM_VERSION=7; export ARM_VERSION ;;
    armv6*) ARM_VERSION=6; export ARM_VERSION ;;
  esac
fi
if [ -n "\${SLIPSTACK_PASSWORD_FILE:-}" ] && [ -z "\${SLIPSTACK_PASSWORD:-}" ]; then
  SLIPSTACK_PASSWORD=$(cat "$SLIPSTACK_PASSWORD_FILE") || exit 1
  export SLIPSTACK_PASSWORD
fi
exec "$node" "$here/firmware-bridge.mjs" "$@"
`;
}

function readmeText(version: string): string {
  return `slipstack ${version}: the firmware image

Runs with the Node a board's distribution ships, ${NODE_MIN_MAJOR} or newer (Debian bookworm: 18.20),
on linux arm (armv6/armv7, e.g. NXP i.MX6ULL), arm64 and x64 with glibc. Nothing to install:
the native parts of serialport and koffi are here, prebuilt for each CPU, and the right one is
picked when the firmware starts.

  sha256sum -c SHA256SUMS                     check every file
  ./slipstack --help                          the flags
  ./slipstack --port /dev/ttymxc2 --baud 115200 --password secret

The telnet password may also come from SLIPSTACK_PASSWORD, or from a file named by
SLIPSTACK_PASSWORD_FILE (what the boot service installed by \`npm run flash -- --console\` uses).
`;
}

/** The lock path of `dep` as Node would resolve it from the package at `from` ('' = the root). */
function resolveInLock(lock: Lockfile, from: string, dep: string): string | null {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${dep}`;
    if (lock.packages[candidate] !== undefined) return candidate;
    if (base === '') return null;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

function nameOf(lockPath: string): string {
  return lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** The run-time packages of the native roots, with koffi's per-CPU packages for ARCHES. */
function runtimeClosure(lock: Lockfile): string[] {
  const wanted = new Set(ARCHES.map((a) => `@koromix/koffi-linux-${a}`));
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const root of NATIVE_ROOTS) {
    const p = resolveInLock(lock, '', root);
    if (p === null) throw new Error(`package-lock.json has no ${root}`);
    queue.push(p);
  }
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock.packages[path]!;
    const deps = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}).filter((d) => wanted.has(d))];
    for (const dep of deps) {
      if (BUILD_ONLY_PACKAGES.has(dep)) continue;
      const p = resolveInLock(lock, path, dep);
      if (p === null) throw new Error(`package-lock.json: ${dep} (needed by ${nameOf(path)}) is missing`);
      queue.push(p);
    }
  }
  return [...seen].sort();
}

function walk(dir: string, prefix = ''): Array<{ rel: string; abs: string }> {
  const out: Array<{ rel: string; abs: string }> = [];
  for (const name of readdirSync(dir).sort()) {
    const abs = join(dir, name);
    const rel = prefix === '' ? name : `${prefix}/${name}`;
    const st = statSync(abs);
    if (st.isDirectory()) {
      if (name !== 'node_modules') out.push(...walk(abs, rel));
    } else if (st.isFile()) {
      out.push({ rel, abs });
    }
  }
  return out;
}

/**
 * Which files of a package the image keeps, and for which CPU. Returns undefined to leave a file
 * out: JavaScript, JSON and licences are kept; native binaries only for linux arm/arm64/x64 glibc.
 */
function classify(name: string, rel: string): { arch: Arch | null } | undefined {
  const segments = rel.split('/');
  if (segments.slice(0, -1).some((s) => SKIPPED_DIRS.has(s))) return undefined;
  if (BUILD_ONLY_FILES.has(`${name}/${rel}`)) return undefined;
  const koffiArch = /^@koromix\/koffi-linux-(arm|arm64|x64)$/.exec(name);
  if (rel.endsWith('.node')) {
    if (koffiArch !== null) return /^linux_[^/]+\/koffi\.node$/.test(rel) ? { arch: koffiArch[1] as Arch } : undefined;
    const prebuild = /^prebuilds\/linux-(arm|arm64|x64)\/[^/]+\.glibc\.node$/.exec(rel);
    return prebuild !== null ? { arch: prebuild[1] as Arch } : undefined;
  }
  const base = segments[segments.length - 1]!;
  const keep = /\.(js|cjs|mjs|json)$/.test(base) || /^licen[cs]e/i.test(base);
  if (!keep) return undefined;
  return { arch: koffiArch !== null ? (koffiArch[1] as Arch) : null };
}

async function bundleFirmware(root: string, version: string): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [join(root, 'firmware-bridge', 'firmware.ts')],
    bundle: true,
    write: false,
    outfile: 'firmware-bridge.mjs',
    platform: 'node',
    format: 'esm',
    // Debian bookworm's Node 18 is the oldest the image promises to run on.
    target: `node${NODE_MIN_MAJOR}`,
    external: NATIVE_ROOTS,
    define: { SLIPSTACK_VERSION: JSON.stringify(version) },
    banner: { js: `// slipstack firmware ${version}: node firmware-bridge.mjs --help\nimport { createRequire as __slipstackRequire } from 'node:module'; const require = __slipstackRequire(import.meta.url);` },
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.contents;
}

function sumsText(files: readonly ImageFile[]): string {
  return files.map((f) => `${sha256Hex(f.data)}  ${f.path}\n`).join('');
}

/** Tar entries for `files` under `dirName/`, parent directories first, a SHA256SUMS of exactly these files last. */
function tarEntries(dirName: string, files: readonly ImageFile[]): TarEntry[] {
  const sums: ImageFile = { path: 'SHA256SUMS', mode: 0o644, data: Buffer.from(sumsText(files)), arch: null };
  const all = [...files, sums].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const dirs = new Set<string>();
  for (const f of all) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: TarEntry[] = [{ path: dirName, mode: 0o755, data: null }];
  for (const d of dirs) entries.push({ path: `${dirName}/${d}`, mode: 0o755, data: null });
  for (const f of all) entries.push({ path: `${dirName}/${f.path}`, mode: f.mode, data: f.data });
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Builds the image directory, its tarballs and their SHA-256 manifest. */
export async function buildImage(options: BuildOptions): Promise<Image> {
  const root = options.root;
  const outDir = options.outDir ?? join(root, 'dist');
  const cacheDir = options.cacheDir ?? join(root, '.tmp', 'npm-packs');
  const log = options.log ?? (() => {});
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  const dirName = `slipstack-${version}`;

  const bundleBytes = await bundleFirmware(root, version);
  const files: ImageFile[] = [
    { path: 'firmware-bridge.mjs', mode: 0o644, data: bundleBytes, arch: null },
    { path: 'slipstack', mode: 0o755, data: Buffer.from(launcherScript(version)), arch: null },
    { path: 'README.txt', mode: 0o644, data: Buffer.from(readmeText(version)), arch: null },
  ];

  for (const lockPath of runtimeClosure(lock)) {
    const entry: LockEntry = lock.packages[lockPath]!;
    const name = nameOf(lockPath);
    const local = join(root, lockPath);
    let sources: Array<{ rel: string; data: () => Uint8Array; mode: number }>;
    const installed = existsSync(join(local, 'package.json')) &&
      (JSON.parse(readFileSync(join(local, 'package.json'), 'utf8')) as { version: string }).version === entry.version;
    if (installed) {
      sources = walk(local).map((f) => ({ rel: f.rel, data: () => readFileSync(f.abs), mode: statSync(f.abs).mode }));
    } else if (entry.optional === true && entry.integrity !== undefined && entry.version !== undefined) {
      const fetching = (): void => log(`fetching ${name}@${entry.version} from the npm registry (npm installs it only on ${name.slice(name.lastIndexOf('-') + 1)} hosts)`);
      sources = packageFiles(name, entry.version, entry.integrity, cacheDir, fetching).filter((e) => e.data !== null)
        .map((e) => ({ rel: e.path, data: () => e.data!, mode: e.mode }));
    } else {
      throw new Error(`${lockPath} is not installed: run npm ci`);
    }
    for (const s of sources) {
      const kept = classify(name, s.rel);
      if (kept === undefined) continue;
      files.push({ path: `${lockPath}/${s.rel}`, mode: s.mode & 0o111 ? 0o755 : 0o644, data: s.data(), arch: kept.arch });
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const arch of ARCHES) {
    if (!files.some((f) => f.arch === arch && f.path.includes('koffi-linux'))) throw new Error(`no koffi binary for linux-${arch}`);
    if (!files.some((f) => f.arch === arch && f.path.includes('/prebuilds/'))) throw new Error(`no serialport prebuild for linux-${arch}`);
  }

  // The image directory: written fresh.
  const dir = join(outDir, dirName);
  rmSync(dir, { recursive: true, force: true });
  for (const f of files) {
    const target = join(dir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.data);
    chmodSync(target, f.mode);
  }
  writeFileSync(join(dir, 'SHA256SUMS'), sumsText(files));

  // The bundle alone, where `npm run flash` always put it.
  const bundle = join(outDir, 'firmware-bridge.mjs');
  writeFileSync(bundle, bundleBytes);
  writeFileSync(`${bundle}.sha256`, `${sha256Hex(bundleBytes)}  firmware-bridge.mjs\n`);

  const tarballs: Tarball[] = [];
  for (const arch of [null, ...ARCHES]) {
    const subset = arch === null ? files : files.filter((f) => f.arch === null || f.arch === arch);
    const name = arch === null ? `${dirName}.tar.gz` : `${dirName}-linux-${arch}.tar.gz`;
    const bytes = tarGz(tarEntries(dirName, subset));
    const path = join(outDir, name);
    writeFileSync(path, bytes);
    tarballs.push({ name, path, arch, bytes: bytes.length, sha256: sha256Hex(bytes) });
  }
  const manifest = join(outDir, `${dirName}.sha256`);
  writeFileSync(manifest, tarballs.map((t) => `${t.sha256}  ${t.name}\n`).join(''));
  return { version, dirName, dir, files, tarballs, manifest, bundle };
}

/** The unpacked size of the files one CPU's tarball holds, octets. */
export function unpackedBytes(image: Image, arch: Arch | null): number {
  let n = 0;
  for (const f of image.files) if (arch === null || f.arch === null || f.arch === arch) n += f.data.length;
  return n;
}
