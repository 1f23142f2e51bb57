/**
 * TCP echo (RFC 862), discard (RFC 863) and chargen (RFC 864) served by one stack (the device,
 * 192.0.2.2) to clients on another (the peer, 192.0.2.1), over a memory device pair in virtual
 * time. Afterwards every socket and every pool slot must come back.
 */
import { expect } from 'chai';
import { ChargenService, CHARGEN_LINE_LEN, CHARGEN_PERIOD, chargenLine } from '../../firmware-bridge/services/chargen.ts';
import { DiscardService } from '../../firmware-bridge/services/discard.ts';
import { TcpEchoService } from '../../firmware-bridge/services/tcp-echo.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import { SocketError } from '../../src/socket/error.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import { randomBytes, sha256 } from '../../support/pattern.ts';
import { HOST_B } from '../../support/addresses.ts';
import { BulkEndpoint } from '../../support/bulk.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';
import { stackPair, type StackPair } from '../helpers/tcp-sim.ts';

const MiB = 1024 * 1024;

interface World {
  clock: VirtualClock;
  pair: StackPair;
  link: MemoryDevicePair;
}

function world(): World {
  const link = new MemoryDevicePair(testPool({ slots: 128 }), testPool({ slots: 128 }));
  const pair = stackPair(link.a, link.b, { sockets: 8 });
  return { clock: new VirtualClock(), pair, link };
}

/** Closes the service, lets TIME-WAIT run out, and checks that every socket went back. */
function finish(w: World, service: { close(): void }): void {
  service.close();
  runIdle(w.clock, [w.pair.a, w.pair.b], 10 * 60_000);
  expect(w.pair.tcpA.used, 'peer sockets in use').to.equal(0);
  expect(w.pair.tcpB.used, 'device sockets in use').to.equal(0);
  w.link.close();
}

/** The RFC 864 stream written out naively: line n holds characters (n + i) mod 95, i = 0..71. */
function naiveChargen(len: number): Uint8Array {
  const out = new Uint8Array(len);
  let at = 0;
  for (let line = 0; at < len; line++) {
    for (let i = 0; i < 72 && at < len; i++) out[at++] = 0x20 + ((line + i) % 95);
    if (at < len) out[at++] = 0x0d;
    if (at < len) out[at++] = 0x0a;
  }
  return out;
}

/** Reads a chargen stream into `received` until it holds `want` octets, then does `then`. */
class ChargenClient implements Pollable {
  readonly received: Uint8Array;
  receivedLen = 0;
  eof = false;
  error = 0;
  readonly sock: TcpSocket;
  private readonly want: number;
  private readonly then: 'abort' | 'half-close first';
  private acted = false;

  /** `then`: abort once `want` octets arrived; or half-close at once (`nc < /dev/null`), read `want`, then abort. */
  constructor(sock: TcpSocket, want: number, capacity: number, then: 'abort' | 'half-close first') {
    this.sock = sock;
    this.want = want;
    this.then = then;
    this.received = new Uint8Array(capacity);
  }

  poll(_now: number): boolean {
    const s = this.sock;
    if (this.eof) return false;
    let progress = false;
    for (;;) {
      const room = this.received.length - this.receivedLen;
      if (room === 0) throw new Error('chargen client: more data than expected');
      const n = s.recv(this.received, this.receivedLen, room);
      if (n > 0) {
        this.receivedLen += n;
        progress = true;
        continue;
      }
      if (n === 0) {
        this.eof = true;
        s.close();
        return true;
      }
      if (n !== SocketError.WouldBlock) {
        this.error = n;
        this.eof = true;
        s.close();
        return true;
      }
      break;
    }
    if (this.then === 'half-close first' && !s.finQueued && s.state === TcpState.Established) {
      s.shutdown();
      progress = true;
    }
    if (!this.acted && this.receivedLen >= this.want) {
      this.acted = true;
      s.abort();
      s.close();
      this.eof = true;
      progress = true;
    }
    return progress;
  }

  pollAt(_now: number): number {
    return NEVER;
  }
}

