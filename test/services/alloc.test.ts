/**
 * The services' per-octet and per-segment paths allocate nothing (docs/memory-and-time.md): echo,
 * discard and chargen moving data, and a telnet session taking typed characters (decoder, line
 * editor, echo, outbox), measured with v8.GCProfiler (support/alloc.ts) after warm-up. The
 * stacks and links run in the measured loop too, so this also holds the core to its promise.
 */
import { expect } from 'chai';
import { measureAlloc } from '../../support/alloc.ts';
import { ChargenService } from '../../firmware-bridge/services/chargen.ts';
import { DiscardService } from '../../firmware-bridge/services/discard.ts';
import { TcpEchoService } from '../../firmware-bridge/services/tcp-echo.ts';
import { TelnetServer } from '../../firmware-bridge/telnet/server.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import type { Pollable } from '../../src/time.ts';
import { HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';
import { stackPair, type StackPair } from '../helpers/tcp-sim.ts';

class Sink {
  value = 0;
  /** Octets the client received during a measurement. */
  received = 0;
}

function take(sink: Sink, n: number): void {
  if (n > 0) sink.received += n;
}

/** Everything that runs, polled in a fixed order without iterators or closures. */
class Loop {
  readonly clock = new VirtualClock();
  readonly link: MemoryDevicePair;
  readonly pair: StackPair;
  service: Pollable | null = null;

  constructor() {
    this.link = new MemoryDevicePair(testPool({ slots: 64 }), testPool({ slots: 64 }));
    // No delayed ACKs, so data keeps moving without the clock having to jump.
    this.pair = stackPair(this.link.a, this.link.b, { sockets: 4, txBufferLen: 16384, rxBufferLen: 16384, config: { delayedAckMs: 0 } });
  }

  step(rounds: number): void {
    const now = ++this.clock.now;
    for (let k = 0; k < rounds; k++) {
      this.pair.a.poll(now);
      this.pair.b.poll(now);
      this.service!.poll(now);
    }
  }

  connect(port: number): TcpSocket {
    const sock = this.pair.tcpA.connect(this.clock.now, HOST_B, port)!;
    runUntil(this.clock, [this.pair.a, this.pair.b, this.service!], () => sock.stateName === 'ESTABLISHED', 5000);
    return sock;
  }

  finish(client: TcpSocket): void {
    client.abort();
    client.close();
    (this.service as unknown as { close(): void }).close();
    runIdle(this.clock, [this.pair.a, this.pair.b, this.service!], 10 * 60_000);
    this.link.close();
  }
}

describe('services allocate nothing per octet', function () {
  this.timeout(120_000);
  checkPools();
  const sink = new Sink();
  const N = 20_000;

  beforeEach(() => {
    sink.received = 0;
  });

  it('TCP echo: 1000 octets out and back per iteration', () => {
    const loop = new Loop();
    loop.service = new TcpEchoService(loop.pair.b, loop.pair.tcpB);
    const client = loop.connect(7);
    const src = new Uint8Array(1000).fill(0x41);
    const dst = new Uint8Array(4096);
    const report = measureAlloc(() => {
      client.send(src, 0, src.length);
      loop.step(3);
      take(sink, client.recv(dst, 0, dst.length));
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    expect(sink.received, 'octets echoed back').to.be.greaterThan(N * 900);
    loop.finish(client);
  });

  it('discard: 1000 octets per iteration', () => {
    const loop = new Loop();
    const discard = new DiscardService(loop.pair.b, loop.pair.tcpB);
    loop.service = discard;
    const client = loop.connect(9);
    const src = new Uint8Array(1000).fill(0x42);
    const report = measureAlloc(() => {
      client.send(src, 0, src.length);
      loop.step(3);
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    expect(discard.discarded).to.be.greaterThan(N * 900);
    loop.finish(client);
  });

  it('chargen: reading the stream as it comes', () => {
    const loop = new Loop();
    loop.service = new ChargenService(loop.pair.b, loop.pair.tcpB);
    const client = loop.connect(19);
    const dst = new Uint8Array(4096);
    const report = measureAlloc(() => {
      loop.step(2);
      take(sink, client.recv(dst, 0, dst.length));
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    expect(sink.received, 'chargen octets read').to.be.greaterThan(N * 1000);
    loop.finish(client);
  });

  it('telnet: typed characters and backspaces (decoder, line editor, echo, outbox)', () => {
    const loop = new Loop();
    loop.service = new TelnetServer(loop.pair.b, loop.pair.tcpB, { password: 'pw', loginTimeoutMs: 0 });
    const client = loop.connect(23);
    const dst = new Uint8Array(4096);
    const login = new TextEncoder().encode('pw\r\n');
    client.send(login, 0, login.length);
    for (let i = 0; i < 10; i++) loop.step(3);
    expect((loop.service as TelnetServer).sessions[0]!.loggedIn).to.equal(true);
    // Three letters and three DELs: the line never fills, each octet is echoed.
    const typing = new TextEncoder().encode('abc\x7f\x7f\x7f');
    const report = measureAlloc(() => {
      client.send(typing, 0, typing.length);
      loop.step(3);
      take(sink, client.recv(dst, 0, dst.length));
    }, N);
    expect(report.leastRoundBytes, JSON.stringify(report)).to.equal(0);
    // Each iteration's echo: "abc" and three BS SP BS.
    expect(sink.received, 'echo of what was typed').to.be.at.least(N * 12);
    loop.finish(client);
  });
});
