/**
 * Real peer: Linux `ping` from the namespace to the device (issue 4 §5). The device answers
 * every request of a fast run, and requests larger than the link MTU (1006), which the kernel
 * fragments, are reassembled by the device and answered with fragments of its own.
 */
import { expect } from 'chai';
import { DEVICE_IP, Rig, interopDescribe } from '../helpers/netns.ts';

/** `name value` from the shell's stats output. */
function counter(stats: string, section: string, name: string): number {
  const block = stats.split(/\r\n(?=\S)/).find((b) => b.startsWith(`${section}:`)) ?? '';
  const m = new RegExp(`\\s${name} (\\d+)`).exec(block);
  if (m === null) throw new Error(`no ${section}.${name} in:\n${stats}`);
  return Number(m[1]);
}

async function deviceStats(rig: Rig): Promise<string> {
  const c = await rig.shell();
  try {
    const out = await c.command('stats');
    await c.exit();
    return out;
  } finally {
    c.kill();
  }
}

interopDescribe('interop: ping the device', function () {
  this.timeout(60_000);
  const rig = new Rig();

  before(async () => {
    await rig.start();
  });

  after(async () => {
    await rig.stop();
  });

  it('ping -c 20 -i 0.2: every request answered (0% loss)', async () => {
    const r = await rig.execIn('ping', ['-c', '20', '-i', '0.2', '-W', '2', DEVICE_IP]);
    const out = r.stdout.toString();
    expect(out).to.contain('20 packets transmitted, 20 received, 0% packet loss');
    expect(out.match(/^64 bytes from 192\.0\.2\.2: icmp_seq=\d+ ttl=\d+ time=/gm)).to.have.length(20);
    expect(out).not.to.contain('DUP!');
    await rig.assertClean();
  });

  for (const size of [1400, 3000]) {
    it(`ping -s ${size}: fragmented requests reassembled by the device, fragmented replies reassembled by Linux`, async () => {
      const before = await deviceStats(rig);
      const r = await rig.execIn('ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', String(size), DEVICE_IP]);
      const out = r.stdout.toString();
      expect(out).to.contain('3 packets transmitted, 3 received, 0% packet loss');
      expect(out.match(new RegExp(`^${size + 8} bytes from 192\\.0\\.2\\.2: icmp_seq=\\d+`, 'gm'))).to.have.length(3);
      const after = await deviceStats(rig);
      // Each datagram of 20 + 8 + size octets crosses an MTU of 1006 as ceil((8 + size) / 984) fragments.
      const perDatagram = Math.ceil((8 + size) / 984);
      expect(counter(after, 'ip', 'fragments') - counter(before, 'ip', 'fragments'), 'fragments received').to.equal(3 * perDatagram);
      expect(counter(after, 'ip', 'fragSent') - counter(before, 'ip', 'fragSent'), 'fragments sent').to.equal(3 * perDatagram);
      expect(counter(after, 'icmp', 'echoReplied') - counter(before, 'icmp', 'echoReplied')).to.equal(3);
      await rig.assertClean();
    });
  }
});
