/**
 * The board runs its services between the interface's two halves (ingress, services, egress), so
 * what arrived together is answered by one segment: the ACK carries the window the service
 * reopened, not a pure ACK with a shrunken window followed by a window update. Virtual time, the
 * board against a peer stack over a memory line; the peer's segments are queued on the line
 * before the board runs once.
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

describe('firmware: one segment answers what arrived together', function () {
  this.timeout(60_000);
  checkPools();

  function setup() {
    const line = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw', '--mtu', '1006'], {})!;
    const board = new Board({ link: line.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const slip = new SlipDevice(line.b, testPool({ mtu: 1006 }));
    const tcp = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8] });
    const peer = new Interface({ device: slip, address: HOST_A, tcp });
    const clock = new VirtualClock(1000);
    return { board, peer, tcp, slip, clock };
  }

  it('four full segments to discard, read by one board turn: one ACK of all four, with the whole window open', () => {
    const s = setup();
    const sock = s.tcp.connect(s.clock.now, HOST_B, 9)!;
    expect(runUntil(s.clock, [s.peer, s.board], () => sock.state === TcpState.Established, 10_000)).to.equal(true);
    runIdle(s.clock, [s.peer, s.board], 500);
    const window0 = sock.window.sndWnd;
    const data = new Uint8Array(4 * 966).fill(0x5a);
    expect(sock.send(data, 0, data.length)).to.equal(data.length);
    // Only the peer runs: its four segments wait on the line.
    s.peer.poll(s.clock.now);
    expect(s.slip.stats.txFrames).to.be.at.least(4);
    const out0 = s.board.iface.stats.ip.xmit;
    const discarded0 = s.board.discard.discarded;
    // One turn of the board, as the host loop runs it: passes until nothing moves.
    while (s.board.poll(s.clock.now));
    expect(s.board.discard.discarded - discarded0).to.equal(data.length);
    expect(s.board.iface.stats.ip.xmit - out0, 'segments the board sent').to.equal(1);
    s.peer.poll(s.clock.now);
    expect(sock.sendQueue).to.equal(0); // all four acknowledged
    expect(sock.window.sndWnd).to.equal(window0); // and the window the discard service reopened
    sock.close();
    runIdle(s.clock, [s.peer, s.board], 5 * 60_000);
    s.board.shutdown();
    runIdle(s.clock, [s.peer, s.board], 60_000);
  });
});
