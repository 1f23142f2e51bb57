/**
 * The package as a user gets it: `npm pack` (which runs `npm run build` through `prepack`), the
 * tarball installed into a scratch project outside the repository, then
 * `import { createServer } from 'slipstack/net'` from plain Node ESM (the code runs: a server
 * made with no network says so when it listens) and from TypeScript, strict, module nodenext,
 * compiled with the repository's tsc (the types resolve through the `exports` map; a wrong
 * type is caught, so they are not `any`). The tarball carries the build of src/drivers/net/
 * and what it imports, and no TypeScript source.
 *
 * The install takes slipstack's dependencies (serialport, koffi) from npm's cache when it has
 * them (`--prefer-offline`; `npm ci` has put them there), with install scripts off.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { type Dirent, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

describe('slipstack/net as a package (npm pack, installed in a scratch project)', function () {
  this.timeout(300_000);
  let scratch = '';
  let tarball = '';
  let app = '';

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'slipstack-pack-'));
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: ROOT, maxBuffer: 16 << 20 });
    tarball = join(scratch, stdout.trim().split('\n').pop()!);
    app = join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', tarball, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: app, maxBuffer: 16 << 20 });
  });

  after(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it('the tarball holds the built slipstack/net (JS and declarations), no TypeScript source, no stale build', async () => {
    // What npm unpacked from the tarball into the scratch project is the tarball's content (no
    // tar program needed): its paths as the tarball names them, under package/.
    const installed = join(app, 'node_modules', 'slipstack');
    const files = (readdirSync(installed, { recursive: true, withFileTypes: true }) as Dirent[])
      .filter((d) => d.isFile())
      .map((d) => `package/${relative(installed, join(d.parentPath ?? d.path, d.name)).split(sep).join('/')}`);
    expect(files).to.include('package/dist/lib/drivers/net/index.js');
    expect(files).to.include('package/dist/lib/drivers/net/index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).to.deep.equal([]);
    // Every file the exports map names is in the tarball (TypeScript would find index.d.ts beside
    // index.js even if "types" were wrong, so that alone would not show a stale path).
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'slipstack', 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    expect(targets.length).to.be.greaterThan(2);
    for (const t of targets) expect(files, `exports names ${t}`).to.include(`package/${t.replace(/^\.\//, '')}`);
    // The build is cleaned first: nothing left from where slipstack/net used to be built (dist/lib/net/).
    expect(files.filter((f) => f.startsWith('package/dist/lib/net/'))).to.deep.equal([]);
  });

  it("plain Node ESM: import { createServer } from 'slipstack/net' loads and runs", async () => {
    writeFileSync(join(app, 'main.mjs'), [
      "import { createServer, connect, createConnection, Server, Socket, Network, VirtualLoop, openDevice } from 'slipstack/net';",
      'const kinds = [createServer, connect, createConnection, Server, Socket, Network, VirtualLoop, openDevice].map((f) => typeof f);',
      'const server = createServer((s) => s.pipe(s));',
      'let message = "";',
      'try { server.listen(7000); } catch (e) { message = e.message; }',
      'console.log(JSON.stringify({ kinds, isServer: server instanceof Server, message }));',
    ].join('\n'));
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app });
    const out = JSON.parse(stdout) as { kinds: string[]; isServer: boolean; message: string };
    expect(out.kinds).to.deep.equal(Array(8).fill('function'));
    expect(out.isServer).to.equal(true);
    expect(out.message).to.match(/^slipstack\/net: no network to use/);
  });

  it("TypeScript (strict, nodenext): the types of 'slipstack/net' resolve and are checked", async () => {
    writeFileSync(join(app, 'main.ts'), [
      "import { createServer, connect, type Socket, type Server } from 'slipstack/net';",
      'const server: Server = createServer((socket: Socket) => { socket.pipe(socket); });',
      'server.listen(7000);',
      "const client: Socket = connect({ host: '192.0.2.2', port: 7000 });",
      'client.setNoDelay(true).end();',
      '// @ts-expect-error a Server is not a number: fails to compile if the types were any',
      'export const wrong: number = createServer();',
      '',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2023', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
        types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files: ['main.ts'],
    }));
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const result = await run(tsc, ['-p', 'tsconfig.json'], { cwd: app }).then(() => '', (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
    expect(result).to.equal('');
  });
});
