/**
 * CLOSED and LISTEN (RFC 9293 §3.10.7.1-2), the socket table, the backlog and RFC 6528 ISNs:
 * the stack-level parts of TCP, driven through `TcpStack.input`.
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import {
  ACK, FIN, LOCAL_ADDR, LOCAL_MSS, LOCAL_PORT, LOCAL_SEQ, REMOTE_ADDR, REMOTE_PORT, REMOTE_SEQ, RST, SYN, TcpHarness,
  socketEstablished, socketFinWait1, socketListen,
} from './tcp-harness.ts';

describe('TCP CLOSED', () => {
  it('RFC 9293 §3.10.7.1: a SYN to a port nobody listens on is answered with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
    const h = new TcpHarness();
    h.send({ flags: SYN, seq: REMOTE_SEQ, dstPort: 81, mss: 1460 });
    h.recv({ srcPort: 81, flags: RST | ACK, seq: 0, ack: REMOTE_SEQ + 1, window: 0 });
    expect(h.stack.stats.noSocket).to.equal(1);
    expect(h.stack.stats.outRsts).to.equal(1);
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.1: without ACK, SEG.LEN counts the text and the FIN: <ACK=SEG.SEQ+SEG.LEN>', () => {
    const h = new TcpHarness();
    h.send({ flags: FIN, seq: REMOTE_SEQ, payload: 'hello' });
    h.recv({ flags: RST | ACK, seq: 0, ack: REMOTE_SEQ + 6, window: 0 });
  });

  it('RFC 9293 §3.10.7.1: a segment with ACK is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = new TcpHarness();
    h.send({ flags: ACK, seq: REMOTE_SEQ, ack: 123456, payload: 'xy' });
    h.recv({ flags: RST, seq: 123456, ack: 0, window: 0 });
  });

  it('RFC 9293 §3.10.7.1: an incoming RST is discarded', () => {
    const h = new TcpHarness();
    h.send({ flags: RST, seq: REMOTE_SEQ });
    h.send({ flags: RST | ACK, seq: REMOTE_SEQ, ack: 77 });
    h.recvNothing();
    expect(h.stack.stats.outRsts).to.equal(0);
  });

  it('RFC 9293 §3.10.7.1: a connection that has ended (CLOSED, still held by the application) answers like a closed port', () => {
    const h = socketEstablished();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used, 'the application still holds the socket').to.equal(1);
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'late' });
    h.recv({ flags: RST, seq: LOCAL_SEQ + 1, ack: 0, window: 0 });
  });
});

describe('TCP LISTEN', () => {
  it('RFC 9293 §3.10.7.2: a RST is ignored', () => {
    const h = socketListen();
    h.send({ flags: RST, seq: REMOTE_SEQ });
    h.recvNothing();
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.2: an ACK is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = socketListen();
    h.send({ flags: ACK, seq: REMOTE_SEQ, ack: 4242 });
    h.recv({ flags: RST, seq: 4242, ack: 0, window: 0 });
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.2: a SYN,ACK is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = socketListen();
    h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: 4242 });
    h.recv({ flags: RST, seq: 4242, ack: 0, window: 0 });
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.2: a segment with neither SYN, ACK nor RST is dropped', () => {
    const h = socketListen();
    h.send({ flags: FIN, seq: REMOTE_SEQ, payload: 'data' });
    h.send({ flags: 0, seq: REMOTE_SEQ, payload: 'data' });
    h.recvNothing();
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.2: a SYN makes a SYN-RECEIVED connection (IRS=SEG.SEQ, RCV.NXT=SEG.SEQ+1) answered with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>', () => {
    const h = socketListen();
    h.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1000, window: 5000 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    const s = h.stack.sockets.find((x) => x.inUse)!;
    expect(s.stateName).to.equal('SYN-RECEIVED');
    expect([s.irs, s.rcvNxt, s.iss, s.sndUna, s.sndNxt]).to.deep.equal([REMOTE_SEQ, REMOTE_SEQ + 1, LOCAL_SEQ, LOCAL_SEQ, LOCAL_SEQ + 1]);
    expect(s.window.sndWnd, 'SND.WND from the SYN').to.equal(5000);
    expect(s.sendMss, 'the smaller of the two MSS').to.equal(1000);
    expect(h.stack.stats.passiveOpens).to.equal(1);
    expect(h.stack.accept(h.listener), 'not acceptable before the handshake completes').to.equal(null);
  });

  it('RFC 9293 §3.7.1: a SYN without MSS option means MSS 536', () => {
    const h = socketListen();
    h.send({ flags: SYN, seq: REMOTE_SEQ });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    expect(h.stack.sockets.find((x) => x.inUse)!.sendMss).to.equal(536);
  });

  it('RFC 7323 / RFC 2018: the SYN-ACK offers window scale, SACK and timestamps only when the SYN did (and config allows)', () => {
    const h = socketListen({ config: { windowScaling: true, sack: true, timestamps: true }, rxBufferLen: 100_000 });
    h.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460, windowScale: 7, sackPermitted: true, ts: [555, 0] });
    const [synAck] = h.output();
    expect(synAck!.ts).to.not.equal(null);
    const s = h.stack.sockets.find((x) => x.inUse)!;
    expect({ flags: synAck!.flags, window: synAck!.window, mss: synAck!.mss, windowScale: synAck!.windowScale, sackPermitted: synAck!.sackPermitted, ecr: synAck!.ts![1] })
      .to.deep.equal({ flags: SYN | ACK, window: 65535, mss: LOCAL_MSS, windowScale: 1, sackPermitted: true, ecr: 555 });
    expect([s.window.sndScale, s.window.rcvScale, s.sackOk, s.tsOk]).to.deep.equal([7, 1, true, true]);

    const plain = socketListen({ config: { windowScaling: true, sack: true, timestamps: true }, rxBufferLen: 100_000 });
    plain.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    plain.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS, window: 65535 });
  });

  it('a full backlog refuses the next SYN with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> and counts listenOverflow', () => {
    const h = socketListen({}, 2);
    h.send({ flags: SYN, seq: 1000, srcPort: 1001 });
    h.send({ flags: SYN, seq: 2000, srcPort: 1002 });
    h.recv(
      { flags: SYN | ACK, seq: LOCAL_SEQ, ack: 1001, dstPort: 1001, mss: LOCAL_MSS },
      { flags: SYN | ACK, seq: LOCAL_SEQ, ack: 2001, dstPort: 1002, mss: LOCAL_MSS },
    );
    h.send({ flags: SYN, seq: 3000, srcPort: 1003 });
    h.recv({ flags: RST | ACK, seq: 0, ack: 3001, dstPort: 1003, window: 0 });
    expect(h.stack.stats.listenOverflow).to.equal(1);
    expect(h.stack.used).to.equal(2);
  });

  it('the backlog counts connections not yet accepted: accept() makes room for the next SYN', () => {
    const h = socketListen({}, 1);
    h.send({ flags: SYN, seq: 1000, srcPort: 1001 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: 1001, dstPort: 1001, mss: LOCAL_MSS });
    h.send({ flags: ACK, seq: 1001, ack: LOCAL_SEQ + 1, srcPort: 1001 });
    h.recvNothing();
    h.send({ flags: SYN, seq: 2000, srcPort: 1002 });
    h.recv({ flags: RST | ACK, seq: 0, ack: 2001, dstPort: 1002, window: 0 });
    const first = h.stack.accept(h.listener);
    expect(first?.remotePort).to.equal(1001);
    h.send({ flags: SYN, seq: 3000, srcPort: 1003 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: 3001, dstPort: 1003, mss: LOCAL_MSS });
    expect(h.stack.stats.listenOverflow).to.equal(1);
  });

  it('a full socket table refuses a SYN with a RST and counts synTableFull', () => {
    const h = socketListen({ sockets: 2 }, 8);
    h.send({ flags: SYN, seq: 1000, srcPort: 1001 });
    h.send({ flags: SYN, seq: 2000, srcPort: 1002 });
    h.output();
    h.send({ flags: SYN, seq: 3000, srcPort: 1003 });
    h.recv({ flags: RST | ACK, seq: 0, ack: 3001, dstPort: 1003, window: 0 });
    expect(h.stack.stats.synTableFull).to.equal(1);
    expect(h.stack.stats.listenOverflow).to.equal(0);
  });

  it('connect() with a full socket table returns null (no exception; synTableFull counts refused SYNs only)', () => {
    const h = socketListen({ sockets: 1 });
    h.send({ flags: SYN, seq: 1000 });
    expect(h.stack.connect(h.now, REMOTE_ADDR, 8080)).to.equal(null);
    expect(h.stack.stats.synTableFull).to.equal(0);
    expect(h.stack.used).to.equal(1);
  });

  it('a second listen() on the same port is refused with AddressInUse', () => {
    const h = socketListen();
    expect(h.stack.listen(LOCAL_PORT)).to.equal(SocketError.AddressInUse);
  });

  it('unlisten() resets connections not yet accepted and frees their slots', () => {
    const h = socketListen();
    h.send({ flags: SYN, seq: REMOTE_SEQ });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    h.stack.unlisten(h.listener);
    h.recv({ flags: RST | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, window: 0 });
    expect(h.stack.used).to.equal(0);
    h.send({ flags: SYN, seq: REMOTE_SEQ + 100 });
    h.recv({ flags: RST | ACK, seq: 0, ack: REMOTE_SEQ + 101, window: 0 });
  });

  it('unlisten() leaves alone connections the application accepted, even once it has closed them', () => {
    const h = socketFinWait1({ close: true });
    h.stack.unlisten(h.listener);
    h.recvNothing();
    expect(h.state).to.equal('FIN-WAIT-1');
    h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: h.window(1) });
    expect(h.state).to.equal('TIME-WAIT');
  });
});

describe('TCP initial sequence numbers (RFC 6528)', () => {
  it('RFC 6528 §3: the ISN differs per 4-tuple', () => {
    const h = new TcpHarness({ iss: null, sockets: 4 });
    const a = h.stack.connect(0, REMOTE_ADDR, 80, 40000)!;
    const b = h.stack.connect(0, REMOTE_ADDR, 81, 40000)!;
    const c = h.stack.connect(0, REMOTE_ADDR + 1, 80, 40000)!;
    const d = h.stack.connect(0, REMOTE_ADDR, 80, 40001)!;
    const isns = [a.iss, b.iss, c.iss, d.iss];
    expect(new Set(isns).size, `ISNs ${isns.map((x) => (x >>> 0).toString(16))}`).to.equal(4);
  });

  it('RFC 6528 §3: the ISN depends on the secret key', () => {
    const one = new TcpHarness({ iss: null, isnKey: [1, 2, 3, 4] });
    const two = new TcpHarness({ iss: null, isnKey: [1, 2, 3, 5] });
    expect(one.stack.isn(0, LOCAL_ADDR, 40000, REMOTE_ADDR, 80)).to.not.equal(two.stack.isn(0, LOCAL_ADDR, 40000, REMOTE_ADDR, 80));
  });

  it('RFC 6528 §3: for one 4-tuple the ISN advances with a 4 µs clock (250 per ms)', () => {
    const h = new TcpHarness({ iss: null, sockets: 1 });
    const first = h.stack.connect(0, REMOTE_ADDR, REMOTE_PORT, LOCAL_PORT)!;
    const iss0 = first.iss;
    first.close();
    expect(h.stack.used).to.equal(0);
    const again = h.stack.connect(1000, REMOTE_ADDR, REMOTE_PORT, LOCAL_PORT)!;
    expect((again.iss - iss0) | 0).to.equal(250_000);
    expect((h.stack.isn(3_600_000, LOCAL_ADDR, LOCAL_PORT, REMOTE_ADDR, REMOTE_PORT) - iss0) | 0).to.equal((3_600_000 * 250) | 0);
  });

  it('RFC 6528: the SYN carries the generated ISN', () => {
    const h = new TcpHarness({ iss: null });
    h.sock = h.stack.connect(h.now, REMOTE_ADDR, REMOTE_PORT, LOCAL_PORT)!;
    const want = h.stack.isn(0, LOCAL_ADDR, LOCAL_PORT, REMOTE_ADDR, REMOTE_PORT);
    h.recv({ flags: SYN, seq: want, mss: LOCAL_MSS });
  });
});
