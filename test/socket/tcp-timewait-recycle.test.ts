/**
 * A full socket table whose sockets wait in TIME-WAIT (this side closed first, nobody holds
 * them) does not refuse a new connection: the TIME-WAIT that has waited longest is ended early
 * and reused, and counted (`timeWaitRecycled`), as lwIP's tcp_kill_timewait does. Found by the
 * soak: a peer running more telnet sessions a minute than the table has sockets was refused.
 */
import { expect } from 'chai';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';
import { stackPair } from '../helpers/tcp-sim.ts';

describe('TCP: TIME-WAIT sockets give way when the table is full', function () {
  this.timeout(20_000);
  checkPools();

  it('a SYN finding only orphaned TIME-WAITs takes the one that has waited longest, and counts it', () => {
    const link = new MemoryDevicePair(testPool(), testPool());
    const pair = stackPair(link.a, link.b);
    const clock = new VirtualClock(1000);
    const parts = [pair.a, pair.b];
    const listener = pair.tcpB.listen(7);
    const serverClosesFirst = (): void => {
      const c = pair.tcpA.connect(clock.now, HOST_B, 7)!;
      runUntil(clock, parts, () => c.state === TcpState.Established, 5000);
      let s = pair.tcpB.accept(listener);
      runUntil(clock, parts, () => (s ??= pair.tcpB.accept(listener)) !== null, 5000);
      s!.close();
      runUntil(clock, parts, () => c.remoteClosed, 5000);
      c.close();
      runUntil(clock, parts, () => s!.state === TcpState.TimeWait && c.state === TcpState.Closed, 5000);
      clock.now += 100;
    };
    // Fill all 8 sockets of B with orphaned TIME-WAITs.
    for (let i = 0; i < 8; i++) serverClosesFirst();
    expect(pair.tcpB.used).to.equal(8);
    expect(pair.tcpB.sockets.every((s) => s.state === TcpState.TimeWait)).to.equal(true);
    const oldest = pair.tcpB.sockets.reduce((a, b) => (a.lastFinAt <= b.lastFinAt ? a : b));
    const oldestPort = oldest.remotePort;
    // A ninth connection is accepted, in the oldest TIME-WAIT's socket.
    const c = pair.tcpA.connect(clock.now, HOST_B, 7)!;
    expect(runUntil(clock, parts, () => c.state === TcpState.Established, 5000)).to.equal(true);
    expect(pair.tcpB.stats.timeWaitRecycled).to.equal(1);
    expect(pair.tcpB.stats.synTableFull).to.equal(0);
    expect(oldest.remotePort).to.not.equal(oldestPort);
    const s = pair.tcpB.accept(listener)!;
    expect(s).to.equal(oldest);
    // Only orphaned TIME-WAITs are taken: sockets an application holds stay (checked by the table-full tests of tcp-listen).
    c.close();
    s.close();
    runIdle(clock, parts, 10 * 60_000);
    expect(pair.tcpA.used).to.equal(0);
    expect(pair.tcpB.used).to.equal(0);
    pair.tcpB.unlisten(listener);
    link.close();
  });
});
