/**
 * `npm run flash -- --console` against a real login on a pty (test/helpers/board-console.ts:
 * agetty and login in a mount namespace with a scratch /etc), the flasher run as a user runs
 * it, as its own process, through a "cable" pty that can be cut or corrupt octets.
 *
 * - The whole story: log in, upload, verify, unpack, install the init script, start the
 *   firmware on the pty host connect made, which then answers ping and telnet in a namespace.
 * - The line cut in the middle of an upload: the re-run sends only what is missing and the
 *   result's SHA-256 is right. One chunk corrupted in transit: it is sent again. Corrupted every
 *   time: the upload stops with a checksum error.
 * - The one-line errors: wrong password, no prompt (silence, and garbage), no space left,
 *   base64 missing. And a shell with no login at all (bash under `script`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { openPtyPair } from '../../src/drivers/pty.ts';
import type { Image } from '../../firmware-bridge/host/image.ts';
import { ConsoleBoard, loginUnavailable, servicePid, type Cable } from '../helpers/board-console.ts';
import { imageOrSkip, ROOT } from '../helpers/flash-image.ts';
import { DEVICE_IP, Rig, canUseNetns } from '../helpers/netns.ts';
import { sha256 } from '../../support/pattern.ts';
import { noteSkip, skipWithout } from '../helpers/tools.ts';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `npm run flash -- <args>` as its own process; resolves when it exits. */
function flash(args: string[], env: Record<string, string> = {}): Promise<Run> & { child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'firmware-bridge/host/flash.ts'), ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_BOARD_PASSWORD: '', SLIPSTACK_PASSWORD: '', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return Object.assign(done, { child });
}

function expectOk(r: Run): void {
  expect(r.code, `flash failed:\n${r.out}\n${r.err}`).to.equal(0);
}

/** The x64 tarball's SHA-256 and its chunk count (8 KiB chunks), from the test build (same octets as dist/). */
function hostTarball(image: Image): { sha: string; chunks: number } {
  const t = image.tarballs.find((x) => x.arch === process.arch)!;
  return { sha: t.sha256, chunks: Math.ceil(t.bytes / 8192) };
}

/**
 * An up-filter that changes one character `offset` octets after chunk `index`'s here-document
 * line, the first `times` times the chunk goes up (40: inside the base64; the body's length: the
 * here-document's end marker).
 */
function corruptChunk(cable: Cable, index: number, times: number, offset = 40): () => number {
  const header = `p${String(index).padStart(5, '0')} <<'SLIPSTACK_EOF'\n`;
  let corrupted = 0;
  let searchFrom = 0;
  let bodyAt = -1;
  cable.upFilter = (bytes, before) => {
    if (corrupted >= times) return bytes;
    const text = cable.upText + Buffer.from(bytes).toString('latin1');
    if (bodyAt < 0) {
      const h = text.indexOf(header, searchFrom);
      if (h < 0) return bytes;
      bodyAt = h + header.length + offset;
    }
    if (bodyAt >= before && bodyAt < before + bytes.length) {
      const copy = Uint8Array.from(bytes);
      const i = bodyAt - before;
      copy[i] = copy[i] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B': still base64, different octets
      corrupted++;
      searchFrom = bodyAt;
      bodyAt = -1;
      return copy;
    }
    return bytes;
  };
  return () => corrupted;
}

const loginWhy = loginUnavailable();

