/**
 * Real peer: the Linux kernel's own SLIP driver (Debian's `slip.ko` and `slhc.ko`, the VJ
 * compression every `slattach` user runs), booted in QEMU (test/helpers/linux-guest.ts), with
 * net-tools' `slattach` on the guest's serial port and the firmware, with no flags but its port
 * and password, on the other end of that port. For every mode a user can type (`slattach`
 * with no -p, which is cslip; -p cslip; -p adaptive; -p slip), at Linux's default MTU (296)
 * and at 1006: ping, a telnet login, echo 1 MiB (SHA-256), discard 4 MiB, chargen after a
 * half-close, with busybox's ping, telnet and nc inside the guest. Then an MTU mismatch, which
 * must be a counted drop with a hint. One boot for the suite; the firmware restarts per mode.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { CHARGEN_LINE_LEN, CHARGEN_PERIOD, chargenLine } from '../../firmware-bridge/services/chargen.ts';
import { LinuxGuest, buildGuest, guestDescribe } from '../helpers/linux-guest.ts';
import { type Proc, track } from '../helpers/netns.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIRMWARE = join(ROOT, 'firmware-bridge', 'firmware.ts');
const DEVICE = '192.0.2.2';
const PROMPT = 'slipstack> ';
const MiB = 1024 * 1024;

/** SHA-256 of the first `len` octets of the RFC 864 stream chargen sends. */
function chargenSha256(len: number): string {
  const period = new Uint8Array(CHARGEN_PERIOD);
  for (let line = 0; line < 95; line++) chargenLine(line, period, line * CHARGEN_LINE_LEN);
  const h = createHash('sha256');
  for (let at = 0; at < len; at += CHARGEN_PERIOD) h.update(period.subarray(0, Math.min(CHARGEN_PERIOD, len - at)));
  return h.digest('hex');
}

/** The firmware's last line (after SIGTERM), parsed. */
interface FirmwareCounts {
  echoed: number;
  discarded: number;
  chargen: number;
  compressing: boolean;
  compressedOut: number;
  compressedIn: number;
  oversize: number;
}

function parseStopped(out: string): FirmwareCounts {
  const m = /echoed (\d+) octets, discarded (\d+), chargen sent (\d+);.*proto \w+( \(compressing\))?: headers compressed (\d+) out, (\d+) in, \d+ tossed; (\d+) frames larger than MTU/.exec(out);
  if (m === null) throw new Error(`no counters in the firmware's output:\n${out}`);
  return {
    echoed: Number(m[1]), discarded: Number(m[2]), chargen: Number(m[3]), compressing: m[4] !== undefined,
    compressedOut: Number(m[5]), compressedIn: Number(m[6]), oversize: Number(m[7]),
  };
}

