/**
 * `npm run connect -- --user-net` is host connect's userspace host side on the given port (no
 * root, no kernel interface): the same flags, the same messages. The userspace side itself is
 * tested end to end in test/interop (npm start without root) and test/host.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/flash-image.ts';

describe('connect --user-net', function () {
  this.timeout(30_000);

  it('runs host connect --user-net on the port: a missing port gets host connect\'s one line and exit 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'firmware-bridge/host/connect.ts'), '--user-net', '--port', '/dev/ttyNO-SUCH-PORT'], {
      cwd: ROOT, encoding: 'utf8',
    });
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal('host-connect: no such port /dev/ttyNO-SUCH-PORT: check the path (ls /dev/tty*)');
  });

  it('without --user-net a missing --port is connect\'s own usage error (exit 2)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'firmware-bridge/host/connect.ts')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain("connect: --port is required");
  });
});