describe('TCP echo service (RFC 862)', function () {
  this.timeout(120_000);
  checkPools();

  it('echoes 1 MiB of random data unchanged (SHA-256 equal) and closes after the peer closes', () => {
    const w = world();
    const echo = new TcpEchoService(w.pair.b, w.pair.tcpB);
    expect(echo.port).to.equal(7);
    const data = randomBytes(MiB, 0x5eed);
    const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 7)!;
    const client = new BulkEndpoint(sock, data, { keep: data.length, writeLen: 10_000 });
    const ok = runUntil(w.clock, [w.pair.a, w.pair.b, echo, client], () => client.done, 120_000);
    expect(ok, `echo finished (got ${client.receivedLen})`).to.equal(true);
    expect(client.error).to.equal(0);
    expect(client.receivedLen).to.equal(MiB);
    expect(sha256(client.receivedBytes())).to.equal(sha256(data));
    expect(echo.echoed).to.equal(MiB);
    expect(echo.stats).to.deep.include({ accepted: 1, closed: 1, errors: 0 });
    expect(echo.active).to.equal(0);
    finish(w, echo);
  });

  it('serves as many connections at once as the socket table holds, each getting its own data back', () => {
    const w = world();
    const echo = new TcpEchoService(w.pair.b, w.pair.tcpB);
    // The device's table has 8 sockets: all of them are accepted and served at the same time.
    const socks: TcpSocket[] = [];
    for (let i = 0; i < 8; i++) socks.push(w.pair.tcpA.connect(w.clock.now, HOST_B, 7)!);
    expect(runUntil(w.clock, [w.pair.a, w.pair.b, echo], () => echo.active === 8, 5000)).to.equal(true);
    expect(w.pair.tcpB.used).to.equal(8);
    const datas = socks.map((_, i) => randomBytes(100_000 + i * 777, 100 + i));
    const clients = socks.map((sock, i) => new BulkEndpoint(sock, datas[i]!, { keep: datas[i]!.length, writeLen: 3000 }));
    const ok = runUntil(w.clock, [w.pair.a, w.pair.b, echo, ...clients], () => clients.every((c) => c.done), 120_000);
    expect(ok).to.equal(true);
    for (let i = 0; i < 8; i++) expect(sha256(clients[i]!.receivedBytes()), `client ${i}`).to.equal(sha256(datas[i]!));
    expect(echo.stats).to.deep.include({ accepted: 8, closed: 8, errors: 0 });
    expect(w.pair.tcpB.stats.listenOverflow + w.pair.tcpB.stats.synTableFull).to.equal(0);
    finish(w, echo);
  });

  it('a peer that resets is dropped and its slot reused', () => {
    const w = world();
    const echo = new TcpEchoService(w.pair.b, w.pair.tcpB, { maxConnections: 1 });
    const parts = [w.pair.a, w.pair.b, echo];
    const first = w.pair.tcpA.connect(w.clock.now, HOST_B, 7)!;
    expect(runUntil(w.clock, parts, () => echo.active === 1, 5000)).to.equal(true);
    first.abort();
    first.close();
    expect(runUntil(w.clock, parts, () => echo.active === 0, 5000)).to.equal(true);
    expect(echo.stats.errors).to.equal(1);
    const data = randomBytes(5000, 9);
    const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 7)!;
    const client = new BulkEndpoint(sock, data, { keep: data.length });
    expect(runUntil(w.clock, [...parts, client], () => client.done, 30_000)).to.equal(true);
    expect(sha256(client.receivedBytes())).to.equal(sha256(data));
    finish(w, echo);
  });
});

