/**
 * `npm run connect`: the exact commands of the kernel-SLIP path (slattach with -L, -p, -s or
 * stty first, then the addresses and MTU; this machine's kernel has no SLIP driver, so they are
 * checked, not run), and the host-connect path for real in a network namespace: the firmware on
 * one end of a null-modem pty pair, `connect` on the other, the board's first ping, `--down`.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { addressCommands, hostConnectCommand, parseConnectArgs, slattachCommands, type ConnectConfig } from '../../firmware-bridge/host/connect.ts';
import { ROOT } from '../helpers/flash-image.ts';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

function config(args: string[]): ConnectConfig {
  return parseConnectArgs(['--port', '/dev/ttyUSB1', ...args])!;
}

describe('flash: connect, the commands it runs', () => {
  it('kernel SLIP at 115200: slattach -L -p slip -s 115200, then the addresses and the MTU on its sl interface', () => {
    const c = config([]);
    expect(slattachCommands(c, 'loaded')).to.deep.equal([['slattach', '-L', '-p', 'slip', '-s', '115200', '/dev/ttyUSB1']]);
    expect(addressCommands(c, 'sl0')).to.deep.equal([
      ['ip', 'addr', 'add', '192.0.2.1', 'peer', '192.0.2.2', 'dev', 'sl0'],
      ['ip', 'link', 'set', 'sl0', 'mtu', '1006', 'up'],
    ]);
  });

  it('a slip module not loaded yet: modprobe slip first', () => {
    expect(slattachCommands(config([]), 'module')[0]).to.deep.equal(['modprobe', 'slip']);
  });

  it('921600 baud: stty sets the speed (slattach\'s table stops at 115200), slattach runs without -s', () => {
    expect(slattachCommands(config(['--baud', '921600']), 'loaded')).to.deep.equal([
      ['stty', '-F', '/dev/ttyUSB1', '921600', 'clocal', '-crtscts'],
      ['slattach', '-L', '-p', 'slip', '/dev/ttyUSB1'],
    ]);
  });

  it('--rtscts drops -L (slattach then turns RTS/CTS on); --proto adaptive and other addresses pass through', () => {
    const c = config(['--rtscts', '--proto', 'adaptive', '--host-ip', '198.51.100.1', '--device-ip', '198.51.100.2', '--mtu', '296']);
    expect(slattachCommands(c, 'loaded')).to.deep.equal([['slattach', '-p', 'adaptive', '-s', '115200', '/dev/ttyUSB1']]);
    expect(addressCommands(c, 'sl3')).to.deep.equal([
      ['ip', 'addr', 'add', '198.51.100.1', 'peer', '198.51.100.2', 'dev', 'sl3'],
      ['ip', 'link', 'set', 'sl3', 'mtu', '296', 'up'],
    ]);
  });

  it('without kernel SLIP: host connect with the same line, addresses and MTU', () => {
    const cmd = hostConnectCommand(config(['--baud', '921600']), 'slip0');
    expect(cmd.slice(3)).to.deep.equal([join(ROOT, 'firmware-bridge', 'host-connect.ts'), '--port', '/dev/ttyUSB1', '--baud', '921600',
      '--tun', 'slip0', '--host-ip', '192.0.2.1', '--device-ip', '192.0.2.2', '--mtu', '1006']);
  });

  it('mistakes are one line: no --port, a bad --proto, the same address twice', () => {
    expect(() => parseConnectArgs([])).to.throw('--port is required');
    expect(() => config(['--proto', 'ppp'])).to.throw("--proto wants slip, cslip or adaptive, got 'ppp'");
    expect(() => config(['--host-ip', '192.0.2.2'])).to.throw('--host-ip and --device-ip must differ');
  });
});

interface Done {
  code: number | null;
  out: string;
  err: string;
}

function runIn(ns: string, args: string[]): Promise<Done> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(ROOT, 'firmware-bridge/host/connect.ts'), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

function waitLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${re} in ${ms} ms: ${text}`)), ms);
    const on = (d: Buffer): void => {
      text += d.toString();
      const m = re.exec(text);
      if (m !== null) {
        clearTimeout(t);
        resolve(m);
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
  });
}

interopDescribe('flash: connect in a network namespace (host connect over TUN)', function () {
  this.timeout(60_000);
  const rig = new Rig();
  let wire: ChildProcess | null = null;
  let firmware: ChildProcess | null = null;
  let hostPort = '';

  before(async () => {
    execFileSync('ip', ['netns', 'add', rig.ns]);
    execFileSync('ip', ['-n', rig.ns, 'link', 'set', 'lo', 'up']);
    // The cable: two ptys, TX and RX crossed. The board: the firmware on one end.
    wire = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'hw/null-modem.ts'), 'pair'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const m = await waitLine(wire, /ports (\/dev\/pts\/\d+) <-> (\/dev\/pts\/\d+)/, 15_000);
    hostPort = m[2]!;
    firmware = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'firmware-bridge/firmware.ts'), '--port', m[1]!],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPSTACK_PASSWORD: rig.password } });
    await waitLine(firmware, /ready/, 15_000);
  });

  after(async () => {
    await runIn(rig.ns, ['--port', hostPort, '--down']).catch(() => undefined);
    firmware?.kill('SIGTERM');
    wire?.kill('SIGTERM');
    await rig.stop();
  });

  it('brings the link up, waits for the board\'s first ping, says what to try; a second connect on the port is refused', async () => {
    const r = await runIn(rig.ns, ['--port', hostPort]);
    expect(r.code, r.out + r.err).to.equal(0);
    expect(r.out).to.contain('connect: this kernel has no SLIP driver: host connect over TUN instead');
    expect(r.out).to.match(/connect: up: 192\.0\.2\.1 peer 192\.0\.2\.2 dev slip0 mtu 1006 \(host connect over TUN, pid \d+/);
    expect(r.out).to.match(/connect: the board answered ping after \d+\.\d s\. Try:/);
    expect(r.out).to.contain(`connect: take it down with:  sudo npm run connect -- --port ${hostPort} --down`);
    const ping = await rig.execIn('ping', ['-c', '3', '-i', '0.2', '-W', '2', DEVICE_IP]);
    expect(ping.stdout.toString()).to.contain('3 packets transmitted, 3 received, 0% packet loss');
    const again = await runIn(rig.ns, ['--port', hostPort]);
    expect(again.code).to.equal(1);
    expect(again.err).to.equal(`connect: ${hostPort} is connected already (slip0): --down first\n`);
  });

  it('--down stops host connect: the TUN interface is gone and the port is free again', async () => {
    const r = await runIn(rig.ns, ['--port', hostPort, '--down']);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal(`connect: down: slip0 (host connect) on ${hostPort} stopped\n`);
    expect(spawnSync('ip', ['-n', rig.ns, 'link', 'show', 'slip0']).status).to.not.equal(0);
    expect(existsSync(`/run/slipstack/connect-${hostPort.slice(5).replace('/', '-')}.json`)).to.equal(false);
    const twice = await runIn(rig.ns, ['--port', hostPort, '--down']);
    expect(twice.out).to.match(/^connect: nothing to take down on /);
  });

  it('an address already in use is refused before anything starts', async () => {
    execFileSync('ip', ['-n', rig.ns, 'addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
    try {
      const r = await runIn(rig.ns, ['--port', hostPort]);
      expect(r.code).to.equal(1);
      expect(r.err).to.equal('connect: 192.0.2.1 is already on lo: pick a free pair with --host-ip/--device-ip (and flash the board with the same --ip/--peer)\n');
    } finally {
      execFileSync('ip', ['-n', rig.ns, 'addr', 'del', '192.0.2.1/32', 'dev', 'lo']);
    }
  });
});
