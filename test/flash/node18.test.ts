/**
 * The flash image on the oldest Node it promises: Debian bookworm's own `nodejs` 18, unpacked
 * from its .debs into .tmp/node18 (test/helpers/node18.ts). The image's launcher runs it on a pty
 * with host connect and the real Linux tools in a network namespace: ping, a telnet login, and
 * 1 MiB through echo with the same SHA-256 back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Image } from '../../firmware-bridge/host/image.ts';
import { imageOrSkip } from '../helpers/flash-image.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';
import { sha256 } from '../../support/pattern.ts';
import { node18, type Node18 } from '../helpers/node18.ts';
import { noteSkip } from '../helpers/tools.ts';

interopDescribe('flash: the image on Debian bookworm\'s Node 18', function () {
  this.timeout(120_000);
  const rig = new Rig();
  let image: Image;
  let node: Node18;
  let dir = '';

  before(async function () {
    const n = node18();
    if ('why' in n) {
      noteSkip(`Node 18 test: ${n.why}`);
      this.test!.parent!.title += ` (pending: ${n.why})`;
      this.skip();
    }
    node = n;
    image = await imageOrSkip(this);
    dir = mkdtempSync(join(tmpdir(), 'slipstack-node18-'));
    // The launcher with SLIPSTACK_NODE: as a board runs it, with its own node.
    await rig.start({ firmwareCommand: ['env', `SLIPSTACK_NODE=${node.node}`, join(image.dir, 'slipstack')] });
  });

  after(async () => {
    await rig.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('the firmware process is Debian\'s node 18 and says it is ready', () => {
    const pid = rig.firmware!.child.pid!;
    expect(readlinkSync(`/proc/${pid}/exe`)).to.equal(node.binary);
    expect(node.version).to.match(/^v18\./);
    expect(rig.firmware!.out).to.match(/firmware: slipstack .* on \/dev\/pts\/\d+ at 115200 baud/);
  });

  it('answers ping -c 5', async () => {
    const r = await rig.execIn('ping', ['-c', '5', '-i', '0.2', '-W', '2', DEVICE_IP]);
    expect(r.stdout.toString()).to.contain('5 packets transmitted, 5 received, 0% packet loss');
  });

  it('telnet: logs in, `version` shows the image\'s version and the SHA-256 of its bundle, exits', async () => {
    const c = await rig.shell();
    try {
      const out = await c.command('version');
      const bundle = image.files.find((f) => f.path === 'firmware-bridge.mjs')!;
      expect(out).to.contain(`slipstack firmware ${image.version}\r\nimage sha256 ${sha256(bundle.data)}`);
      expect(await c.exit()).to.equal(0);
    } finally {
      c.kill();
    }
  });

  it('echo: 1 MiB comes back with the same SHA-256', async () => {
    const data = randomBytes(1024 * 1024);
    writeFileSync(join(dir, 'in'), data);
    const r = await rig.sh(`nc -N ${DEVICE_IP} 7 < ${dir}/in`, { timeoutMs: 60_000 });
    expect(r.stdout.length).to.equal(data.length);
    expect(sha256(r.stdout)).to.equal(sha256(data));
    await rig.assertClean();
  });
});
