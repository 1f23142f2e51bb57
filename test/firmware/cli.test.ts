import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, parseFirmwareArgs, parseHostConnectArgs } from '../../firmware-bridge/cli.ts';
import { firmwareSpawn } from '../../firmware-bridge/start-plan.ts';
import { ipv4Address } from '../../src/wire/ipv4.ts';

describe('firmware and host connect flags', () => {
  it('applies the documented defaults', () => {
    const c = parseFirmwareArgs(['--port', '/dev/pts/9'], {})!;
    expect(c.port).to.equal('/dev/pts/9');
    expect(c.baud).to.equal(115200);
    expect(c.ip).to.equal(ipv4Address('192.0.2.2'));
    expect(c.peer).to.equal(ipv4Address('192.0.2.1'));
    expect(c.mtu).to.equal(1006);
    expect(c.password).to.equal(null);
    expect(c.rtscts).to.equal(false);
    // Adaptive: works with every slattach -p mode without a flag.
    expect(c.proto).to.equal('adaptive');
    // Host connect compresses by default, as slattach does.
    expect(parseHostConnectArgs(['--pty'])!.proto).to.equal('cslip');
    for (const p of ['slip', 'cslip', 'adaptive']) {
      expect(parseFirmwareArgs(['--port', 'x', '--proto', p], {})!.proto).to.equal(p);
      expect(parseHostConnectArgs(['--pty', '--proto', p])!.proto).to.equal(p);
    }
    expect(() => parseHostConnectArgs(['--pty', '--proto', 'ppp'])).to.throw(CliError, /--proto wants slip, cslip or adaptive/);
  });

  it('takes the password from SLIPSTACK_PASSWORD when --password is absent, and --password wins', () => {
    expect(parseFirmwareArgs(['--port', 'x'], { SLIPSTACK_PASSWORD: 'env' })!.password).to.equal('env');
    expect(parseFirmwareArgs(['--port', 'x', '--password', 'flag'], { SLIPSTACK_PASSWORD: 'env' })!.password).to.equal('flag');
  });

  it('--password-file reads the first line; never together with --password; its contents stay out of errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipstack-pw-'));
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, 'from file\nsecond line\n', { mode: 0o600 });
      expect(parseFirmwareArgs(['--port', 'x', '--password-file', file], { SLIPSTACK_PASSWORD: 'env' })!.password).to.equal('from file');
      expect(() => parseFirmwareArgs(['--port', 'x', '--password-file', file, '--password', 'p'], {})).to.throw(CliError, /not both/);
      expect(() => parseFirmwareArgs(['--port', 'x', '--password-file', join(dir, 'none')], {})).to.throw(CliError, /cannot read .*ENOENT/);
      writeFileSync(file, '\nhidden\n');
      expect(() => parseFirmwareArgs(['--port', 'x', '--password-file', file], {})).to.throw(CliError, /first line .* is empty/)
        .with.property('message').that.does.not.contain('hidden');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm start hands the password to the firmware in its environment, never in its argv (ps shows argv)', () => {
    const plan = firmwareSpawn('/dev/pts/7', 'hunter2 secret', ['--baud', '9600'], { PATH: '/bin', SLIPSTACK_PASSWORD: 'old' });
    expect(plan.args).to.deep.equal(['--port', '/dev/pts/7', '--baud', '9600']);
    expect(plan.args.join(' ')).not.to.contain('hunter2');
    expect(plan.env).to.deep.equal({ PATH: '/bin', SLIPSTACK_PASSWORD: 'hunter2 secret' });
    // The firmware takes it from there.
    expect(parseFirmwareArgs(plan.args, plan.env)!.password).to.equal('hunter2 secret');
  });

  it('--idle-timeout: seconds, default 900 (15 minutes), 0 turns it off', () => {
    expect(parseFirmwareArgs(['--port', 'x'], {})!.idleTimeoutS).to.equal(900);
    expect(parseFirmwareArgs(['--port', 'x', '--idle-timeout', '0'], {})!.idleTimeoutS).to.equal(0);
    expect(() => parseFirmwareArgs(['--port', 'x', '--idle-timeout', '-5'], {})).to.throw(CliError, /idle-timeout/);
  });

  it('returns null for --help', () => {
    expect(parseFirmwareArgs(['--help'], {})).to.equal(null);
    expect(parseHostConnectArgs(['--help'])).to.equal(null);
  });

  const bad: [string[], RegExp][] = [
    [[], /--port is required/],
    [['--port', 'x', '--baud', 'fast'], /--baud wants a whole number/],
    [['--port', 'x', '--mtu', '40'], /--mtu must be between 68 and 65535/],
    [['--port', 'x', '--ip', '300.1.1.1'], /--ip wants an IPv4 address/],
    [['--port', 'x', '--ip', '192.0.2.1'], /both 192.0.2.1/],
    [['--port', 'x', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['--port', 'x', '--password', ''], /password is empty/],
    [['--port', 'x', '--drop', '120'], /percentage/],
    [['--port', 'x', '--proto', 'kiss'], /--proto wants slip, cslip or adaptive \(as slattach -p\), got 'kiss'/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${JSON.stringify(args)} with one clear line`, () => {
      expect(() => parseFirmwareArgs(args, {})).to.throw(CliError, message);
    });
  }

  it('host connect wants exactly one of --port and --pty, and a sane interface name', () => {
    expect(() => parseHostConnectArgs([])).to.throw(CliError, /exactly one of --port PATH or --pty/);
    expect(() => parseHostConnectArgs(['--pty', '--port', 'x'])).to.throw(CliError, /exactly one/);
    expect(() => parseHostConnectArgs(['--pty', '--tun', 'a/b'])).to.throw(CliError, /--tun/);
    const c = parseHostConnectArgs(['--pty'])!;
    expect(c.tun).to.equal('slip0');
    expect(c.hostIp).to.equal(ipv4Address('192.0.2.1'));
    expect(c.deviceIp).to.equal(ipv4Address('192.0.2.2'));
  });
});