describe('TCP discard service (RFC 863)', function () {
  this.timeout(120_000);
  checkPools();

  it('counts exactly the octets discarded over several connections and sends nothing back', () => {
    const w = world();
    const discard = new DiscardService(w.pair.b, w.pair.tcpB);
    expect(discard.port).to.equal(9);
    const sizes = [MiB + 3, 12_345, 1];
    const clients = sizes.map((size, i) => {
      const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 9)!;
      return new BulkEndpoint(sock, randomBytes(size, 7 + i), { writeLen: 4096 });
    });
    const ok = runUntil(w.clock, [w.pair.a, w.pair.b, discard, ...clients], () => clients.every((c) => c.done), 120_000);
    expect(ok).to.equal(true);
    for (const c of clients) {
      expect(c.error).to.equal(0);
      expect(c.receivedLen, 'discard sends nothing').to.equal(0);
    }
    expect(discard.discarded).to.equal(sizes.reduce((a, b) => a + b, 0));
    expect(discard.stats).to.deep.include({ accepted: 3, closed: 3, errors: 0 });
    finish(w, discard);
  });
});

describe('TCP chargen service (RFC 864)', function () {
  this.timeout(120_000);
  checkPools();

  it('chargenLine writes the RFC 864 lines: 72 characters from (n mod 95), then CR LF', () => {
    const line = new Uint8Array(CHARGEN_LINE_LEN);
    chargenLine(0, line, 0);
    expect(new TextDecoder().decode(line)).to.equal(
      ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n');
    chargenLine(1, line, 0);
    expect(new TextDecoder().decode(line)).to.equal(
      '!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n');
    // Line 94 starts with the last printable character and wraps round to space.
    chargenLine(94, line, 0);
    expect(String.fromCharCode(line[0]!, line[1]!, line[2]!)).to.equal('~ !');
    chargenLine(95, line, 0);
    expect(line[0]).to.equal(0x20);
    expect(CHARGEN_PERIOD).to.equal(95 * 74);
  });

  it('sends the rotating lines as fast as the window allows; a peer that aborts is dropped', () => {
    const w = world();
    const chargen = new ChargenService(w.pair.b, w.pair.tcpB);
    expect(chargen.port).to.equal(19);
    const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 19)!;
    // Anything sent to chargen is thrown away.
    sock.send(new TextEncoder().encode('ignored\r\n'), 0, 9);
    const want = 3 * CHARGEN_PERIOD + 1000;
    const client = new ChargenClient(sock, want, 2 * MiB, 'abort');
    const ok = runUntil(w.clock, [w.pair.a, w.pair.b, chargen, client], () => client.eof, 60_000);
    expect(ok).to.equal(true);
    expect(client.receivedLen).to.be.at.least(want);
    const got = client.received.subarray(0, client.receivedLen);
    expect(Buffer.from(got).equals(Buffer.from(naiveChargen(got.length))), 'stream matches RFC 864').to.equal(true);
    expect(runUntil(w.clock, [w.pair.a, w.pair.b, chargen], () => chargen.active === 0, 10_000)).to.equal(true);
    expect(chargen.stats.errors, 'the RST ends the connection').to.equal(1);
    finish(w, chargen);
  });

  it('keeps sending after the peer half-closes (its FIN), as inetd\'s chargen does, until the peer resets; two streams at once', () => {
    const w = world();
    const chargen = new ChargenService(w.pair.b, w.pair.tcpB);
    // As `nc 192.0.2.2 19 < /dev/null | head -c 65536`: FIN at once, then read 64 KiB (four
    // times the device's send ring), then go away (RST).
    const clients = [0, 1].map((i) => {
      const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 19)!;
      return new ChargenClient(sock, 65536 + i * 10_000, 2 * MiB, 'half-close first');
    });
    const ok = runUntil(w.clock, [w.pair.a, w.pair.b, chargen, ...clients], () => clients.every((c) => c.eof), 60_000);
    expect(ok).to.equal(true);
    for (const c of clients) {
      expect(c.error).to.equal(0);
      expect(c.receivedLen).to.be.at.least(65536);
      const got = c.received.subarray(0, c.receivedLen);
      expect(Buffer.from(got).equals(Buffer.from(naiveChargen(got.length)))).to.equal(true);
    }
    expect(runUntil(w.clock, [w.pair.a, w.pair.b, chargen], () => chargen.active === 0, 10_000)).to.equal(true);
    expect(chargen.stats, 'the RSTs end both connections').to.deep.include({ accepted: 2, closed: 2, errors: 2 });
    finish(w, chargen);
  });
});
