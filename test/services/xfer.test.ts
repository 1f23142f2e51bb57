/**
 * The shell's `xfer <ip> <port> <octets>` (the device connects out) end to end in virtual time:
 * the device stack (192.0.2.2) runs the telnet server, the peer stack (192.0.2.1) runs a telnet
 * client that types the command and a server on the target port that reads to EOF and answers
 * with data of its own. Then the pattern's definition and the argument parser.
 */
import { expect } from 'chai';
import { parseXferArgs } from '../../firmware-bridge/telnet/format.ts';
import { Telnet } from '../../firmware-bridge/telnet/protocol.ts';
import { SessionState } from '../../firmware-bridge/telnet/session.ts';
import { XFER_SEED, xferPattern } from '../../firmware-bridge/telnet/xfer.ts';
import { SocketError } from '../../src/socket/error.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import { HOST_A } from '../../support/addresses.ts';
import { BulkEndpoint } from '../../support/bulk.ts';
import { randomBytes, sha256 } from '../../support/pattern.ts';
import type { TelnetClient } from '../../support/telnet-client.ts';
import { checkPools } from '../helpers/pools.ts';
import { runUntil } from '../helpers/sim.ts';
import type { StackPair } from '../helpers/tcp-sim.ts';
import { command, expectText, finish as finishWorld, login, telnetWorld, type TelnetWorld } from '../helpers/telnet-world.ts';

const PASSWORD = 'xfer-pass';
const { IAC, IP } = Telnet;

/** A peer app that accepts one connection and never reads from it (so the device's sending stalls). */
class Sink implements Pollable {
  sock: TcpSocket | null = null;
  private readonly tcp: StackPair['tcpA'];
  private readonly listener: number;

  constructor(tcp: StackPair['tcpA'], listener: number) {
    this.tcp = tcp;
    this.listener = listener;
  }

  poll(): boolean {
    if (this.sock !== null) return false;
    this.sock = this.tcp.accept(this.listener);
    return this.sock !== null;
  }
  pollAt(): number {
    return NEVER;
  }
}

/** The telnet world with the bare client xfer needs (it answers no options) and room for long transfers. */
function world(): TelnetWorld {
  return telnetWorld({ server: { password: PASSWORD }, client: { autoNegotiate: false }, limitMs: 120_000 });
}

function finish(w: TelnetWorld, c: TelnetClient): void {
  c.close();
  finishWorld(w);
}

