import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { SerialError, SerialLink } from '../../src/drivers/serial-link.ts';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { exchange } from './exchange.ts';

const CHILD = fileURLToPath(new URL('./serial-open.child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface ChildResult {
  code?: string;
  message?: string;
  opened?: boolean;
}

async function openError(path: string, options = {}): Promise<SerialError> {
  try {
    const link = await SerialLink.open(path, options);
    await link.close();
  } catch (error) {
    expect(error).to.be.instanceOf(SerialError);
    return error as SerialError;
  }
  throw new Error(`SerialLink.open(${path}) succeeded`);
}

describe('drivers/serial-link: opening', () => {
  let pty: PtyHandles | null = null;
  const links: SerialLink[] = [];

  afterEach(async () => {
    for (const link of links.splice(0)) await link.close();
    pty?.close();
    pty = null;
  });

  it('a missing port: "no such port …: check the path"', async () => {
    const error = await openError('/dev/ttyNOSUCHPORT9');
    expect(error.code).to.equal('ENOENT');
    expect(error.path).to.equal('/dev/ttyNOSUCHPORT9');
    expect(error.message).to.equal('no such port /dev/ttyNOSUCHPORT9: check the path (ls /dev/tty*)');
  });

  it('a port another program has locked: "port busy: another program has it open"', async () => {
    pty = openPtyPair();
    links.push(await SerialLink.open(pty.slavePath));
    const error = await openError(pty.slavePath);
    expect(error.code).to.equal('EBUSY');
    expect(error.message).to.match(/^port busy: another program has it open/);
    // Without a lock a second opener is not refused (the lock is advisory, flock).
    links.push(await SerialLink.open(pty.slavePath, { lock: false }));
  });

  it('an invalid baud rate is refused before anything is opened', async () => {
    const error = await openError('/dev/ttyS0', { baud: -5 });
    expect(error.code).to.equal('EINVAL');
    expect(error.message).to.match(/invalid baud rate -5/);
  });

  it('any baud rate opens on a pty (which ignores it), including non-standard ones', async () => {
    pty = openPtyPair();
    for (const baud of [9600, 115200, 250000, 3000000]) {
      const link = await SerialLink.open(pty.slavePath, { baud });
      expect(link.baud).to.equal(baud);
      await link.close();
    }
  });

  it('no permission: "permission denied: add your user to the dialout group …"', async function () {
    pty = openPtyPair();
    let result: ChildResult;
    if (process.getuid?.() === 0) {
      // Root opens anything: ask an unprivileged user (nobody, 65534) to open our pty slave (mode 0600, root's).
      const fromChild = await new Promise<ChildResult | null>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', CHILD, pty!.slavePath],
          { cwd: REPO, uid: 65534, gid: 65534, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp' }, timeout: 30_000 },
          (_error, stdout) => {
            const line = stdout.trim().split('\n').pop() ?? '';
            resolve(line.startsWith('{') ? (JSON.parse(line) as ChildResult) : null);
          },
        );
      });
      // No JSON: the child could not even start (e.g. the repository is not readable by nobody).
      if (fromChild === null) this.skip();
      result = fromChild!;
    } else {
      chmodSync(pty.slavePath, 0o000);
      try {
        await SerialLink.open(pty.slavePath);
        result = { opened: true };
      } catch (error) {
        result = error as SerialError;
      }
    }
    expect(result.opened).to.equal(undefined);
    expect(result.code).to.equal('EACCES');
    expect(result.message).to.match(
      /^permission denied: add your user to the dialout group: sudo usermod -aG dialout \$USER, then log in again/,
    );
  });
});

describe('drivers/serial-link: moving octets', () => {
  it('talks to an FdLink on the pty master at any baud (a pty has no line rate)', async () => {
    const pty = openPtyPair();
    const serial = await SerialLink.open(pty.slavePath, { baud: 3000000 });
    const master = new FdLink(pty.masterFd, { closeFd: false, name: 'pty master' });
    try {
      const ping = Uint8Array.from([0xc0, 0x45, 0x00, 0xdb, 0xdc, 0xdb, 0xdd, 0xc0]);
      const pong = Uint8Array.from([0xc0, 0x0d, 0x0a, 0x11, 0x13, 0xc0]);
      const { atA, atB } = await exchange(serial, master, ping, pong);
      expect([...atB]).to.deep.equal([...ping]);
      expect([...atA]).to.deep.equal([...pong]);
      expect(serial.stats.txBytes).to.equal(ping.length);
      expect(serial.stats.rxBytes).to.equal(pong.length);
    } finally {
      await serial.close();
      await master.close();
      pty.close();
    }
    expect((await serial.closed).disconnected).to.equal(false);
    expect(serial.isOpen).to.equal(false);
    expect(serial.write(0, new Uint8Array(4), 0, 4)).to.equal(0);
  });
});
