import { expect } from 'chai';
import { CliError, parseFirmwareArgs, parseHostConnectArgs } from '../../firmware-bridge/cli.ts';
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