guestDescribe('interop: the Linux kernel\'s SLIP driver (slip.ko in QEMU), every slattach -p mode, firmware with no flags', function () {
  this.timeout(300_000);
  const password = 'guest-' + randomBytes(4).toString('hex');
  let dir = '';
  let guest: LinuxGuest | null = null;
  let firmware: Proc | null = null;

  before(async function () {
    this.timeout(240_000);
    dir = mkdtempSync(join(tmpdir(), 'slipstack-guest-'));
    guest = new LinuxGuest(buildGuest(), dir);
    await guest.start();
    const uname = await guest.sh('uname -r');
    expect(uname.trim()).to.equal(guest.image.version);
    expect(await guest.sh('lsmod')).to.match(/\bslip\b[\s\S]*\bslhc\b|\bslhc\b[\s\S]*\bslip\b/);
  });

  after(async () => {
    await stopFirmware();
    await guest?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function startFirmware(extra: string[] = []): Promise<void> {
    firmware = track(spawn('node', ['--import', 'tsx', FIRMWARE, '--port', guest!.linePath, ...extra],
      { cwd: ROOT, env: { ...process.env, SLIPSTACK_PASSWORD: password } }));
    await firmware.waitFor(/ready/, 30_000);
  }

  /** SIGTERM to the firmware; its output once it has exited. */
  async function stopFirmware(): Promise<string> {
    const fw = firmware;
    if (fw === null) return '';
    firmware = null;
    if (fw.child.exitCode === null && fw.child.signalCode === null) fw.child.kill('SIGTERM');
    const t = setTimeout(() => fw.child.kill('SIGKILL'), 10_000);
    const code = await fw.exited;
    clearTimeout(t);
    expect(code, fw.err).to.equal(0);
    return fw.out;
  }

  /** Runs `slattach` on the guest's serial port as a user would, and brings sl0 up (at `mtu`, or Linux's default). */
  async function attach(args: string, mtu: number | null): Promise<void> {
    const g = guest!;
    await g.run('killall slattach 2>/dev/null; while ip link show sl0 >/dev/null 2>&1; do sleep 0.1; done');
    await g.sh(`slattach ${args} /dev/ttyS0 >/tmp/slattach.log 2>&1 &`);
    await g.sh('for i in $(seq 100); do ip link show sl0 >/dev/null 2>&1 && break; sleep 0.1; done; ip link show sl0');
    await g.sh(`ip addr add 192.0.2.1 peer ${DEVICE} dev sl0 && ip link set sl0 up${mtu !== null ? ` mtu ${mtu}` : ''}`);
    const link = await g.sh('ip link show sl0');
    expect(link).to.contain(`mtu ${mtu ?? 296} `);
  }

  /** The link answers ping (the first may go while the firmware's port is still opening). */
  async function pingable(): Promise<void> {
    const g = guest!;
    for (let i = 0; i < 20; i++) {
      if ((await g.run(`ping -c 1 -W 1 ${DEVICE}`)).status === 0) break;
    }
    const r = await g.sh(`ping -c 3 -W 2 ${DEVICE}`);
    expect(r).to.contain('3 packets transmitted, 3 packets received');
  }

  /** A telnet session with busybox telnet: log in, ifconfig, stats, exit. Returns what ifconfig and stats printed. */
  async function telnetSession(): Promise<{ ifconfig: string; stats: string }> {
    const g = guest!;
    // While telnet reads the channel, keep it alive with NUL, which the device's shell ignores.
    g.keepalive = '\0';
    const session = g.begin(`telnet ${DEVICE}`);
    await g.waitFor(/Password: /, 20_000);
    g.type(`${password}\n`);
    await g.waitFor(/Logged in\.[^\n]*\n[\s\S]*?slipstack> /, 15_000);
    const command = async (line: string): Promise<string> => {
      g.type(`${line}\n`);
      const m = await g.waitFor(new RegExp(`${line}\\r?\\n([\\s\\S]*?)${PROMPT}`), 15_000);
      return m[1]!;
    };
    const ifconfig = await command('ifconfig');
    const stats = await command('stats');
    g.type('exit\n');
    const r = await session.finished(15_000);
    g.keepalive = '\n';
    expect(r.out).to.contain('logout');
    return { ifconfig, stats };
  }

  const modes: { args: string; label: string; compresses: boolean }[] = [
    { args: '', label: 'slattach with no -p (cslip, its default)', compresses: true },
    { args: '-p cslip', label: 'slattach -p cslip', compresses: true },
    { args: '-p adaptive', label: 'slattach -p adaptive', compresses: false },
    { args: '-p slip', label: 'slattach -p slip', compresses: false },
  ];
  // At Linux's default MTU as a new user types it (no -p: cslip), adaptive and slip; then the
  // three explicit modes at 1006.
  const runs = [
    ...[modes[0]!, modes[2]!, modes[3]!].map((m) => ({ ...m, mtu: null as number | null })),
    ...modes.slice(1).map((m) => ({ ...m, mtu: 1006 as number | null })),
  ];

  for (const run of runs) {
    const mtuLabel = run.mtu === null ? 'MTU 296 (the default)' : `MTU ${run.mtu}`;
    it(`${run.label}, ${mtuLabel}: ping, telnet login, echo 1 MiB (SHA-256), discard 4 MiB, chargen 64 KiB after a half-close`, async () => {
      const g = guest!;
      await startFirmware();
      await attach(run.args, run.mtu);
      await pingable();

      const { ifconfig, stats } = await telnetSession();
      const proto = run.compresses
        ? 'proto adaptive: compressing TCP/IP headers (RFC 1144), switched on by the peer\'s first compressed frame'
        : 'proto adaptive: plain SLIP until the peer sends a compressed frame';
      expect(ifconfig).to.contain(proto);
      expect(stats).to.contain(proto);
      expect(stats).to.match(/vj\.in\.compressed \d+/);
      expect(stats).to.match(/vj\.in\.tossed \d+/);
      expect(stats).to.match(/vj\.out\.misses \d+/);

      // echo: 1 MiB of random data; nc sends its FIN at the end of its input.
      const echo = await g.sh(`head -c ${MiB} /dev/urandom > /tmp/echo.in && sha256sum < /tmp/echo.in && nc ${DEVICE} 7 < /tmp/echo.in | sha256sum`, 240_000);
      const sums = echo.trim().split(/\s+/).filter((w) => /^[0-9a-f]{64}$/.test(w));
      expect(sums).to.have.length(2);
      expect(sums[1], 'echoed SHA-256').to.equal(sums[0]);

      await g.sh(`head -c ${4 * MiB} /dev/urandom | nc ${DEVICE} 9`, 240_000);

      // busybox nc half-closes at the end of its (empty) input: chargen must keep going.
      const cg = await g.sh(`nc ${DEVICE} 19 < /dev/null | head -c 65536 > /tmp/cg; wc -c < /tmp/cg; sha256sum < /tmp/cg`, 120_000);
      expect(cg).to.match(/^\s*65536\s/);
      expect(cg).to.contain(chargenSha256(65536));

      // Linux saw no bad frames.
      const errors = await g.sh('cd /sys/class/net/sl0/statistics && echo $(cat rx_errors rx_over_errors rx_dropped rx_packets)');
      const [rxErrors, rxOver, rxDropped, rxPackets] = errors.trim().split(' ').map(Number);
      expect([rxErrors, rxOver, rxDropped], 'Linux rx_errors, rx_over_errors, rx_dropped').to.deep.equal([0, 0, 0]);
      expect(rxPackets).to.be.greaterThan(1000);
      // Every segment Linux rebuilt from our compressed headers passed TCP's checksum.
      const snmp = await g.sh('grep ^Tcp: /proc/net/snmp');
      const [names, values] = snmp.trim().split('\n').map((l) => l.trim().split(/\s+/));
      const tcp = Object.fromEntries(names!.map((n, i) => [n, Number(values![i])]));
      expect(tcp['InCsumErrors'], `Linux TCP checksum errors:\n${snmp}`).to.equal(0);
      expect(tcp['InErrs'], `Linux TCP input errors:\n${snmp}`).to.equal(0);

      const counts = parseStopped(await stopFirmware());
      expect(counts.echoed).to.equal(MiB);
      expect(counts.discarded).to.equal(4 * MiB);
      expect(counts.chargen).to.be.at.least(65536);
      expect(counts.oversize).to.equal(0);
      expect(counts.compressing, 'compression in force').to.equal(run.compresses);
      if (run.compresses) {
        expect(counts.compressedIn, 'compressed frames from Linux').to.be.greaterThan(1000);
        expect(counts.compressedOut, 'compressed frames to Linux').to.be.greaterThan(1000);
      } else {
        expect(counts.compressedIn + counts.compressedOut).to.equal(0);
      }
      if (run.args === '-p adaptive' && run.mtu === null) {
        // Two adaptive ends wait for each other: Linux never switched on either.
        expect(g.console() + (await g.sh('dmesg'))).not.to.contain('header compression turned on');
      }
    });
  }

  it('--mtu 296 on the firmware against Linux at 1006: big frames are a counted drop with a hint, TCP still works', async () => {
    const g = guest!;
    await startFirmware(['--mtu', '296']);
    await attach('-p cslip', 1006);
    await pingable();
    // A 1000-octet ping is one 1028-octet frame at Linux's MTU: too big for the device.
    const big = await g.run(`ping -c 2 -W 2 -s 1000 ${DEVICE}`);
    expect(big.status).to.not.equal(0);
    // TCP is fine: each side's MSS keeps segments within the device's MTU.
    const echo = await g.sh(`head -c 65536 /dev/urandom > /tmp/e2.in && sha256sum < /tmp/e2.in && nc ${DEVICE} 7 < /tmp/e2.in | sha256sum`, 120_000);
    const sums = echo.trim().split(/\s+/).filter((w) => /^[0-9a-f]{64}$/.test(w));
    expect(sums[1]).to.equal(sums[0]);
    const { stats } = await telnetSession();
    expect(stats).to.match(/frames larger than MTU: [1-9]\d*; the peer's MTU may be larger \(ours is 296\)/);
    const counts = parseStopped(await stopFirmware());
    expect(counts.oversize).to.be.at.least(2);
  });
});
