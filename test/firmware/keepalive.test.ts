/**
 * --keepalive S: a connection whose peer no longer has it (the peer rebooted, or its RST was
 * lost on the line) is found and dropped after S idle seconds: the probe meets the peer's RST.
 * Without the flag the half-open connection stays, as TCP's default is. Virtual time, the board
 * against a peer stack over a memory line; the "rebooted" peer is a new stack on the same line.
 */
import { expect } from 'chai';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { Interface } from '../../src/iface/interface.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';

describe('firmware: --keepalive finds half-open connections', function () {
  this.timeout(60_000);
  checkPools();

  /** Connects a peer to the board's echo service, exchanges a line, then replaces the peer by a fresh stack (its connection forgotten, no RST sent). */
  function halfOpen(flags: string[]) {
    const line = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw', ...flags], {})!;
    const board = new Board({ link: line.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const clock = new VirtualClock(1000);
    const peerOf = (key: number) => {
      const tcp = new TcpStack({ sockets: 2, isnKey: [key, 6, 7, 8] });
      return { tcp, iface: new Interface({ device: new SlipDevice(line.b, testPool({ mtu: 1006 })), address: HOST_A, tcp }) };
    };
    const peer = peerOf(5);
    const sock = peer.tcp.connect(clock.now, HOST_B, 7)!;
    const hello = new TextEncoder().encode('hello\n');
    const got = new Uint8Array(16);
    let n = 0;
    expect(runUntil(clock, [peer.iface, board], () => {
      if (sock.state === TcpState.Established && sock.sendQueue === 0 && n === 0) sock.send(hello, 0, hello.length);
      n += Math.max(0, sock.recv(got, n, got.length - n));
      return n === hello.length;
    }, 10_000)).to.equal(true);
    runIdle(clock, [peer.iface, board], 1000);
    const echoSockets = () => board.tcp.sockets.filter((s) => s.inUse && s.localPort === 7 && s.state === TcpState.Established).length;
    expect(echoSockets()).to.equal(1);
    // The peer reboots: a new stack on the same line, which knows nothing of the connection.
    const rebooted = peerOf(9);
    return { board, clock, rebooted, echoSockets };
  }

  it('--keepalive 5: the probe after 5 idle seconds meets the rebooted peer\'s RST, and the echo connection is dropped', () => {
    const s = halfOpen(['--keepalive', '5']);
    expect(s.board.config.keepaliveS).to.equal(5);
    runIdle(s.clock, [s.rebooted.iface, s.board], 3000);
    expect(s.echoSockets(), 'before 5 idle seconds').to.equal(1);
    runIdle(s.clock, [s.rebooted.iface, s.board], 4000);
    expect(s.echoSockets(), 'after the probe').to.equal(0);
    expect(s.board.tcp.stats.keepaliveProbes).to.be.at.least(1);
    expect(s.rebooted.tcp.stats.outRsts, 'RSTs the rebooted peer sent').to.be.at.least(1);
    s.board.shutdown();
    runIdle(s.clock, [s.rebooted.iface, s.board], 60_000);
  });

  it('without --keepalive the half-open connection stays (TCP\'s default); the flag refuses bad values', () => {
    const s = halfOpen([]);
    expect(s.board.config.keepaliveS).to.equal(0);
    runIdle(s.clock, [s.rebooted.iface, s.board], 10 * 60_000);
    expect(s.echoSockets()).to.equal(1);
    expect(s.board.tcp.stats.keepaliveProbes).to.equal(0);
    expect(() => parseFirmwareArgs(['--port', 'none', '--keepalive', '-1'], {})).to.throw(/keepalive/);
    expect(() => parseFirmwareArgs(['--port', 'none', '--keepalive', 'soon'], {})).to.throw(/keepalive/);
    s.board.shutdown();
    runIdle(s.clock, [s.rebooted.iface, s.board], 60_000);
  });
});
