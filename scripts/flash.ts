/**
 * `npm run flash`: builds the firmware into one self-contained file, dist/firmware-bridge.mjs
 * (an esbuild bundle of firmware-bridge/firmware.ts and everything it imports), and writes its
 * SHA-256 beside it. The native addons (serialport's bindings, koffi) stay as dependencies:
 * on the board, `npm install serialport@13.0.0 koffi@3.3.4` next to the file, then
 * `node firmware-bridge.mjs --port /dev/ttymxc1 ...`.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'firmware-bridge.mjs');
mkdirSync(dirname(out), { recursive: true });
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

await build({
  entryPoints: [join(root, 'firmware-bridge', 'firmware.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['serialport', '@serialport/*', 'koffi'],
  define: { SLIPSTACK_VERSION: JSON.stringify(version) },
  banner: { js: `// slipstack firmware ${version}: node firmware-bridge.mjs --help\nimport { createRequire as __slipstackRequire } from 'node:module'; const require = __slipstackRequire(import.meta.url);` },
  legalComments: 'none',
  logLevel: 'warning',
});

const image = readFileSync(out);
const sha = createHash('sha256').update(image).digest('hex');
writeFileSync(`${out}.sha256`, `${sha}  firmware-bridge.mjs\n`);
console.log(`${relative(root, out)}  ${statSync(out).size} octets  sha256 ${sha}`);
console.log(`copy it to the board:  scp ${relative(root, out)} ${relative(root, out)}.sha256 root@board:/opt/slipstack/`);
