/**
 * The application interface of TcpSocket (RFC 9293 §3.9.1 user calls): send, recv, shutdown,
 * close, abort, and the socket table slot coming back once a connection is over.
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import { DEFAULT_TCP_CONFIG } from '../../src/socket/tcp/config.ts';
import { DEFAULT_TCP_STACK_OPTIONS, TcpStack, tcpRingBytes } from '../../src/socket/tcp/stack.ts';
import {
  ACK, FIN, LOCAL_MSS, LOCAL_SEQ, PSH, REMOTE_SEQ, RST, SYN, TX_LEN, bytesOf, socketCloseWait, socketEstablished, socketSynSent, text,
} from './tcp-harness.ts';

describe('TCP socket API', () => {
  it('recv() returns WouldBlock while nothing has arrived', () => {
    const h = socketEstablished();
    expect(h.sock.recv(new Uint8Array(8), 0, 8)).to.equal(SocketError.WouldBlock);
    expect(h.sock.readable).to.equal(false);
  });

  it('recv() returns the octets in order, at most `len` at a time', () => {
    const h = socketEstablished();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'hello world' });
    const buf = new Uint8Array(16).fill(0);
    expect(h.sock.recv(buf, 2, 5)).to.equal(5);
    expect(Array.from(buf.subarray(2, 7))).to.deep.equal(Array.from(bytesOf('hello')));
    expect(h.read()).to.equal(' world');
  });

  it('RFC 9293 §3.10.3: recv() returns 0 at end of stream (after the peer\'s FIN, once the data is read)', () => {
    const h = socketCloseWait();
    expect(h.sock.recv(new Uint8Array(8), 0, 8)).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4: after a RST, recv() and send() return ConnectionReset', () => {
    const h = socketEstablished();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    expect(h.sock.recv(new Uint8Array(8), 0, 8)).to.equal(SocketError.ConnectionReset);
    expect(h.sock.send(bytesOf('x'), 0, 1)).to.equal(SocketError.ConnectionReset);
  });

  it('send() takes what fits in the send ring and no more; sendSpace tells how much', () => {
    const h = socketEstablished({ peerWindow: 0 });
    expect(h.sock.sendSpace).to.equal(TX_LEN);
    expect(h.sock.send(bytesOf(text(TX_LEN + 100)), 0, TX_LEN + 100)).to.equal(TX_LEN);
    expect(h.sock.sendSpace).to.equal(0);
    expect(h.sock.send(bytesOf('x'), 0, 1)).to.equal(0);
  });

  it('RFC 9293 §3.10.4: after shutdown() send() returns NotConnected, the FIN goes out and receiving goes on', () => {
    const h = socketEstablished();
    h.sock.shutdown();
    expect(h.sock.send(bytesOf('x'), 0, 1)).to.equal(SocketError.NotConnected);
    h.recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2, payload: 'reply' });
    expect(h.read()).to.equal('reply');
  });

  it('RFC 9293 §3.10.2: send() in SYN-SENT queues the data (it goes after the handshake)', () => {
    const h = socketSynSent();
    expect(h.sock.send(bytesOf('early'), 0, 5)).to.equal(5);
    expect(h.sock.sendQueue).to.equal(5);
    h.recvNothing();
  });

  it('RFC 2525 §2.17: close() with unread data sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> instead of a FIN and frees the slot', () => {
    const h = socketEstablished();
    h.send({ flags: ACK | PSH, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'unread' });
    h.sock.close();
    h.recv({ flags: RST | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 7, window: 0 });
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.5: abort() sends <SEQ=SND.NXT><CTL=RST> and the socket is CLOSED; close() then frees it', () => {
    const h = socketEstablished();
    h.write('in flight');
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'in flight' });
    h.sock.abort();
    h.recv({ flags: RST | ACK, seq: LOCAL_SEQ + 10, ack: REMOTE_SEQ + 1, window: 0 });
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used, 'still the application\'s').to.equal(1);
    h.sock.close();
    expect(h.stack.used).to.equal(0);
    h.recvNothing();
  });

  it('RFC 9293 §3.10.5: abort() in SYN-SENT sends nothing', () => {
    const h = socketSynSent();
    h.sock.abort();
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
  });

  it('close() in ESTABLISHED: FIN, and once the connection is over (TIME-WAIT ends) stack.used is back to 0', () => {
    const h = socketEstablished();
    h.sock.close();
    h.recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.stack.used).to.equal(1);
    h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    h.at(60_000).recvNothing();
    expect(h.stack.used).to.equal(0);
    expect(h.stack.pollAt(h.now)).to.be.greaterThan(1e15);
  });

  it('close() of a socket that ended on its own (CLOSED after a RST) frees the slot at once', () => {
    const h = socketEstablished();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    expect(h.stack.used).to.equal(1);
    h.sock.close();
    expect(h.stack.used).to.equal(0);
  });

  it('a freed slot is reused by the next connection', () => {
    const h = socketEstablished({ sockets: 1 });
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    h.sock.close();
    h.send({ flags: SYN, seq: 9000, srcPort: 4000, mss: 1460 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: 9001, dstPort: 4000, mss: LOCAL_MSS });
    expect(h.stack.used).to.equal(1);
    expect(h.stack.stats.synTableFull).to.equal(0);
  });

  it('a stack built with nothing but its key takes DEFAULT_TCP_STACK_OPTIONS and DEFAULT_TCP_CONFIG, both frozen', () => {
    const stack = new TcpStack({ isnKey: [1, 2, 3, 4] });
    const d = DEFAULT_TCP_STACK_OPTIONS;
    expect(Object.isFrozen(d) && Object.isFrozen(DEFAULT_TCP_CONFIG)).to.equal(true);
    expect(stack.sockets.length).to.equal(d.sockets);
    expect(stack.ringBytes).to.equal(tcpRingBytes({})).and.to.equal(d.sockets * (d.txBufferLen + d.rxBufferLen));
    expect([stack.localAddr, stack.localMss]).to.deep.equal([d.localAddr, d.localMss]);
    expect(stack.config).to.deep.equal(DEFAULT_TCP_CONFIG);
    for (let i = 0; i < d.listeners; i++) expect(stack.listen(1000 + i)).to.equal(i);
    expect(stack.listen(2000), 'every listener slot taken').to.equal(SocketError.WouldBlock);
  });
});
