/**
 * The board's shutdown in virtual time: SIGINT/SIGTERM close every connection, and the
 * firmware stops only once they have settled, so a peer that missed our last ACK on a lossy
 * line is answered rather than left in LAST-ACK.
 */
import { expect } from 'chai';
import { Interface } from '../../src/iface/interface.ts';
import type { Device, TxPriority } from '../../src/phy/device.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import type { PacketPool } from '../../src/storage/packet-pool.ts';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runUntil } from '../helpers/sim.ts';

/** A device wrapper that loses the next `dropRx` received frames (the test sets it). */
class Lossy implements Device {
  dropRx = 0;
  dropped = 0;
  private readonly inner: Device;
  constructor(inner: Device) {
    this.inner = inner;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  get pool(): PacketPool {
    return this.inner.pool;
  }
  receive(now: number): number {
    for (;;) {
      const slot = this.inner.receive(now);
      if (slot < 0 || this.dropRx === 0) return slot;
      this.dropRx--;
      this.dropped++;
      this.inner.pool.free(slot);
    }
  }
  transmit(now: number, slot: number, priority?: TxPriority): void {
    this.inner.transmit(now, slot, priority);
  }
  canTransmit(now: number): boolean {
    return this.inner.canTransmit(now);
  }
  pollAt(now: number): number {
    return this.inner.pollAt(now);
  }
}

describe('firmware/board: shutdown settles its connections', function () {
  this.timeout(20_000);
  checkPools();

  function setup() {
    const pair = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw'], {})!;
    const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    const pool = testPool({ mtu: config.mtu });
    const peerDev = new Lossy(new SlipDevice(pair.b, pool));
    const tcp = new TcpStack({ sockets: 4, isnKey: [5, 6, 7, 8] });
    const peer = new Interface({ device: peerDev, address: HOST_A, tcp });
    const clock = new VirtualClock(1000);
    return { board, peerDev, tcp, peer, clock, pool };
  }

  it('a TIME-WAIT whose last ACK was lost answers the retransmitted FIN before it counts as settled', () => {
    const { board, peerDev, tcp, peer, clock } = setup();
    const parts = [board, peer];
    const sock = tcp.connect(clock.now, HOST_B, 7)!;
    expect(runUntil(clock, parts, () => sock.state === TcpState.Established, 5000)).to.equal(true);
    runUntil(clock, parts, () => false, 10); // the service accepts it

    // The board closes (SIGTERM); the peer closes in turn, and the board's ACK of the peer's FIN is lost.
    board.shutdown();
    expect(runUntil(clock, parts, () => sock.state === TcpState.CloseWait, 5000)).to.equal(true);
    peerDev.dropRx = 1;
    sock.close();
    const boardSock = (): TcpSocket => board.tcp.sockets.find((s) => s.inUse && s.localPort === 7)!;
    expect(runUntil(clock, parts, () => boardSock().state === TcpState.TimeWait, 5000)).to.equal(true);
    runUntil(clock, parts, () => peerDev.dropped === 1, 100);
    expect(peerDev.dropped, 'the ACK of the FIN was lost').to.equal(1);
    expect(sock.state, 'the peer waits in LAST-ACK').to.equal(TcpState.LastAck);
    // Every socket is CLOSED or in TIME-WAIT, but the peer has not heard the last word yet.
    expect(board.settled(clock.now)).to.equal(false);

    // The peer retransmits its FIN; the TIME-WAIT socket ACKs it; then the board settles.
    expect(runUntil(clock, parts, () => board.settled(clock.now), 10_000)).to.equal(true);
    expect(sock.state, 'the peer heard the ACK').to.equal(TcpState.Closed);
    expect(tcp.stats.retransSegs, 'the FIN was sent again').to.be.at.least(1);
  });

  it('settles at once when nothing is open, and only two RTOs after a TIME-WAIT just began', () => {
    const { board, tcp, peer, clock } = setup();
    const parts = [board, peer];
    expect(board.settled(clock.now)).to.equal(true);
    const sock = tcp.connect(clock.now, HOST_B, 9)!;
    expect(runUntil(clock, parts, () => sock.state === TcpState.Established, 5000)).to.equal(true);
    runUntil(clock, parts, () => false, 10); // the service accepts it
    expect(board.settled(clock.now)).to.equal(false);
    board.shutdown();
    expect(runUntil(clock, parts, () => sock.state === TcpState.CloseWait, 5000)).to.equal(true);
    sock.close();
    const boardSock = board.tcp.sockets.find((s) => s.inUse && s.localPort === 9)!;
    expect(runUntil(clock, parts, () => boardSock.state === TcpState.TimeWait && sock.state === TcpState.Closed, 5000)).to.equal(true);
    const since = boardSock.lastFinAt;
    expect(board.settled(since + 2 * boardSock.rtt.rto - 1)).to.equal(false);
    expect(board.settled(since + 2 * boardSock.rtt.rto)).to.equal(true);
  });
});