(loginWhy === null ? describe : describe.skip)(`flash: over a real login on a pty${loginWhy === null ? '' : ` (skipped: ${loginWhy})`}`, function () {
  this.timeout(120_000);
  let image: Image;
  const boards: ConsoleBoard[] = [];
  const password = `board-${randomBytes(4).toString('hex')}`;

  const ptmxBefore = existsSync('/dev/ptmx') ? statSync('/dev/ptmx').mode & 0o7777 : -1;

  before(async function () {
    if (loginWhy !== null) noteSkip(`console flash tests: ${loginWhy}`);
    image = await imageOrSkip(this);
  });

  after(() => {
    // The machine is left as the suite found it: every user can still open a pty.
    if (ptmxBefore >= 0) expect((statSync('/dev/ptmx').mode & 0o7777).toString(8), '/dev/ptmx mode').to.equal(ptmxBefore.toString(8));
  });

  afterEach(async () => {
    for (const b of boards.splice(0)) {
      const pid = servicePid(join(b.scratch, 'opt/slipstack/slipstack.pid'));
      await b.stop(pid !== null ? [pid] : []);
    }
  });

  async function board(setup?: (scratch: string) => string[]): Promise<ConsoleBoard> {
    const b = await ConsoleBoard.start({ password, ...(setup === undefined ? {} : { setup }) });
    boards.push(b);
    return b;
  }

  (canUseNetns() ? it : it.skip)('logs in, uploads, verifies, unpacks, installs the init script and starts the firmware, which answers ping and telnet through host connect', async () => {
    const b = await board();
    const cable = b.plug();
    const to = join(b.scratch, 'opt/slipstack');
    const rig = new Rig();
    let run: Run | null = null;
    try {
      await rig.start({
        startDevice: async (devicePath) => {
          run = await flash(['--console', cable.hostPath, '--to', to, '--service', devicePath],
            { SLIPSTACK_BOARD_PASSWORD: password, SLIPSTACK_PASSWORD: rig.password });
          expectOk(run);
        },
      });
      const r = run!;
      const { sha, chunks } = hostTarball(image);
      expect(r.out).to.contain('flash: shell on the board: ok');
      expect(r.out).to.contain(`flash: uploaded and checked: sha256 ${sha}`);
      expect(r.out).to.contain(`flash: done: ${chunks} chunks (0 already there, 0 sent again)`);
      expect(r.out).to.contain('it is running now');
      // What the board now has: the release, current, the init script and its rc links, the password file.
      const release = join(to, 'releases', `${image.version}-${sha.slice(0, 12)}`);
      expect(readFileSync(join(to, 'current', 'firmware-bridge.mjs'))).to.deep.equal(Buffer.from(image.files.find((f) => f.path === 'firmware-bridge.mjs')!.data));
      expect(existsSync(join(release, 'slipstack'))).to.equal(true);
      expect(readdirSync(to).filter((n) => n.startsWith('.upload-'))).to.deep.equal([]);
      const init = readFileSync(join(b.scratch, 'etc/init.d/slipstack'), 'utf8');
      expect(init).to.match(new RegExp(`nohup ${to}/current/slipstack --port /dev/pts/\\d+ --baud 115200 >"\\$LOG"`));
      expect(readdirSync(join(b.scratch, 'etc/rc2.d')).some((n) => /^S\d\dslipstack$/.test(n)), 'rc2.d link').to.equal(true);
      expect(statSync(join(to, 'telnet-password')).mode & 0o777).to.equal(0o600);
      expect(readFileSync(join(to, 'telnet-password'), 'utf8')).to.equal(rig.password);
      // The firmware the service started answers through host connect.
      const ping = await rig.execIn('ping', ['-c', '3', '-i', '0.2', '-W', '2', DEVICE_IP]);
      expect(ping.stdout.toString()).to.contain('3 packets transmitted, 3 received, 0% packet loss');
      const c = await rig.shell();
      try {
        expect(await c.command('version')).to.contain(`slipstack firmware ${image.version}`);
        expect(await c.exit()).to.equal(0);
      } finally {
        c.kill();
      }
      // The console is left as it was found: logged out (init would start the next getty).
      expect(b.output).to.match(/logout\r\n$/);
      // The password never went up the line in clear text other than at the Password: prompt, and never into argv.
      expect(cable.upText.split(password).length - 1).to.equal(1);
      expect(cable.upText).to.not.contain(rig.password);
    } finally {
      await rig.stop();
    }
  });

  it('a line cut in the middle of the upload: the re-run sends only the missing chunks, and the result\'s SHA-256 is right', async () => {
    const b = await board();
    const to = join(b.scratch, 'opt/slipstack');
    const { sha, chunks } = hostTarball(image);
    const first = b.plug();
    // Pull the plug about 40% into the upload, in the middle of whatever is going up.
    const cutAt = 300_000 + 37;
    first.upFilter = (bytes, before) => {
      if (before + bytes.length < cutAt) return bytes;
      setImmediate(() => first.cut());
      return bytes.subarray(0, Math.max(0, cutAt - before));
    };
    const cut = await flash(['--console', first.hostPath, '--to', to], { SLIPSTACK_BOARD_PASSWORD: password });
    expect(cut.code).to.equal(1);
    expect(cut.err).to.match(/^flash: the console line went away \(.*\): run the same command again to resume$/m);

    const second = b.plug();
    const again = await flash(['--console', second.hostPath, '--to', to], { SLIPSTACK_BOARD_PASSWORD: password });
    expectOk(again);
    const m = /flash: resuming: (\d+) of (\d+) chunks are on the board already/.exec(again.out);
    expect(m, again.out).to.not.equal(null);
    const reused = Number(m![1]);
    expect(Number(m![2])).to.equal(chunks);
    expect(reused).to.be.greaterThan(chunks / 4).and.lessThan(chunks);
    expect(second.upText.split('base64 -d > p').length - 1, 'chunks sent by the re-run').to.equal(chunks - reused);
    expect(again.out).to.contain(`flash: uploaded and checked: sha256 ${sha}`);
    expect(again.out).to.contain(`flash: done: ${chunks} chunks (${reused} already there, 0 sent again)`);
    const bundle = image.files.find((f) => f.path === 'firmware-bridge.mjs')!;
    expect(createHash('sha256').update(readFileSync(join(to, 'current', 'firmware-bridge.mjs'))).digest('hex')).to.equal(sha256(bundle.data));
  });

  it('one chunk corrupted in transit is sent again, and the upload completes', async () => {
    const b = await board();
    const cable = b.plug();
    const corrupted = corruptChunk(cable, 3, 1);
    const { sha, chunks } = hostTarball(image);
    const r = await flash(['--console', cable.hostPath, '--to', join(b.scratch, 'opt/slipstack')], { SLIPSTACK_BOARD_PASSWORD: password });
    expectOk(r);
    expect(corrupted()).to.equal(1);
    expect(r.out).to.contain(`flash: chunk 4 of ${chunks}: checksum mismatch, sending it again`);
    expect(r.out).to.contain(`flash: done: ${chunks} chunks (0 already there, 1 sent again)`);
    expect(r.out).to.contain(`flash: uploaded and checked: sha256 ${sha}`);
  });

  it('noise on a here-document\'s end: that chunk\'s answer never comes; it and the one it swallowed are sent again', async () => {
    const b = await board();
    const cable = b.plug();
    // 8 KiB of base64 in 76-character lines: 10 924 characters and 144 newlines, then SLIPSTACK_EOF.
    const corrupted = corruptChunk(cable, 3, 1, 10_924 + 144);
    const { sha, chunks } = hostTarball(image);
    const r = await flash(['--console', cable.hostPath, '--to', join(b.scratch, 'opt/slipstack')], { SLIPSTACK_BOARD_PASSWORD: password });
    expectOk(r);
    expect(corrupted()).to.equal(1);
    expect(cable.upText).to.contain('\nALIPSTACK_EOF\n');
    expect(r.out).to.contain(`flash: chunk 4 of ${chunks}: its answer was lost (line noise), sending it again`);
    expect(r.out).to.contain(`flash: chunk 5 of ${chunks}: checksum mismatch, sending it again`);
    expect(r.out).to.contain(`flash: done: ${chunks} chunks (0 already there, 2 sent again)`);
    expect(r.out).to.contain(`flash: uploaded and checked: sha256 ${sha}`);
  });

  it('a chunk corrupted every time: the upload stops with one line naming the chunk', async () => {
    const b = await board();
    const cable = b.plug();
    const corrupted = corruptChunk(cable, 3, 100);
    const { chunks } = hostTarball(image);
    const r = await flash(['--console', cable.hostPath, '--to', join(b.scratch, 'opt/slipstack')], { SLIPSTACK_BOARD_PASSWORD: password });
    expect(r.code).to.equal(1);
    expect(corrupted()).to.equal(3);
    // stderr: the progress lines (no terminal here), then the one line.
    expect(r.err.split('\n').slice(-2)).to.deep.equal([
      `flash: checksum mismatch on chunk 4 of ${chunks} after 3 tries: the line corrupts data (check the cable and ground, or try a lower --baud)`, '']);
  });

  it('a wrong password: one line, and the password never on the command line or in the output', async () => {
    const b = await board();
    const cable = b.plug();
    const r = await flash(['--console', cable.hostPath], { SLIPSTACK_BOARD_PASSWORD: 'not-the-password' });
    expect(r.code).to.equal(1);
    expect(r.err).to.equal(`flash: wrong password for root on ${cable.hostPath} at 115200 baud (the board said: Login incorrect)\n`);
    expect(r.out + r.err).to.not.contain('not-the-password');
  });

  it('no space left on the board: says how much there is and how much the image needs', async () => {
    const b = await board((scratch) => [`mkdir -p ${scratch}/small`, `mount -t tmpfs -o size=256k tmpfs ${scratch}/small`]);
    const cable = b.plug();
    const to = join(b.scratch, 'small/slipstack');
    const r = await flash(['--console', cable.hostPath, '--to', to], { SLIPSTACK_BOARD_PASSWORD: password });
    expect(r.code).to.equal(1);
    expect(r.err).to.match(new RegExp(`^flash: no space left on the board: ${to} has 256 KiB free, the image needs \\d+ KiB \\(\\d+ KiB upload, \\d+ KiB unpacked\\)\\n$`));
  });

  it('base64 missing on the board: says so before sending anything', async () => {
    const b = await board((scratch) => [`: > ${scratch}/no-base64`, `chmod 644 ${scratch}/no-base64`, `mount --bind ${scratch}/no-base64 /usr/bin/base64`]);
    const cable = b.plug();
    const r = await flash(['--console', cable.hostPath, '--to', join(b.scratch, 'opt/slipstack')], { SLIPSTACK_BOARD_PASSWORD: password });
    expect(r.code).to.equal(1);
    expect(r.err).to.equal('flash: base64 missing on the board: the upload needs `base64 -d` (busybox with base64 enabled, or coreutils)\n');
    expect(cable.upText).to.not.contain('base64 -d > p');
  });
});

