import { expect } from 'chai';
import { closeSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { isPtyPath, openPtyPair, PtyPair } from '../../src/drivers/pty.ts';
import { NEVER } from '../../src/time.ts';
import { randomBytes } from '../../support/pattern.ts';
import { exchange } from './exchange.ts';

const ALL_OCTETS = Uint8Array.from({ length: 256 }, (_, i) => i);
/** Every octet value, then the SLIP and terminal specials again in a row. */
const SPECIALS = Uint8Array.from([...ALL_OCTETS, 0xc0, 0xdb, 0xdc, 0xdd, 0x0a, 0x0d, 0x11, 0x13, 0x03, 0x1c, 0x7f, 0x00, 0x04]);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
    }),
  ]);
}

describe('drivers/pty: openPtyPair', () => {
  it('opens a master and a raw slave under /dev/pts, and closes both', () => {
    const pty = openPtyPair();
    try {
      expect(pty.slavePath).to.match(/^\/dev\/pts\/\d+$/);
      expect(existsSync(pty.slavePath)).to.equal(true);
      expect(statSync(pty.slavePath).isCharacterDevice()).to.equal(true);
      expect(pty.masterFd).to.be.greaterThan(2);
      expect(pty.slaveFd).to.be.greaterThan(2);
    } finally {
      pty.close();
      pty.close(); // twice is fine
    }
  });
});

for (const slaveKind of ['fd', 'serial'] as const) {
  describe(`drivers/pty: PtyPair with ${slaveKind === 'fd' ? 'an FdLink' : 'a SerialLink'} on the slave`, () => {
    let pair: PtyPair | null = null;

    afterEach(async () => {
      if (pair !== null) await pair.close();
      pair = null;
    });

    it('carries all 256 octet values both ways, unchanged (raw mode: no echo, no CR/LF mapping, no XON/XOFF)', async () => {
      pair = await PtyPair.open({ slave: slaveKind });
      const { atA, atB } = await exchange(pair.master, pair.slave, SPECIALS, SPECIALS, { maxChunk: 64 });
      expect(Buffer.from(atB).equals(Buffer.from(SPECIALS))).to.equal(true);
      expect(Buffer.from(atA).equals(Buffer.from(SPECIALS))).to.equal(true);
      expect(pair.master.stats.rxOverflow).to.equal(0);
      expect(pair.slave.stats.rxOverflow).to.equal(0);
    });

    it('carries 512 KiB each way at once in random chunk sizes, in order, with back pressure', async () => {
      pair = await PtyPair.open({ slave: slaveKind, txCapacity: 8192 });
      const aToB = randomBytes(512 * 1024, 0x5eed);
      const bToA = randomBytes(512 * 1024, 0xbeef);
      const { atA, atB, loop } = await exchange(pair.master, pair.slave, aToB, bToA, { seed: 99, maxChunk: 3000 });
      expect(atB.length).to.equal(aToB.length);
      expect(atA.length).to.equal(bToA.length);
      expect(Buffer.from(atB).equals(Buffer.from(aToB))).to.equal(true);
      expect(Buffer.from(atA).equals(Buffer.from(bToA))).to.equal(true);
      expect(pair.master.stats.txBytes).to.equal(aToB.length);
      expect(pair.master.stats.rxBytes).to.equal(bToA.length);
      expect(pair.slave.stats.rxOverflow).to.equal(0);
      // An 8 KiB TX ring cannot take 512 KiB at once: the writers were pushed back and resumed.
      expect(pair.master.stats.writeShort + pair.slave.stats.writeShort).to.be.greaterThan(0);
      expect(loop.stats.wakes).to.be.greaterThan(0);
    });

    it('reports nothing to do when idle', async () => {
      pair = await PtyPair.open({ slave: slaveKind });
      expect(pair.master.pollAt(5)).to.equal(NEVER);
      expect(pair.slave.pollAt(5)).to.equal(NEVER);
      const dst = new Uint8Array(16);
      expect(pair.master.read(5, dst, 0, 16)).to.equal(0);
    });
  });
}

describe('drivers/pty: hangups', () => {
  it('a SerialLink on the slave reports a disconnect when the master goes away', async () => {
    const pair = await PtyPair.open({ slave: 'serial' });
    await pair.master.close();
    pair.handles.close(); // the master fd (and our held slave fd) close: the pty hangs up
    const why = await withTimeout(pair.slave.closed, 5000, 'slave closed');
    expect(why.disconnected).to.equal(true);
    expect(why.reason).to.match(/disconnected/);
    expect(pair.slave.isOpen).to.equal(false);
  });

  it('an FdLink on the master reports a hangup when the last slave fd closes', async () => {
    const pty = openPtyPair();
    const master = new FdLink(pty.masterFd, { name: 'pty master' }); // owns the master fd
    closeSync(pty.slaveFd);
    const why = await withTimeout(master.closed, 5000, 'master closed');
    expect(why.disconnected).to.equal(true);
    expect(why.reason).to.match(/hangup/);
    expect(master.isOpen).to.equal(false);
    expect(master.write(0, ALL_OCTETS, 0, 4)).to.equal(0);
  });

  it('close() resolves closed with disconnected: false', async () => {
    const pair = await PtyPair.open();
    await pair.close();
    expect(await pair.master.closed).to.deep.equal({ disconnected: false, reason: 'pty master closed' });
    expect((await pair.slave.closed).disconnected).to.equal(false);
  });
});

describe('drivers/pty: isPtyPath', () => {
  it('knows a pty slave, also behind a symlink, from a file, a missing path and /dev/null', () => {
    const pty = openPtyPair();
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-ptypath-'));
    try {
      symlinkSync(pty.slavePath, join(dir, 'ttyUSB0'));
      expect(isPtyPath(pty.slavePath)).to.equal(true);
      expect(isPtyPath(join(dir, 'ttyUSB0'))).to.equal(true);
      expect(isPtyPath(join(dir, 'missing'))).to.equal(false);
      expect(isPtyPath('/dev/null')).to.equal(false);
      expect(isPtyPath(dir)).to.equal(false);
    } finally {
      pty.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
