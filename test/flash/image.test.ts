/**
 * The flash image (`npm run flash`): what is in it, that every CPU's binaries sit where koffi's
 * and node-gyp-build's own loaders look for them, that it runs from its tarball with nothing
 * else (outside this repository, so no node_modules of ours can help), that its launcher
 * refuses a Node that is too old, and that two builds are identical octet for octet.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ARCHES, buildImage, type Arch, type Image } from '../../firmware-bridge/host/image.ts';
import { readTar } from '../../firmware-bridge/host/tar.ts';
import { imageOrSkip, ROOT } from '../helpers/flash-image.ts';
import { skipWithout } from '../helpers/tools.ts';

/** ELF e_machine per CPU: EM_ARM 40, EM_AARCH64 183, EM_X86_64 62. */
const MACHINE: Record<Arch, number> = { arm: 40, arm64: 183, x64: 62 };
/** What each CPU's tarball must hold, and nothing for another CPU. */
const NATIVE: Record<Arch, string[]> = {
  arm: [
    'node_modules/@koromix/koffi-linux-arm/linux_armhf/koffi.node',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm/@serialport+bindings-cpp.armv6.glibc.node',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm/@serialport+bindings-cpp.armv7.glibc.node',
  ],
  arm64: [
    'node_modules/@koromix/koffi-linux-arm64/linux_arm64/koffi.node',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
  ],
  x64: [
    'node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-x64/@serialport+bindings-cpp.glibc.node',
  ],
};

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function extract(tarball: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipstack-image-'));
  const r = spawnSync('tar', ['-xzf', tarball, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xzf ${tarball}: ${r.stderr}`);
  return dir;
}

describe('flash: the image', function () {
  this.timeout(120_000);
  let image: Image;
  const scratch: string[] = [];

  before(async function () {
    image = await imageOrSkip(this);
  });

  after(() => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });

  it('is a directory with the launcher, the bundle, README.txt and a SHA256SUMS that checks, plus tarballs and their manifest', function () {
    skipWithout(this, 'tar');
    expect(existsSync(join(image.dir, 'firmware-bridge.mjs'))).to.equal(true);
    expect(existsSync(join(image.dir, 'README.txt'))).to.equal(true);
    const r = spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: image.dir, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(spawnSync('test', ['-x', join(image.dir, 'slipstack')]).status, 'launcher executable').to.equal(0);
    expect(image.tarballs.map((t) => t.name)).to.deep.equal(['slipstack-0.1.0.tar.gz', ...ARCHES.map((a) => `slipstack-0.1.0-linux-${a}.tar.gz`)]
      .map((n) => n.replace('0.1.0', image.version)));
    const manifest = readFileSync(image.manifest, 'utf8');
    for (const t of image.tarballs) {
      expect(sha256(readFileSync(t.path))).to.equal(t.sha256);
      expect(manifest).to.contain(`${t.sha256}  ${t.name}\n`);
    }
    // GNU tar reads what tar.ts wrote, long paths included.
    const list = spawnSync('tar', ['-tzf', image.tarballs[0]!.path], { encoding: 'utf8' });
    expect(list.status).to.equal(0);
    for (const arch of ARCHES) for (const p of NATIVE[arch]) expect(list.stdout).to.contain(`${image.dirName}/${p}\n`);
  });

  for (const arch of ARCHES) {
    it(`linux-${arch}: its tarball holds that CPU's koffi and serialport binaries (ELF machine ${MACHINE[arch]}) and no other CPU's`, () => {
      const entries = readTar(readFileSync(image.tarballs.find((t) => t.arch === arch)!.path));
      const natives = entries.filter((e) => e.path.endsWith('.node')).map((e) => e.path.slice(image.dirName.length + 1)).sort();
      expect(natives).to.deep.equal([...NATIVE[arch]].sort());
      for (const e of entries.filter((x) => x.path.endsWith('.node'))) {
        const elf = Buffer.from(e.data!);
        expect(elf.subarray(0, 4).toString('latin1'), e.path).to.equal('\x7fELF');
        expect(elf.readUInt16LE(18), `${e.path} e_machine`).to.equal(MACHINE[arch]);
        // armhf: EF_ARM_ABI_FLOAT_HARD, what Debian's armhf node is built with.
        if (arch === 'arm') expect(elf.readUInt32LE(36) & 0x400, `${e.path} hard-float`).to.equal(0x400);
      }
      const sums = entries.find((e) => e.path === `${image.dirName}/SHA256SUMS`)!;
      const listed = Buffer.from(sums.data!).toString('utf8').trim().split('\n').map((l) => l.slice(66));
      const files = entries.filter((e) => e.data !== null && !e.path.endsWith('/SHA256SUMS')).map((e) => e.path.slice(image.dirName.length + 1));
      expect(listed.sort()).to.deep.equal(files.sort());
    });

    it(`linux-${arch}: koffi's and node-gyp-build's own loaders, told the CPU is ${arch}, pick the binaries the image carries`, function () {
      skipWithout(this, 'tar');
      const dir = extract(image.tarballs.find((t) => t.arch === arch)!.path);
      scratch.push(dir);
      const img = join(dir, image.dirName);
      // node-gyp-build takes the CPU from npm_config_arch and the ARM level from ARM_VERSION (the launcher sets it from uname -m).
      const script = `
        const { createRequire } = require('node:module');
        const req = createRequire(${JSON.stringify(`${img}/node_modules/koffi/src/koffi/src/static.js`)});
        const pkg = req.resolve('@koromix/koffi-linux-${arch}');
        const loader = require('node:fs').readFileSync(pkg, 'utf8');
        // linux-arm64/x64 choose between glibc and musl builds; linux-arm has one (armhf) build.
        const glibc = (/glibc: "([^"]+)"/.exec(loader) ?? /var filename = "([^"]+)"/.exec(loader))[1];
        const gyp = require(${JSON.stringify(`${img}/node_modules/node-gyp-build`)});
        console.log(JSON.stringify({ koffi: require('node:path').join(require('node:path').dirname(pkg), glibc), serialport: gyp.resolve(${JSON.stringify(`${img}/node_modules/@serialport/bindings-cpp`)}) }));
      `;
      const r = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8', env: { ...process.env, npm_config_arch: arch, ARM_VERSION: arch === 'arm' ? '7' : '', LIBC: 'glibc' },
      });
      expect(r.status, r.stderr).to.equal(0);
      const picked = JSON.parse(r.stdout) as { koffi: string; serialport: string };
      const expectKoffi = NATIVE[arch].find((p) => p.includes('koffi'))!;
      const expectSerial = NATIVE[arch].find((p) => p.includes(arch === 'arm' ? 'armv7' : 'bindings-cpp/prebuilds'))!;
      expect(picked.koffi).to.equal(join(img, expectKoffi));
      expect(picked.serialport).to.equal(join(img, expectSerial));
      expect(existsSync(picked.koffi) && existsSync(picked.serialport)).to.equal(true);
    });
  }

  it(`runs from its ${process.arch} tarball outside this repository: both native modules load, and without serialport's binary it says so`, function () {
    skipWithout(this, 'tar');
    const arch = process.arch as Arch;
    if (!ARCHES.includes(arch)) this.skip();
    const dir = extract(image.tarballs.find((t) => t.arch === arch)!.path);
    scratch.push(dir);
    const launcher = join(dir, image.dirName, 'slipstack');
    // --help evaluates the bundle's imports: koffi loads its binary, serialport's binding loads its own.
    const ok = spawnSync(launcher, ['--help'], { encoding: 'utf8', cwd: dir });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^usage: .*--port PATH/);
    const prebuild = join(dir, image.dirName, NATIVE[arch].find((p) => p.includes('prebuilds'))!);
    rmSync(prebuild);
    const broken = spawnSync(launcher, ['--help'], { encoding: 'utf8', cwd: dir });
    expect(broken.status).to.not.equal(0);
    expect(broken.stderr).to.match(/No native build was found/);
  });

  it('the launcher names the problem when node is missing (exit 127) or older than 18 (exit 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-launcher-'));
    scratch.push(dir);
    const fake = join(dir, 'node16');
    writeFileSync(fake, '#!/bin/sh\necho v16.20.2\n');
    chmodSync(fake, 0o755);
    const old = spawnSync(join(image.dir, 'slipstack'), ['--help'], { encoding: 'utf8', env: { ...process.env, SLIPSTACK_NODE: fake } });
    expect(old.status).to.equal(1);
    expect(old.stderr).to.equal(`slipstack: ${fake} is v16.20.2; slipstack needs Node 18 or newer\n`);
    const none = spawnSync('/bin/sh', [join(image.dir, 'slipstack'), '--help'], { encoding: 'utf8', env: { PATH: dir } });
    expect(none.status).to.equal(127);
    expect(none.stderr).to.match(/^slipstack: no node on this system: install Node 18 or newer/);
  });

  it('two builds are identical: every tarball has the same SHA-256 (what lets a console upload resume)', async function () {
    const outDir = mkdtempSync(join(tmpdir(), 'slipstack-rebuild-'));
    scratch.push(outDir);
    const again = await buildImage({ root: ROOT, outDir });
    expect(again.tarballs.map((t) => t.sha256)).to.deep.equal(image.tarballs.map((t) => t.sha256));
  });
});
