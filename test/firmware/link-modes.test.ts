/**
 * The board's SLIP modes from the outside, in virtual time: with no flag it is `adaptive`, so a
 * peer running any `slattach -p` mode gets through (a compressing peer switches it on); with
 * `--proto slip` a compressing peer's frames are counted and named in a hint; an MTU smaller
 * than the peer's is a counted drop with a hint, not a silent stall. What `ifconfig` and `stats`
 * print about the link.
 */
import { expect } from 'chai';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { formatIfconfig, formatStats } from '../../firmware-bridge/telnet/format.ts';
import { Interface } from '../../src/iface/interface.ts';
import { CslipDevice, type SlipProto } from '../../src/phy/cslip-device.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { VJ_HEADROOM } from '../../src/phy/vj.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';

describe('firmware: the SLIP modes (slattach -p) and what the shell says about the link', function () {
  this.timeout(60_000);
  checkPools();

  /** A board with `flags` and a peer stack in mode `peerProto` at MTU `peerMtu`, over a memory line. */
  function setup(flags: string[], peerProto: SlipProto, peerMtu = 1006) {
    const line = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw', ...flags], {})!;
    const board = new Board({ link: line.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const pool = testPool({ mtu: peerMtu, headroom: VJ_HEADROOM });
    const slip = new SlipDevice(line.b, pool);
    const cslip = new CslipDevice(slip, { proto: peerProto });
    const tcp = new TcpStack({ sockets: 4, isnKey: [5, 6, 7, 8], config: { timestamps: false } });
    const peer = new Interface({ device: cslip, address: HOST_A, tcp });
    const clock = new VirtualClock(1000);
    return { board, peer, tcp, cslip, slip, clock };
  }

  /** Sends `text` to the board's echo service and waits for it to come back. */
  function echo(s: ReturnType<typeof setup>, text: string): string {
    const sock = s.tcp.connect(s.clock.now, HOST_B, 7)!;
    const data = new TextEncoder().encode(text);
    const got = new Uint8Array(data.length);
    let n = 0;
    let sent = false;
    const app = {
      poll: (): boolean => {
        let progress = false;
        if (!sent && sock.state === TcpState.Established) sent = sock.send(data, 0, data.length) === data.length;
        const r = sock.recv(got, n, got.length - n);
        if (r > 0) {
          n += r;
          progress = true;
        }
        return progress;
      },
      pollAt: () => Infinity,
    };
    runUntil(s.clock, [s.peer, s.board, app], () => n === data.length, 10_000);
    sock.close();
    runIdle(s.clock, [s.peer, s.board], 5 * 60_000);
    return new TextDecoder().decode(got.subarray(0, n));
  }

  function finish(s: ReturnType<typeof setup>): void {
    s.board.shutdown();
    runIdle(s.clock, [s.peer, s.board], 5 * 60_000);
    s.slip.close();
  }

  it('defaults to adaptive and declines TCP timestamps (compressible headers); a cslip peer switches it on', () => {
    const s = setup([], 'cslip');
    expect(s.board.config.proto).to.equal('adaptive');
    expect(s.board.tcp.config.timestamps).to.equal(false);
    expect(s.board.telnet!.linkNotes()).to.equal('proto adaptive: plain SLIP until the peer sends a compressed frame\n');
    // More than one segment each way: the board's first segment of a connection sets the peer's
    // saved header (sent whole); the ones after it go compressed.
    const text = 'hello, compressed world '.repeat(100);
    expect(echo(s, text)).to.equal(text);
    expect(s.board.cslip.isCompressing).to.equal(true);
    expect(s.board.cslip.stats.out.compressed).to.be.greaterThan(0);
    expect(s.board.cslip.stats.in.uncompressed).to.be.greaterThan(0);
    expect(s.board.telnet!.linkNotes()).to.match(/^proto adaptive: compressing TCP\/IP headers \(RFC 1144\), switched on by the peer/);
    // The counters the shell shows: SLIP's and the compressor's.
    const counters = s.board.telnet!.linkStats() as { slip: object; vj: { in: { compressed: number }; out: object } };
    expect(counters.vj.in).to.have.property('tossed');
    expect(counters.vj.out).to.have.property('misses');
    finish(s);
  });

  it('adaptive with a plain SLIP peer stays plain, and so does a peer on adaptive', () => {
    for (const peerProto of ['slip', 'adaptive'] as const) {
      const s = setup([], peerProto);
      expect(echo(s, `plain ${peerProto}`)).to.equal(`plain ${peerProto}`);
      expect(s.board.cslip.isCompressing, peerProto).to.equal(false);
      expect(s.board.cslip.stats.out.compressed + s.board.cslip.stats.out.uncompressed).to.equal(0);
      finish(s);
    }
  });

  it('--proto cslip compresses from the start: an adaptive peer switches on', () => {
    const s = setup(['--proto', 'cslip'], 'adaptive');
    expect(s.board.telnet!.linkNotes()).to.equal('proto cslip: compressing TCP/IP headers (RFC 1144)\n');
    expect(echo(s, 'both compress')).to.equal('both compress');
    expect(s.cslip.isCompressing).to.equal(true);
    finish(s);
  });

  it('--proto slip keeps timestamps, and counts a compressing peer\'s frames with a hint', () => {
    const s = setup(['--proto', 'slip'], 'cslip');
    expect(s.board.tcp.config.timestamps).to.equal(true);
    const sock = s.tcp.connect(s.clock.now, HOST_B, 7)!;
    runUntil(s.clock, [s.peer, s.board], () => false, 3_000);
    sock.abort();
    expect(s.board.cslip.stats.ignored).to.be.greaterThan(0);
    expect(s.board.telnet!.linkNotes()).to.equal(
      'proto slip: plain SLIP (RFC 1055), no header compression\n' +
      `compressed frames ignored: ${s.board.cslip.stats.ignored}; the peer compresses headers (slattach -p cslip): run with --proto adaptive or cslip\n`);
    finish(s);
  });

  it('a peer with a larger MTU: its big frames are a counted drop and the shell names the cause', () => {
    const s = setup(['--mtu', '296'], 'cslip', 1006);
    const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
    icmp.bind(0x55);
    s.peer.addIcmpSocket(icmp);
    // A 1000-octet echo request is one 1028-octet frame at the peer's MTU: too big for 296.
    icmp.sendEcho(HOST_B, 1, new Uint8Array(1000), 0, 1000);
    runUntil(s.clock, [s.peer, s.board], () => false, 3_000);
    expect(s.board.slip.stats.decoder.oversize).to.equal(1);
    const notes = s.board.telnet!.linkNotes();
    expect(notes).to.contain("frames larger than MTU: 1; the peer's MTU may be larger (ours is 296)\n");
    // Small ones still get through.
    icmp.sendEcho(HOST_B, 2, new Uint8Array(56), 0, 56);
    const reply = new Uint8Array(128);
    expect(runUntil(s.clock, [s.peer, s.board], () => icmp.recvEcho(reply, 0, reply.length) >= 0, 3_000)).to.equal(true);
    // ifconfig and stats print the notes.
    const ifconfig = formatIfconfig({ name: 'sl0', address: HOST_B, peer: HOST_A, mtu: 296, mss: 256, ip: s.board.iface.stats.ip, device: null, notes });
    expect(ifconfig).to.contain("        frames larger than MTU: 1; the peer's MTU may be larger (ours is 296)\n");
    const stats = formatStats({ ip: {}, icmp: {}, udp: {}, tcp: null, device: { vj: s.board.cslip.stats }, telnet: null, notes });
    expect(stats).to.match(/link:\n {2}vj\.in\.compressed \d+ {2}vj\.in\.uncompressed/);
    expect(stats).to.contain("frames larger than MTU: 1; the peer's MTU may be larger (ours is 296)\n");
    finish(s);
  });
});
