/**
 * The layer rule (docs/architecture.md), checked on every import: inside src/ each layer imports
 * only the layers below it; the harness stays out of the product (nothing in src/ or
 * firmware-bridge/ imports support/, test/, hw/ or bench/; support/ is shared by the harnesses
 * only) and support/ imports none of the harnesses it serves; scripts/ may import test/ (the
 * fuzzing surfaces and the soak run), nothing else of the harnesses. The Node half of the rule (only
 * src/drivers/ touches Node; slipstack/net is src/drivers/net/) is the compiler's: `npm run typecheck` compiles the core a second
 * time without Node's types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every .ts file below `dir`, as paths relative to the repository root. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The files `file` imports (static imports and re-exports, relative specifiers only), relative to the root. */
function importedFiles(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const files: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']*)'/gm)) {
    files.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)));
  }
  return files;
}

/** The top-level folders `file` imports from. */
function importedFolders(file: string): string[] {
  return importedFiles(file).map((target) => target.split('/')[0]!);
}

/** The layer of a file in src/: its folder, or the file's own name for time.ts and random.ts. */
function layerOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 2 ? parts[1]!.replace(/\.ts$/, '') : parts[1]!;
}

/** What each layer of src/ may import besides itself (docs/architecture.md). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  time: [],
  random: [],
  storage: [],
  wire: ['storage'],
  phy: ['wire', 'storage', 'time', 'random'],
  socket: ['wire', 'storage', 'time', 'random'],
  iface: ['socket', 'phy', 'wire', 'storage', 'time', 'random'],
  drivers: ['iface', 'socket', 'phy', 'wire', 'storage', 'time', 'random'],
};

/** The Node-facing layer of src/ (outside the core): drivers/, slipstack/net (drivers/net/) included. */
const NODE_LAYERS = ['drivers'];

/** slipstack/net, inside drivers/: the top of that layer, with one door into the TCP core. */
const NET = 'src/drivers/net/';
const NET_TCP_DOOR = 'src/drivers/net/tcp-binding.ts';

describe('layers', () => {
  it('inside src/ every layer imports only the layers below it', () => {
    const offenders: string[] = [];
    for (const file of sources('src')) {
      const layer = layerOf(file);
      const allowed = MAY_IMPORT[layer];
      if (allowed === undefined) {
        offenders.push(`${file}: layer ${layer} has no place in the rule (add it to docs/architecture.md and here)`);
        continue;
      }
      for (const target of importedFiles(file)) {
        if (!target.startsWith('src/')) continue;
        const to = layerOf(target);
        if (to !== layer && !allowed.includes(to)) offenders.push(`${file} imports ${target} (${layer} may not import ${to})`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('slipstack/net (src/drivers/net/) reaches socket/ only through tcp-binding.ts, and no other driver imports it', () => {
    const offenders: string[] = [];
    const files = sources('src');
    expect(files).to.include(NET_TCP_DOOR);
    for (const file of files) {
      for (const target of importedFiles(file)) {
        if (file.startsWith(NET)) {
          if (file !== NET_TCP_DOOR && layerOf(target) === 'socket') offenders.push(`${file} imports ${target} (net reaches TCP through ${NET_TCP_DOOR})`);
        } else if (target.startsWith(NET)) offenders.push(`${file} imports ${target} (net sits above the rest of src/)`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the core (src/ but drivers/) imports no package and no node: module', () => {
    const offenders: string[] = [];
    for (const file of sources('src')) {
      if (NODE_LAYERS.includes(layerOf(file))) continue;
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^.'][^']*)'/gm)) offenders.push(`${file} imports ${m[1]}`);
      for (const m of text.matchAll(/\bimport\(\s*'([^.'][^']*)'/g)) offenders.push(`${file} imports ${m[1]}`);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('src/ and firmware-bridge/ import none of support/, test/, hw/, bench/', () => {
    const offenders: string[] = [];
    for (const file of [...sources('src'), ...sources('firmware-bridge')]) {
      for (const folder of importedFolders(file)) {
        if (['support', 'test', 'hw', 'bench'].includes(folder)) offenders.push(`${file} imports ${folder}/`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('support/ imports only src/ and firmware-bridge/, not the harnesses it serves', () => {
    const offenders: string[] = [];
    const files = sources('support');
    expect(files.length).to.be.greaterThan(0);
    for (const file of files) {
      for (const folder of importedFolders(file)) {
        if (!['src', 'firmware-bridge', 'support'].includes(folder)) offenders.push(`${file} imports ${folder}/`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('scripts/ imports src/, firmware-bridge/, support/ and test/ (npm run fuzz and soak run test code), never hw/ or bench/', () => {
    const offenders: string[] = [];
    for (const file of sources('scripts')) {
      for (const folder of importedFolders(file)) {
        if (!['src', 'firmware-bridge', 'support', 'test', 'scripts'].includes(folder)) offenders.push(`${file} imports ${folder}/`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });
});
