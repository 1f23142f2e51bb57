/**
 * Packages npm did not install here because they are for another CPU (koffi's prebuilt binary
 * for linux arm and arm64 lives in `@koromix/koffi-linux-arm` and `-arm64`, optional
 * dependencies npm installs only on a matching host). The flash build fetches them from the
 * npm registry with `npm pack`, at the exact version package-lock.json names, checks the
 * tarball against the lock's `integrity` (sha512), and keeps it in `.tmp/npm-packs/` for the
 * next build. Nothing fetched is ever committed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTar, type TarEntry } from './tar.ts';

/** One entry of package-lock.json's `packages`. */
export interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  dev?: boolean;
  optional?: boolean;
  cpu?: string[];
  os?: string[];
}

export interface Lockfile {
  packages: Record<string, LockEntry>;
}

/** `sha512-<base64>` of `bytes`, as npm writes `integrity`. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** Why a package could not be fetched, as one line. */
export class FetchError extends Error {}

/**
 * The files of `name@version` (the tarball's `package/` prefix removed), from the cache in
 * `cacheDir` or fetched with `npm pack`. Throws FetchError when it cannot be fetched or its
 * integrity differs from `integrity`.
 */
export function packageFiles(name: string, version: string, integrity: string, cacheDir: string, onFetch: () => void = () => {}): TarEntry[] {
  mkdirSync(cacheDir, { recursive: true });
  const file = join(cacheDir, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  let bytes: Uint8Array | null = existsSync(file) ? readFileSync(file) : null;
  if (bytes !== null && integrityOf(bytes) !== integrity) {
    rmSync(file);
    bytes = null;
  }
  if (bytes === null) {
    onFetch();
    const scratch = join(cacheDir, `.pack-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    try {
      const npm = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', scratch, '--json', '--silent'], {
        encoding: 'utf8', timeout: 120_000,
      });
      if (npm.error !== undefined || npm.status !== 0) {
        const why = npm.error?.message ?? npm.stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? `exit ${npm.status}`;
        throw new FetchError(`cannot fetch ${name}@${version} from the npm registry (npm pack: ${why})`);
      }
      const packed = (JSON.parse(npm.stdout) as Array<{ filename: string }>)[0]!.filename;
      bytes = readFileSync(join(scratch, packed));
      if (integrityOf(bytes) !== integrity) {
        throw new FetchError(`${name}@${version} from the registry does not match package-lock.json's integrity: not used`);
      }
      renameSync(join(scratch, packed), file);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return readTar(bytes)
    .filter((e) => e.path.startsWith('package/'))
    .map((e) => ({ ...e, path: e.path.slice('package/'.length) }))
    .filter((e) => e.path !== '');
}
