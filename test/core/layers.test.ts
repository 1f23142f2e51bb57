/**
 * The harness stays out of the product: nothing in src/ or firmware-bridge/ imports support/,
 * test/, hw/ or bench/ (docs/architecture.md; support/ is shared by the harnesses only), and
 * support/ imports none of the harnesses it serves.
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

/** The top-level folders `file` imports from (static imports and re-exports, relative specifiers only). */
function importedFolders(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const folders: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']*)'/gm)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[1]!));
    folders.push(target.split('/')[0]!);
  }
  return folders;
}

describe('layers', () => {
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
});
