/**
 * Closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4): FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING,
 * LAST-ACK, TIME-WAIT; half-close, four-way close from either side, simultaneous close,
 * 2·MSL and the FIN-WAIT-2 timeout for orphaned sockets.
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import {
  ACK, FIN, LOCAL_SEQ, PSH, REMOTE_SEQ, RST, SYN, socketCloseWait, socketClosing, socketEstablished, socketFinWait1,
  socketFinWait2, socketLastAck, socketTimeWait,
} from './tcp-harness.ts';

describe('TCP FIN-WAIT-1', () => {
  it('RFC 9293 §3.10.4: CLOSE in ESTABLISHED sends <SEQ=SND.NXT><CTL=FIN,ACK>; the FIN takes one sequence number', () => {
    const h = socketFinWait1();
    expect([h.sock.sndNxt, h.sock.finSeq]).to.deep.equal([LOCAL_SEQ + 2, LOCAL_SEQ + 1]);
  });

  it('RFC 9293 §3.10.4: the FIN follows the queued data, in the same segment when it fits', () => {
    const h = socketEstablished();
    h.write('hello');
    h.sock.shutdown();
    h.recv({ flags: ACK | PSH | FIN, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'hello' });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 6 });
    expect(h.state, 'data ACKed, FIN not').to.equal('FIN-WAIT-1');
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 7 });
    expect(h.state).to.equal('FIN-WAIT-2');
  });

  it('RFC 9293 §3.10.7.4 fifth: an ACK below the FIN leaves FIN-WAIT-1; the ACK of the FIN moves to FIN-WAIT-2', () => {
    const h = socketFinWait1();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    expect(h.state).to.equal('FIN-WAIT-1');
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('FIN-WAIT-2');
  });

  it('RFC 9293 §3.10.7.4 eighth: a FIN that also ACKs our FIN goes straight to TIME-WAIT and is ACKed', () => {
    const h = socketFinWait1();
    h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('TIME-WAIT');
  });

  it('RFC 9293 §3.10.7.4 eighth: a FIN that does not ACK ours moves to CLOSING (simultaneous close)', () => {
    const h = socketClosing();
    expect(h.transitions.slice(-2)).to.deep.equal(['ESTABLISHED => FIN-WAIT-1', 'FIN-WAIT-1 => CLOSING']);
  });

  it('RFC 9293 §3.10.7.4 seventh: text from the peer is still taken in FIN-WAIT-1 (half-close)', () => {
    const h = socketFinWait1();
    h.send({ flags: ACK | PSH, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'more' });
    h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 5, window: 4092 });
    expect(h.read()).to.equal('more');
  });

  it('RFC 6298 §5: an unacknowledged FIN is retransmitted after the RTO', () => {
    const h = socketFinWait1();
    h.at(999).recvNothing();
    h.at(1000).recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    h.at(3000).recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('FIN-WAIT-1');
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes (ConnectionReset)', () => {
    const h = socketFinWait1();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.ConnectionReset);
  });

  it('RFC 5961 §4.2: a SYN gets a challenge ACK', () => {
    const h = socketFinWait1();
    h.send({ flags: SYN, seq: REMOTE_SEQ + 5 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('FIN-WAIT-1');
  });
});

describe('TCP FIN-WAIT-2', () => {
  it('RFC 9293 §3.10.7.4 seventh: the peer may keep sending (half-close); its data is ACKed and delivered', () => {
    const h = socketFinWait2();
    h.send({ flags: ACK | PSH, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2, payload: 'still here' });
    h.recvNothing();
    h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 11, window: 4086 });
    expect(h.read()).to.equal('still here');
  });

  it('RFC 9293 §3.10.7.4 eighth: the peer\'s FIN moves to TIME-WAIT and is ACKed', () => {
    const h = socketTimeWait();
    expect(h.transitions).to.deep.equal([
      'CLOSED => SYN-RECEIVED', 'SYN-RECEIVED => ESTABLISHED', 'ESTABLISHED => FIN-WAIT-1', 'FIN-WAIT-1 => FIN-WAIT-2',
      'FIN-WAIT-2 => TIME-WAIT',
    ]);
  });

  it('an orphaned (closed) socket leaves FIN-WAIT-2 after finWait2TimeoutMs (60 s) and its slot is freed', () => {
    const h = socketFinWait2({ close: true });
    expect(h.sock.pollAt(h.now)).to.equal(60_000);
    h.at(59_999).recvNothing();
    expect(h.state).to.equal('FIN-WAIT-2');
    h.at(60_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used).to.equal(0);
  });

  it('a socket still held (shutdown, not closed) stays in FIN-WAIT-2 with no timeout', () => {
    const h = socketFinWait2();
    h.at(600_000).recvNothing();
    expect(h.state).to.equal('FIN-WAIT-2');
  });

  it('close() after shutdown() in FIN-WAIT-2 makes the socket an orphan: it times out after finWait2TimeoutMs', () => {
    const h = socketFinWait2();
    // Application calls take no time argument: the timeout runs from the last poll (t = 1000).
    h.at(1000).recvNothing();
    h.sock.close();
    h.at(61_000 - 1).recvNothing();
    expect(h.state).to.equal('FIN-WAIT-2');
    h.at(61_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 2525 §2.17: data for an orphaned (closed) socket is answered with a RST', () => {
    const h = socketFinWait2({ close: true });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2, payload: 'anyone?' });
    h.recv({ flags: RST | ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 1, window: 0 });
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes', () => {
    const h = socketFinWait2();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
  });
});

describe('TCP CLOSE-WAIT', () => {
  it('RFC 9293 §3.10.7.4 eighth: the peer\'s FIN moves ESTABLISHED to CLOSE-WAIT, is ACKed, and recv() then reports end of stream', () => {
    const h = socketCloseWait();
    expect(h.sock.recv(new Uint8Array(8), 0, 8)).to.equal(0);
    expect(h.sock.readable).to.equal(true);
  });

  it('RFC 9293 §3.10.7.4 eighth: a FIN after data: the data is read first, then end of stream', () => {
    const h = socketEstablished();
    h.send({ flags: ACK | PSH | FIN, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'bye' });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 5, window: 4092 });
    expect(h.read()).to.equal('bye');
    expect(h.sock.recv(new Uint8Array(8), 0, 8)).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4: half-close: we keep sending to a peer in FIN-WAIT-2', () => {
    const h = socketCloseWait();
    h.write('response');
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095, payload: 'response' });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 9 });
    expect(h.sock.sendQueue).to.equal(0);
    expect(h.state).to.equal('CLOSE-WAIT');
  });

  it('RFC 9293 §3.10.7.4: a retransmitted FIN is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
    const h = socketCloseWait();
    h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('CLOSE-WAIT');
  });

  it('RFC 9293 §3.10.4: CLOSE in CLOSE-WAIT sends the FIN and moves to LAST-ACK', () => {
    const h = socketLastAck();
    expect(h.transitions.slice(-2)).to.deep.equal(['ESTABLISHED => CLOSE-WAIT', 'CLOSE-WAIT => LAST-ACK']);
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes (ConnectionReset)', () => {
    const h = socketCloseWait();
    h.send({ flags: RST, seq: REMOTE_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.ConnectionReset);
  });

  it('RFC 5961 §4.2: a SYN gets a challenge ACK', () => {
    const h = socketCloseWait();
    h.send({ flags: SYN, seq: REMOTE_SEQ + 10 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('CLOSE-WAIT');
  });
});

describe('TCP CLOSING', () => {
  it('RFC 9293 §3.10.7.4 fifth: the ACK of our FIN moves CLOSING to TIME-WAIT', () => {
    const h = socketClosing();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('TIME-WAIT');
    h.at(60_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
  });

  it('RFC 9293 §3.10.7.4 fifth: an ACK below our FIN leaves CLOSING', () => {
    const h = socketClosing();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 1 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSING');
  });

  it('RFC 6298 §5: our FIN is retransmitted after the RTO, now with ACK=RCV.NXT past the peer\'s FIN', () => {
    const h = socketClosing();
    h.at(1000).recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095 });
  });

  it('RFC 9293 §3.10.7.4: the peer\'s retransmitted FIN is ACKed again', () => {
    const h = socketClosing();
    h.send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('CLOSING');
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes', () => {
    const h = socketClosing();
    h.send({ flags: RST, seq: REMOTE_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
  });
});

describe('TCP LAST-ACK', () => {
  it('RFC 9293 §3.10.7.4 fifth: the ACK of our FIN closes the connection; nothing is sent', () => {
    const h = socketLastAck();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4 fifth: an ACK below our FIN leaves LAST-ACK', () => {
    const h = socketLastAck();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 1 });
    expect(h.state).to.equal('LAST-ACK');
  });

  it('the four-way close from the peer\'s side frees the slot of a closed socket once CLOSED', () => {
    const h = socketLastAck({ close: true });
    expect(h.stack.used).to.equal(1);
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 2 });
    expect(h.stack.used).to.equal(0);
    expect(h.transitions).to.deep.equal([
      'CLOSED => SYN-RECEIVED', 'SYN-RECEIVED => ESTABLISHED', 'ESTABLISHED => CLOSE-WAIT', 'CLOSE-WAIT => LAST-ACK',
      'LAST-ACK => CLOSED',
    ]);
  });

  it('RFC 6298 §5: our FIN is retransmitted after the RTO', () => {
    const h = socketLastAck();
    h.at(1000).recv({ flags: FIN | ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('LAST-ACK');
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes', () => {
    const h = socketLastAck();
    h.send({ flags: RST, seq: REMOTE_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
  });
});

describe('TCP TIME-WAIT', () => {
  it('RFC 9293 §3.10.7.4: TIME-WAIT lasts 2·MSL (2 × 30 s), then CLOSED', () => {
    const h = socketTimeWait();
    expect(h.sock.pollAt(h.now)).to.equal(60_000);
    h.at(59_999).recvNothing();
    expect(h.state).to.equal('TIME-WAIT');
    h.at(60_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4: a retransmitted FIN is ACKed again and restarts the 2·MSL timeout', () => {
    const h = socketTimeWait();
    h.at(30_000).send({ flags: FIN | ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.sock.pollAt(h.now)).to.equal(90_000);
    h.at(89_999).recvNothing();
    expect(h.state).to.equal('TIME-WAIT');
    h.at(90_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
  });

  it('RFC 9293 §3.10.7.4: mslMs sets the TIME-WAIT length', () => {
    const h = socketTimeWait({ config: { mslMs: 1000 } });
    h.at(1999).recvNothing();
    expect(h.state).to.equal('TIME-WAIT');
    h.at(2000).recvNothing();
    expect(h.state).to.equal('CLOSED');
  });

  it('the four-way close from our side frees the slot of a closed socket after TIME-WAIT', () => {
    const h = socketTimeWait({ close: true });
    expect(h.stack.used).to.equal(1);
    h.at(60_000).recvNothing();
    expect(h.stack.used).to.equal(0);
  });

  it('simultaneous close: FIN-WAIT-1 -> CLOSING -> TIME-WAIT -> CLOSED', () => {
    const h = socketClosing({ close: true });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 2, ack: LOCAL_SEQ + 2 });
    h.at(60_000).recvNothing();
    expect(h.transitions.slice(2)).to.deep.equal([
      'ESTABLISHED => FIN-WAIT-1', 'FIN-WAIT-1 => CLOSING', 'CLOSING => TIME-WAIT', 'TIME-WAIT => CLOSED',
    ]);
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT closes', () => {
    const h = socketTimeWait();
    h.send({ flags: RST, seq: REMOTE_SEQ + 2 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
  });

  it('RFC 9293 §3.10.7.4: an old duplicate ACK is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and does not restart 2·MSL', () => {
    const h = socketTimeWait();
    h.at(10_000).send({ flags: ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 2, payload: 'x' });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.sock.pollAt(h.now)).to.equal(60_000);
  });

  it('RFC 5961 §4.2: an in-window SYN gets a challenge ACK', () => {
    const h = socketTimeWait();
    h.send({ flags: SYN, seq: REMOTE_SEQ + 100 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('TIME-WAIT');
  });
});
