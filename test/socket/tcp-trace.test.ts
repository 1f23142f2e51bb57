import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import type { TcpTracer } from '../../src/socket/tcp/config.ts';
import { TextTcpTracer, formatSegment } from '../../src/socket/tcp/trace.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { TcpFlag, TcpRepr } from '../../src/wire/tcp.ts';
import { HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';
import { stackPair } from '../helpers/tcp-sim.ts';

/** Counts every call, so a test can tell whether the stack still calls it. */
class CountingTracer implements TcpTracer {
  calls = 0;

  state(): void {
    this.calls++;
  }

  segment(): void {
    this.calls++;
  }
}

describe('TCP tracer', () => {
  checkPools();

  it('prints every transition A => B and every segment in and out of an active open', () => {
    const lines: string[] = [];
    const stack = new TcpStack({ sockets: 1, isnKey: [1, 2, 3, 4], localAddr: 1, localMss: 1460, config: { timestamps: false, sack: false, windowScaling: false } });
    stack.tracer = new TextTcpTracer((l) => lines.push(l));
    const sock = stack.connect(0, 2, 80, 40000)!;
    const out = new TcpRepr();
    expect(sock.dispatch(0, out)).to.equal(true);
    const synAck = new TcpRepr();
    synAck.srcPort = 80;
    synAck.dstPort = 40000;
    synAck.seq = 5000;
    synAck.ack = (sock.iss + 1) | 0;
    synAck.flags = TcpFlag.Syn | TcpFlag.Ack;
    synAck.window = 1000;
    synAck.mss = 1000;
    stack.input(1, 2, synAck, new Uint8Array(0), out);
    expect(lines[0]).to.equal('tcp#0 CLOSED => SYN-SENT');
    expect(lines[1]).to.equal(`tcp#0 > 40000 -> 80 seq=${sock.iss >>> 0} [SYN] win=65535 len=0 mss=1460`);
    expect(lines[2]).to.equal(`tcp#0 < 80 -> 40000 seq=5000 ack=${(sock.iss + 1) >>> 0} [SYN,ACK] win=1000 len=0 mss=1000`);
    expect(lines[3]).to.equal('tcp#0 SYN-SENT => ESTABLISHED');
  });

  it('formats options, SACK blocks and unsigned sequence numbers', () => {
    const r = new TcpRepr();
    r.srcPort = 1;
    r.dstPort = 2;
    r.seq = -1;
    r.ack = -2;
    r.flags = TcpFlag.Ack;
    r.hasTimestamp = true;
    r.tsVal = 7;
    r.tsEcr = 8;
    r.sackCount = 1;
    r.sackLeft[0] = 100;
    r.sackRight[0] = 200;
    expect(formatSegment(r)).to.equal('1 -> 2 seq=4294967295 ack=4294967294 [ACK] win=0 len=0 TS=7/8 sack=100-200');
  });

  it('costs nothing when off: the default is null, and with the tracer removed bulk data allocates nothing and the tracer is never called', function () {
    this.timeout(120_000);
    expect(new TcpStack({ isnKey: [0, 0, 0, 0] }).tracer).to.equal(null);
    const link = new MemoryDevicePair(testPool({ slots: 64 }), testPool({ slots: 64 }));
    const pair = stackPair(link.a, link.b, { sockets: 2, txBufferLen: 16384, rxBufferLen: 16384, config: { delayedAckMs: 0 } });
    const clock = new VirtualClock();
    const parts = [pair.a, pair.b];
    // On while the connection opens: it sees the handshake.
    const tracer = new CountingTracer();
    pair.tcpA.tracer = tracer;
    pair.tcpB.tracer = tracer;
    const listener = pair.tcpB.listen(9);
    const client = pair.tcpA.connect(clock.now, HOST_B, 9)!;
    expect(runUntil(clock, parts, () => client.state === TcpState.Established, 5000)).to.equal(true);
    const server = pair.tcpB.accept(listener)!;
    expect(server).to.not.equal(null);
    expect(tracer.calls, 'the tracer saw the handshake').to.be.greaterThan(0);

    // Off: 1000 octets per iteration from client to server, every layer in the measured loop.
    pair.tcpA.tracer = null;
    pair.tcpB.tracer = null;
    const seen = tracer.calls;
    const src = new Uint8Array(1000).fill(0x54);
    const dst = new Uint8Array(4096);
    const moved = { octets: 0 };
    const report = measureAlloc(() => {
      const now = ++clock.now;
      client.send(src, 0, src.length);
      pair.a.poll(now);
      pair.b.poll(now);
      const n = server.recv(dst, 0, dst.length);
      if (n > 0) moved.octets += n;
      pair.b.poll(now);
      pair.a.poll(now);
    }, 20_000);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    expect(tracer.calls, 'the tracer is not called once removed').to.equal(seen);
    expect(moved.octets, 'octets the server read').to.be.greaterThan(20_000 * 900);

    client.abort();
    client.close();
    server.close();
    runIdle(clock, parts, 10 * 60_000);
    link.close();
  });
});
