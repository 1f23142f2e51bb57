/**
 * The peer vanishes for longer than the retransmission limit (host unplugged for good, host
 * crashed): the device's connections end with a reason (TimedOut, counted in `tcp: timeouts` and
 * each service's `errors`), and every socket and pool slot comes back, so the board serves the
 * next peer at once. Virtual time, the real Board.
 */
import { expect } from 'chai';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { Interface } from '../../src/iface/interface.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { TelnetClient } from '../../support/telnet-client.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runUntil } from '../helpers/sim.ts';

describe('firmware: the peer vanishes for longer than the retransmission limit', function () {
  this.timeout(30_000);
  checkPools();

  it('connections with data waiting (chargen into a small window, echo) and a shell end; every socket and slot comes back', () => {
    const pair = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--sockets', '8', '--idle-timeout', '600'], { SLIPSTACK_PASSWORD: 'pw' })!;
    const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const tcp = new TcpStack({ sockets: 8, isnKey: [5, 6, 7, 8] });
    const peerPool = testPool({ mtu: config.mtu, slots: 64 });
    const peer = new Interface({ device: new SlipDevice(pair.b, peerPool), address: HOST_A, tcp });
    const clock = new VirtualClock(1000);
    const chargen = tcp.connect(clock.now, HOST_B, 19)!;
    const echo = tcp.connect(clock.now, HOST_B, 7)!;
    const shell = new TelnetClient(tcp.connect(clock.now, HOST_B, 23)!);
    const parts = [board, peer, shell];
    expect(runUntil(clock, parts, () => shell.has('Password: '), 5000)).to.equal(true);
    shell.line('pw');
    expect(runUntil(clock, parts, () => shell.has('slipstack> ') && chargen.recvQueue > 0, 5000)).to.equal(true);
    echo.send(new Uint8Array(20_000), 0, 20_000);
    runUntil(clock, parts, () => false, 5);
    expect(board.tcp.used).to.equal(3);

    // The peer is gone: only the board runs from now on.
    runUntil(clock, [board], () => board.tcp.used === 0, 60 * 60_000);
    expect(board.tcp.used, 'device sockets in use').to.equal(0);
    expect(board.tcp.stats.timeouts, 'connections that timed out').to.be.at.least(2);
    expect(board.chargen.stats.errors, 'chargen ended with an error').to.equal(1);
    expect(board.tcpEcho.stats.errors, 'echo ended with an error').to.equal(1);
    expect(board.telnet!.active, 'the shell is gone too').to.equal(0);
    expect(board.pool.stats.used, 'device pool slots in use').to.equal(0);

    // A new peer (the old one's sockets abandoned) is served at once.
    for (const s of [chargen, echo, shell.sock]) {
      s.abort();
      s.close();
    }
    runUntil(clock, [peer], () => tcp.used === 0, 5000);
    const again = tcp.connect(clock.now, HOST_B, 7)!;
    expect(runUntil(clock, [board, peer], () => again.state === TcpState.Established, 5000)).to.equal(true);
    again.abort();
    again.close();
    board.shutdown();
    runUntil(clock, [board, peer], () => board.tcp.used === 0 && tcp.used === 0, 10 * 60_000);
  });
});
