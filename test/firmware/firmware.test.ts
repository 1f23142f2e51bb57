/**
 * The firmware as a user runs it: its own process on a real pty, its messages, its exit codes.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function firmware(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'firmware-bridge/firmware.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: '', ...env },
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, out: () => text, exit: new Promise((r) => child.on('exit', (code) => r(code))) };
}

async function waitFor(run: Run, re: RegExp, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(run.out())) {
    if (run.child.exitCode !== null || Date.now() - t0 > ms) throw new Error(`no ${re} in: ${run.out()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('firmware process', function () {
  this.timeout(60_000);
  let pty: PtyHandles | null = null;

  afterEach(() => {
    pty?.close();
    pty = null;
  });

  it('refuses a missing port with one line naming the fix, exit 1', async () => {
    const run = firmware(['--port', '/dev/does-not-exist', '--password', 'x']);
    expect(await run.exit).to.equal(1);
    expect(run.out().trim()).to.equal('firmware: no such port /dev/does-not-exist: check the path (ls /dev/tty*)');
  });

  it('refuses a bad flag with one line and exit 2', async () => {
    const run = firmware(['--port', 'x', '--mtu', 'big']);
    expect(await run.exit).to.equal(2);
    expect(run.out().trim()).to.equal("firmware: --mtu wants a whole number, got 'big'");
  });

  it('without a password says telnet is off and why, and still serves the rest', async () => {
    pty = openPtyPair();
    const run = firmware(['--port', pty.slavePath]);
    await waitFor(run, /ready/);
    expect(run.out()).to.match(/telnet is off: no password \(give --password or SLIPSTACK_PASSWORD, or --insecure-no-login\)/);
    expect(run.out()).to.match(/listening: echo 7 \(TCP and UDP\), discard 9, chargen 19/);
    run.child.kill('SIGTERM');
    expect(await run.exit).to.equal(0);
  });

  it('SIGTERM closes cleanly with exit 0 and a summary', async () => {
    pty = openPtyPair();
    const run = firmware(['--port', pty.slavePath], { SLIPSTACK_PASSWORD: 'from-env' });
    await waitFor(run, /ready/);
    expect(run.out()).to.match(/listening: telnet 23, echo 7/);
    run.child.kill('SIGTERM');
    expect(await run.exit).to.equal(0);
    expect(run.out()).to.match(/SIGTERM: closing connections/);
    expect(run.out()).to.match(/stopped: \d+ frames in, \d+ out/);
  });
});