describe('flash: consoles that do not answer, and a shell with no login', function () {
  this.timeout(120_000);
  let image: Image;

  before(async function () {
    image = await imageOrSkip(this);
  });

  for (const kind of ['silent', 'garbage'] as const) {
    it(`no prompt seen (${kind === 'silent' ? 'nothing at all' : 'garbage, as at a wrong baud'}): one line with what was seen`, async () => {
      const pty = openPtyPair();
      const far = new FdLink(pty.masterFd, { closeFd: false, name: 'far end' });
      const noise = Uint8Array.from([0xf8, 0x80, 0x00, 0x8e, 0xfe, 0x66]);
      const scratch = new Uint8Array(4096);
      far.onActivity(() => {
        while (far.read(0, scratch, 0, scratch.length) > 0) if (kind === 'garbage') far.write(0, noise, 0, noise.length);
      });
      try {
        const r = await flash(['--console', pty.slavePath]);
        expect(r.code).to.equal(1);
        if (kind === 'silent') {
          expect(r.err).to.equal(`flash: no shell prompt seen on ${pty.slavePath} at 115200 baud (saw: nothing at all: check the cable ` +
            '(TX and RX crossed, GND), the baud rate, and that this UART is the console)\n');
        } else {
          expect(r.err).to.match(new RegExp(`^flash: no shell prompt seen on ${pty.slavePath} at 115200 baud \\(saw: '[^']*(\\\\xf8\\\\x80\\\\x00\\\\x8e\\\\xfef)+'\\)\\n$`));
        }
      } finally {
        await far.close();
        pty.close();
      }
    });
  }

  it('a shell with no login (bash under script): flashes, and leaves the terminal echoing again', async function () {
    skipWithout(this, 'script');
    const b = await ConsoleBoard.start({ password: '', mode: 'script' });
    try {
      const cable = b.plug();
      const r = await flash(['--console', cable.hostPath, '--to', join(b.scratch, 'opt/slipstack')]);
      expectOk(r);
      expect(r.out).to.contain(`flash: uploaded and checked: sha256 ${hostTarball(image).sha}`);
      // Echo is back on: what is typed is shown again.
      const before = b.output.length;
      await b.type('echo left-as-found\n');
      const shown = (): string => b.output.slice(before).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      await waitUntil(() => /echo left-as-found\nleft-as-found\n/.test(shown()), 5000);
    } finally {
      await b.stop();
    }
  });
});

async function waitUntil(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
