/**
 * The host side's address check (firmware-bridge/host/addresses.ts) and the forward flags: a
 * pair is refused when either address is local or lies in a routed network, the default route
 * is no clash, and npm start's pick walks the documented list.
 */
import { expect } from 'chai';
import { CliError, parseForwards, parseHostConnectArgs } from '../../firmware-bridge/cli.ts';
import { describeClash, findClash, firstFreePair, localNets, parseProcRoutes, type LocalNet } from '../../firmware-bridge/host/addresses.ts';
import { LINK_ADDRESS_PAIRS, USER_NET_FORWARDS } from '../../firmware-bridge/limits.ts';
import { formatIpv4, ipv4Address } from '../../src/wire/ipv4.ts';

const ip = ipv4Address;
const pair = (host: string, device: string) => ({ hostIp: ip(host), deviceIp: ip(device) });
/** lo holding 192.0.2.2/24 (the clash test's namespace) and 127.0.0.1/8. */
const loHolds: LocalNet[] = [
  { iface: 'lo', address: ip('127.0.0.1'), network: ip('127.0.0.0'), prefixLen: 8 },
  { iface: 'lo', address: ip('192.0.2.2'), network: ip('192.0.2.0'), prefixLen: 24 },
];

describe('host side addresses', () => {
  it('an address the machine holds is a local clash naming the interface', () => {
    const c = findClash(pair('192.0.2.1', '192.0.2.2'), loHolds)!;
    expect(c).to.deep.equal({ address: ip('192.0.2.2'), iface: 'lo', kind: 'local' });
    expect(describeClash(c)).to.equal('192.0.2.2 is already an address of this machine (interface lo)');
  });

  it("an address in an interface's subnet or a routed network is a route clash", () => {
    expect(findClash(pair('192.0.2.5', '192.0.2.6'), loHolds)).to.deep.equal({ address: ip('192.0.2.5'), iface: 'lo', kind: 'route' });
    const routes = parseProcRoutes('Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'eth1\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n');
    // The default route (mask 0) is left out: it covers everything and clashes with nothing.
    expect(routes).to.deep.equal([{ iface: 'eth1', address: null, network: ip('198.51.100.0'), prefixLen: 24 }]);
    expect(describeClash(findClash(pair('198.51.100.1', '198.51.100.2'), routes)!)).to.equal('198.51.100.1 is already routed over interface eth1');
    expect(findClash(pair('203.0.113.1', '203.0.113.2'), routes)).to.equal(null);
  });

  it('the first free pair skips every pair in a range the machine holds', () => {
    expect(LINK_ADDRESS_PAIRS[0]).to.deep.equal(['192.0.2.1', '192.0.2.2']);
    expect(firstFreePair([])).to.deep.equal(pair('192.0.2.1', '192.0.2.2'));
    const p = firstFreePair(loHolds)!;
    expect([formatIpv4(p.hostIp), formatIpv4(p.deviceIp)]).to.deep.equal(['198.51.100.1', '198.51.100.2']);
    const all: LocalNet[] = ['192.0.2.0', '198.51.100.0', '203.0.113.0'].map((n) => ({ iface: 'x', address: null, network: ip(n), prefixLen: 24 }));
    expect(firstFreePair(all)).to.equal(null);
  });

  it('reads this machine without root or `ip` (loopback is always there)', () => {
    expect(localNets().some((n) => n.address === ip('127.0.0.1'))).to.equal(true);
  });
});

describe('host connect --user-net flags', () => {
  it('--forward adds to or replaces the default forwards; --bind defaults to 127.0.0.1', () => {
    const c = parseHostConnectArgs(['--pty', '--user-net', '--forward', '2323:80', '--forward', '4000:7'])!;
    expect(c.userNet).to.equal(true);
    expect(c.bind).to.equal('127.0.0.1');
    const map = new Map(c.forwards.map((f) => [f.hostPort, f.devicePort]));
    expect(map.get(2323)).to.equal(80);
    expect(map.get(4000)).to.equal(7);
    expect(map.size).to.equal(USER_NET_FORWARDS.length + 1);
    expect(parseForwards([]).map((f) => [f.hostPort, f.devicePort])).to.deep.equal(USER_NET_FORWARDS.map(([h, d]) => [h, d]));
  });

  it('refuses bad forwards, a bad --bind, and forwards without --user-net', () => {
    expect(() => parseForwards(['23'])).to.throw(CliError, /--forward wants HOST:DEVICE/);
    expect(() => parseForwards(['70000:23'])).to.throw(CliError, /--forward/);
    expect(() => parseHostConnectArgs(['--pty', '--user-net', '--bind', 'everywhere'])).to.throw(CliError, /--bind wants an IPv4 address/);
    expect(() => parseHostConnectArgs(['--pty', '--forward', '1:2'])).to.throw(CliError, /go with --user-net/);
  });
});
