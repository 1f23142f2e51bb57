/**
 * The flash image's linux-arm and linux-arm64 tarballs, unpacked outside this repository and run
 * by Debian bookworm's armhf and arm64 Node 18 under QEMU user mode (test/helpers/foreign-node.ts):
 * koffi and serialport load that CPU's binaries by their own run-time choice, and the firmware on
 * a pty behind host connect answers ping, a telnet login and echo with the same SHA-256 back.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Image } from '../../firmware-bridge/host/image.ts';
import { imageOrSkip } from '../helpers/flash-image.ts';
import { foreignNode, type ForeignArch, type ForeignNode } from '../helpers/foreign-node.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';
import { sha256 } from '../../support/pattern.ts';
import { missingTools, noteSkip } from '../helpers/tools.ts';

for (const arch of ['arm', 'arm64'] as ForeignArch[]) {
  interopDescribe(`flash: the linux-${arch} image on Debian's ${arch === 'arm' ? 'armhf' : 'arm64'} Node 18 (QEMU user mode)`, function () {
    this.timeout(180_000);
    const rig = new Rig();
    let image: Image;
    let node: ForeignNode;
    let dir = '';

    before(async function () {
      const n = foreignNode(arch);
      const why = 'why' in n ? n.why : missingTools('tar');
      if (why !== null) {
        if ('why' in n) noteSkip(`linux-${arch} image under QEMU: ${why}`);
        this.test!.parent!.title += ` (pending: ${why})`;
        this.skip();
      }
      node = n as ForeignNode;
      image = await imageOrSkip(this);
      dir = mkdtempSync(join(tmpdir(), `slipstack-${arch}-`));
      const tar = spawnSync('tar', ['-xzf', image.tarballs.find((t) => t.arch === arch)!.path, '-C', dir]);
      expect(tar.status).to.equal(0);
      // Node 18 for another CPU starts under QEMU's user-mode emulation: slow, more so under load.
      await rig.start({ firmwareCommand: ['env', `SLIPSTACK_NODE=${node.node}`, join(dir, image.dirName, 'slipstack')], readyMs: 120_000 });
    });

    after(async () => {
      await rig.stop();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it(`runs under ${arch === 'arm' ? 'qemu-arm' : 'qemu-aarch64'} as ${arch} node 18, and the firmware is ready`, () => {
      expect(readlinkSync(`/proc/${rig.firmware!.child.pid!}/exe`)).to.equal(node.qemu);
      expect(node.arch).to.equal(arch);
      expect(rig.firmware!.out).to.match(/firmware: profile default: \d+ octets preallocated, \d+ of them for packets and TCP rings; ready/);
    });

    it('answers ping, a telnet login with `version`, and echo with the same SHA-256 back', async () => {
      const ping = await rig.execIn('ping', ['-c', '3', '-i', '0.2', '-W', '2', DEVICE_IP]);
      expect(ping.stdout.toString()).to.contain('3 packets transmitted, 3 received, 0% packet loss');
      const c = await rig.shell();
      try {
        expect(await c.command('version')).to.contain(`slipstack firmware ${image.version}`);
        expect(await c.exit()).to.equal(0);
      } finally {
        c.kill();
      }
      const data = randomBytes(256 * 1024);
      writeFileSync(join(dir, 'in'), data);
      const r = await rig.sh(`nc -N ${DEVICE_IP} 7 < ${dir}/in`, { timeoutMs: 120_000 });
      expect(sha256(r.stdout)).to.equal(sha256(data));
      await rig.assertClean();
    });
  });
}