describe('telnet shell: xfer (the device connects out)', function () {
  this.timeout(60_000);
  checkPools();

  it('sends the pattern, half-closes, reads the reply to EOF and prints both SHA-256s', () => {
    const w = world();
    const c = login(w);
    const listener = w.pair.tcpA.listen(5555);
    const reply = randomBytes(70_001, 77);
    const peer = new BulkEndpoint(null, reply, { keep: 200_000, accept: () => w.pair.tcpA.accept(listener) });
    w.parts.push(peer);
    const out = command(w, c, 'xfer 192.0.2.1 5555 100003');
    const lines = out.split('\r\n');
    expect(lines[0]).to.equal('xfer 192.0.2.1 5555 100003');
    expect(lines[1]).to.equal('xfer: connecting to 192.0.2.1 port 5555, sending 100003 octets');
    expect(lines[2]).to.equal(`sent 100003 octets sha256 ${sha256(xferPattern(100003))}`);
    expect(lines[3]).to.equal(`received 70001 octets sha256 ${sha256(reply)}`);
    expect(lines[4]).to.match(/^xfer: 170004 octets in \d+\.\d{3} s$/);
    expect(lines[5]).to.equal('');
    // What the peer got is the pattern, octet for octet.
    expect(peer.eof).to.equal(true);
    expect(Buffer.from(peer.receivedBytes()).equals(Buffer.from(xferPattern(100003)))).to.equal(true);
    // The device's socket closed first: it waits in TIME-WAIT, then goes back to the table.
    expect(command(w, c, 'netstat')).to.match(/192\.0\.2\.1:5555 +TIME-WAIT/);
    w.pair.tcpA.unlisten(listener);
    finish(w, c);
  });

  it('0 octets: only a FIN goes out; the SHA-256 of nothing is printed', () => {
    const w = world();
    const c = login(w);
    const listener = w.pair.tcpA.listen(7000);
    const peer = new BulkEndpoint(null, new Uint8Array(3), { keep: 10, accept: () => w.pair.tcpA.accept(listener) });
    w.parts.push(peer);
    const out = command(w, c, 'xfer 192.0.2.1 7000 0');
    const empty = sha256(new Uint8Array(0));
    expect(out).to.contain(`\r\nsent 0 octets sha256 ${empty}\r\n`);
    expect(out).to.contain(`\r\nreceived 3 octets sha256 ${sha256(new Uint8Array(3))}\r\n`);
    w.pair.tcpA.unlisten(listener);
    finish(w, c);
  });

  it('a refused connection is reported and the shell goes on', () => {
    const w = world();
    const c = login(w);
    const out = command(w, c, 'xfer 192.0.2.1 5555 1000');
    expect(out).to.contain('xfer: connection refused after 0 octets sent, 0 received\r\n');
    expect(command(w, c, 'echo still here')).to.contain('still here');
    finish(w, c);
  });

  it('Ctrl-C (a raw 0x03, or IAC IP) resets a stalled transfer and prints how far it got', () => {
    const w = world();
    const c = login(w);
    const listener = w.pair.tcpA.listen(5555);
    const sink = new Sink(w.pair.tcpA, listener);
    w.parts.push(sink);
    c.line('xfer 192.0.2.1 5555 10000000');
    expectText(w, c, 'sending 10000000 octets\r\n');
    // The sink never reads: the device fills the window and stalls.
    runUntil(w.clock, w.parts, () => false, 5_000);
    const session = w.telnet.sessions.find((s) => s.sock !== null)!;
    expect(session.state).to.equal(SessionState.Xfer);
    c.send(Buffer.from('typed while running\x03', 'latin1'));
    const out = expectText(w, c, 'slipstack> ');
    expect(out).to.match(/^\^C\r\nxfer: interrupted after \d+ octets sent, 0 received\r\n/);
    expect(out).not.to.contain('typed');
    runUntil(w.clock, w.parts, () => sink.sock!.state === TcpState.Closed, 5_000);
    expect(sink.sock!.error).to.equal(SocketError.ConnectionReset);
    sink.sock!.close();

    // Again, stopped by IAC IP this time.
    const sink2 = new Sink(w.pair.tcpA, listener);
    w.parts.push(sink2);
    c.line('xfer 192.0.2.1 5555 10000000');
    expectText(w, c, 'sending 10000000 octets\r\n');
    runUntil(w.clock, w.parts, () => false, 2_000);
    c.send([IAC, IP]);
    expect(expectText(w, c, 'slipstack> ')).to.contain('xfer: interrupted after');
    runUntil(w.clock, w.parts, () => sink2.sock?.state === TcpState.Closed, 5_000);
    sink2.sock!.close();
    w.pair.tcpA.unlisten(listener);
    finish(w, c);
  });

  it('a transfer still going after the time limit (an hour) is reset and reported; the shell goes on', () => {
    const w = world();
    const c = login(w);
    const listener = w.pair.tcpA.listen(5555);
    const sink = new Sink(w.pair.tcpA, listener);
    w.parts.push(sink);
    c.line('xfer 192.0.2.1 5555 10000000');
    expectText(w, c, 'sending 10000000 octets\r\n');
    const started = w.clock.now;
    // The sink never reads: the transfer stalls until the limit ends it.
    const out = expectText(w, c, 'slipstack> ', 2 * 3_600_000);
    expect(w.clock.now - started).to.be.within(3_600_000, 3_601_000);
    expect(out).to.match(/^xfer: time limit of 3600 s reached after \d+ octets sent, 0 received\r\n/);
    runUntil(w.clock, w.parts, () => sink.sock!.state === TcpState.Closed, 5_000);
    sink.sock!.close();
    w.pair.tcpA.unlisten(listener);
    expect(command(w, c, 'echo after')).to.contain('after\r\n');
    expect(command(w, c, 'stats')).to.match(/xferTimeLimits 1\b/);
    finish(w, c);
  });

  it('the telnet session ending during a transfer resets the transfer too', () => {
    const w = world();
    const c = login(w);
    const listener = w.pair.tcpA.listen(5555);
    const sink = new Sink(w.pair.tcpA, listener);
    w.parts.push(sink);
    c.line('xfer 192.0.2.1 5555 10000000');
    expectText(w, c, 'sending 10000000 octets\r\n');
    runUntil(w.clock, w.parts, () => false, 1_000);
    c.close();
    runUntil(w.clock, w.parts, () => sink.sock?.state === TcpState.Closed, 20_000);
    expect(sink.sock!.error).to.equal(SocketError.ConnectionReset);
    sink.sock!.close();
    w.pair.tcpA.unlisten(listener);
    finish(w, c);
  });

  it('explains bad arguments', () => {
    const w = world();
    const c = login(w);
    expect(command(w, c, 'xfer')).to.equal('xfer\r\nusage: xfer <ip> <port> <octets>\r\n');
    expect(command(w, c, 'xfer 192.0.2.1 0 5')).to.contain('xfer: invalid port 0');
    expect(command(w, c, 'xfer 1.2.3 5 5')).to.contain('xfer: 1.2.3: not an IPv4 address');
    expect(command(w, c, 'xfer 192.0.2.1 5 -1')).to.contain('xfer: invalid size -1');
    expect(command(w, c, 'help')).to.contain('xfer <ip> <port> <n>');
    finish(w, c);
  });
});

describe('xfer: pattern and arguments', () => {
  it('the pattern is xorshift32 from 0x5eed, little-endian words, cut at any length', () => {
    // Independent reference, with BigInt so no 32-bit trick is shared with the implementation.
    const words: number[] = [];
    let x = BigInt(XFER_SEED);
    const m = 0xffffffffn;
    for (let i = 0; i < 3; i++) {
      x ^= (x << 13n) & m;
      x ^= x >> 17n;
      x ^= (x << 5n) & m;
      words.push(Number(x));
    }
    const expected: number[] = [];
    for (const w of words) expected.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff);
    expect(XFER_SEED).to.equal(0x5eed);
    expect(Array.from(xferPattern(12))).to.deep.equal(expected);
    expect(Array.from(xferPattern(7))).to.deep.equal(expected.slice(0, 7));
    // Generating in chunks changes nothing: a long prefix equals a short one.
    expect(Buffer.from(xferPattern(10_000).subarray(0, 4099)).equals(Buffer.from(xferPattern(4099)))).to.equal(true);
  });

  it('parses <ip> <port> <octets>', () => {
    expect(parseXferArgs(['192.0.2.1', '5555', '5242880'])).to.deep.equal({ address: HOST_A, port: 5555, octets: 5242880 });
    expect(parseXferArgs(['192.0.2.1', '65536', '1'])).to.be.a('string');
    expect(parseXferArgs(['192.0.2.1', '1', '1e6'])).to.be.a('string');
    expect(parseXferArgs(['192.0.2.1', '1'])).to.be.a('string');
  });
});
