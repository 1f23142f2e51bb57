/**
 * Opening a connection: SYN-SENT and SYN-RECEIVED (RFC 9293 §3.5, §3.10.7.3, §3.10.7.4),
 * active, passive and simultaneous open, SYN retransmission (RFC 6298).
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import {
  ACK, FIN, LOCAL_MSS, LOCAL_SEQ, PSH, REMOTE_SEQ, RST, SYN, bytesOf, socketEstablishedActive, socketSynReceived,
  socketSynSent,
} from './tcp-harness.ts';

describe('TCP SYN-SENT', () => {
  it('RFC 9293 §3.10.1: OPEN sends <SEQ=ISS><CTL=SYN> with our MSS', () => {
    const h = socketSynSent();
    expect(h.stack.stats.activeOpens).to.equal(1);
    expect([h.sock.sndUna, h.sock.sndNxt]).to.deep.equal([LOCAL_SEQ, LOCAL_SEQ + 1]);
  });

  it('RFC 7323 §2.2 / RFC 2018 §2: the SYN offers window scale, SACK-permitted and timestamps, with an unscaled window', () => {
    // socketSynSent() asserts the whole SYN: MSS, window 65535 (not scaled), shift 1, SACK-permitted, <TSval, TSecr=0>.
    const h = socketSynSent({ config: { windowScaling: true, sack: true, timestamps: true }, rxBufferLen: 100_000 });
    expect(h.sock.window.rcvScale).to.equal(1);
  });

  it('RFC 9293 §3.10.7.3: a SYN,ACK acknowledging our SYN moves to ESTABLISHED and is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
    const h = socketEstablishedActive();
    expect([h.sock.irs, h.sock.rcvNxt, h.sock.sndUna, h.sock.sndNxt]).to.deep.equal([REMOTE_SEQ, REMOTE_SEQ + 1, LOCAL_SEQ + 1, LOCAL_SEQ + 1]);
    expect(h.transitions).to.deep.equal(['CLOSED => SYN-SENT', 'SYN-SENT => ESTABLISHED']);
  });

  it('RFC 9293 §3.10.7.3 first: SEG.ACK =< ISS is answered with <SEQ=SEG.ACK><CTL=RST> and the state does not change', () => {
    const h = socketSynSent();
    h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ, mss: 1460 });
    h.recv({ flags: RST, seq: LOCAL_SEQ, ack: 0, window: 0 });
    expect(h.state).to.equal('SYN-SENT');
  });

  it('RFC 9293 §3.10.7.3 first: SEG.ACK > SND.NXT is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = socketSynSent();
    h.send({ flags: ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 2 });
    h.recv({ flags: RST, seq: LOCAL_SEQ + 2, ack: 0, window: 0 });
    expect(h.state).to.equal('SYN-SENT');
  });

  it('RFC 9293 §3.10.7.3 first: an unacceptable ACK on a RST is dropped without reply', () => {
    const h = socketSynSent();
    h.send({ flags: RST | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 5 });
    h.recvNothing();
    expect(h.state).to.equal('SYN-SENT');
  });

  it('RFC 9293 §3.10.7.3 second: RST with an acceptable ACK refuses the connection (CLOSED, "connection reset")', () => {
    const h = socketSynSent();
    h.send({ flags: RST | ACK, seq: 0, ack: LOCAL_SEQ + 1 });
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.ConnectionRefused);
    expect(h.sock.recv(new Uint8Array(4), 0, 4)).to.equal(SocketError.ConnectionRefused);
    expect(h.stack.stats.attemptFails).to.equal(1);
  });

  it('RFC 9293 §3.10.7.3 second: RST without ACK is dropped', () => {
    const h = socketSynSent();
    h.send({ flags: RST, seq: REMOTE_SEQ });
    h.recvNothing();
    expect(h.state).to.equal('SYN-SENT');
  });

  it('RFC 9293 §3.10.7.3 fifth: a segment with neither SYN nor RST is dropped', () => {
    const h = socketSynSent();
    h.send({ flags: ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, payload: 'early' });
    h.recvNothing();
    expect(h.state).to.equal('SYN-SENT');
  });

  it('RFC 9293 §3.7.1: the send MSS is the smaller of the peer\'s MSS and ours', () => {
    const h = socketEstablishedActive({ peerSyn: { mss: 512 } });
    expect(h.sock.sendMss).to.equal(512);
  });

  it('RFC 7323 §2.2: the window in a SYN,ACK is not scaled; later windows are shifted by the peer\'s scale', () => {
    const h = socketEstablishedActive({ config: { windowScaling: true }, peerSyn: { windowScale: 3, window: 1000 } });
    expect(h.sock.window.sndWnd).to.equal(1000);
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 1000 });
    expect(h.sock.window.sndWnd).to.equal(8000);
  });

  it('RFC 7323 §1.3: a SYN,ACK without window scale turns scaling off on both sides', () => {
    const h = socketEstablishedActive({ config: { windowScaling: true }, rxBufferLen: 100_000 });
    expect([h.sock.window.sndScale, h.sock.window.rcvScale]).to.deep.equal([0, 0]);
  });

  it('RFC 9293 §3.5 (figure 8): simultaneous open: a SYN in SYN-SENT moves to SYN-RECEIVED and is answered with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>', () => {
    const h = socketSynSent();
    h.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    expect(h.state).to.equal('SYN-RECEIVED');
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
  });

  it('RFC 9293 §3.5 (figure 8): simultaneous open completes when the peer\'s ACK of our SYN arrives', () => {
    const h = socketSynSent();
    h.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recvNothing();
    expect(h.transitions).to.deep.equal(['CLOSED => SYN-SENT', 'SYN-SENT => SYN-RECEIVED', 'SYN-RECEIVED => ESTABLISHED']);
    expect(h.stack.accept(0), 'an active open is never in a listen queue').to.equal(null);
  });

  it('RFC 9293 §3.5 (figure 8 line 6): in a simultaneous open the peer\'s <SEQ=IRS><ACK=ISS+1><CTL=SYN,ACK> moves SYN-RECEIVED to ESTABLISHED', () => {
    const h = socketSynSent();
    h.send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    // The peer, in SYN-RECEIVED too, answers our SYN with its own SYN,ACK (Linux does).
    h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460 });
    expect(h.state).to.equal('ESTABLISHED');
    const out = h.output();
    // Nothing, or at most a plain ACK <SEQ=ISS+1><ACK=IRS+1>.
    for (const s of out) expect([s.flags, s.seq, s.ack]).to.deep.equal([ACK, LOCAL_SEQ + 1, REMOTE_SEQ + 1]);
  });

  it('RFC 9293 §3.10.2: data sent in SYN-SENT is queued and goes out once ESTABLISHED', () => {
    const h = socketSynSent();
    expect(h.sock.send(bytesOf('hello'), 0, 5)).to.equal(5);
    h.recvNothing();
    h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460 });
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'hello' });
  });

  it('RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the connection without sending anything', () => {
    const h = socketSynSent();
    h.sock.close();
    h.recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.stack.used).to.equal(0);
  });

  it('RFC 6298 §5.5: the SYN is retransmitted after 1 s, then 2 s, 4 s ... (at most rtoMaxMs) and connect fails with TimedOut after synRetries', () => {
    const h = socketSynSent();
    const syn = { flags: SYN, seq: LOCAL_SEQ, mss: LOCAL_MSS };
    let deadline = 0;
    for (let k = 0; k < h.stack.config.synRetries; k++) {
      deadline += 1000 << k;
      h.at(deadline - 1).recvNothing();
      h.at(deadline).recv(syn);
    }
    expect(h.now).to.equal(63_000);
    // The seventh timeout: the RTO would be 64 s, capped at rtoMaxMs = 60 s.
    h.at(123_000 - 1).recvNothing();
    expect(h.state).to.equal('SYN-SENT');
    h.at(123_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.TimedOut);
    expect(h.stack.stats.retransSegs).to.equal(6);
    expect(h.stack.stats.attemptFails).to.equal(1);
  });

  it('RFC 6298 §3 (Karn): a SYN,ACK for a retransmitted SYN gives no RTT sample', () => {
    const h = socketSynSent();
    h.at(1000).recv({ flags: SYN, seq: LOCAL_SEQ, mss: LOCAL_MSS });
    h.at(1100).send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.sock.rtt.srtt).to.equal(0);
  });

  it('RFC 6298 §5.7: after the SYN timed out, the RTO is 3 s when data transmission begins', () => {
    const h = socketSynSent();
    h.at(1000).recv({ flags: SYN, seq: LOCAL_SEQ, mss: LOCAL_MSS });
    h.at(1100).send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.sock.rtt.rto).to.equal(3000);
  });

  it('RFC 6298 §2.2: an RTT sample from an unretransmitted SYN sets SRTT and RTTVAR', () => {
    const h = socketSynSent();
    h.at(80).send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: LOCAL_SEQ + 1, mss: 1460 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect([h.sock.rtt.srtt, h.sock.rtt.rttvar, h.sock.rtt.rto]).to.deep.equal([80, 40, 1000]);
  });
});

describe('TCP SYN-RECEIVED', () => {
  it('RFC 9293 §3.10.7.4 fifth: SND.UNA < SEG.ACK =< SND.NXT moves to ESTABLISHED and queues the connection for accept()', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recvNothing();
    expect(h.state).to.equal('ESTABLISHED');
    expect(h.stack.accept(h.listener)).to.equal(h.sock);
    expect(h.stack.accept(h.listener)).to.equal(null);
  });

  it('RFC 9293 §3.10.7.4 fifth: an unacceptable ACK (SEG.ACK =< SND.UNA) is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ });
    h.recv({ flags: RST, seq: LOCAL_SEQ, ack: 0, window: 0 });
    expect(h.state).to.equal('SYN-RECEIVED');
  });

  it('RFC 9293 §3.10.7.4 fifth: an unacceptable ACK (SEG.ACK > SND.NXT) is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 9 });
    h.recv({ flags: RST, seq: LOCAL_SEQ + 9, ack: 0, window: 0 });
    expect(h.state).to.equal('SYN-RECEIVED');
  });

  it('RFC 9293 §3.10.7.4 fifth: a segment without ACK is dropped', () => {
    const h = socketSynReceived();
    h.send({ flags: 0, seq: REMOTE_SEQ + 1, payload: 'abc' });
    h.recvNothing();
    expect(h.state).to.equal('SYN-RECEIVED');
    expect(h.sock.recvQueue).to.equal(0);
  });

  it('RFC 9293 §3.10.7.4 second: a RST with SEG.SEQ = RCV.NXT ends a passive open (the slot is freed, the listener stays)', () => {
    const h = socketSynReceived();
    h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
    h.recvNothing();
    expect(h.stack.used).to.equal(0);
    expect(h.stack.stats.attemptFails).to.equal(1);
    h.send({ flags: SYN, seq: REMOTE_SEQ + 1000, mss: 1460 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1001, mss: LOCAL_MSS });
  });

  it('RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
    const h = socketSynReceived();
    h.send({ flags: RST, seq: REMOTE_SEQ + 100 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('SYN-RECEIVED');
    expect(h.stack.stats.challengeAcks).to.equal(1);
  });

  it('RFC 9293 §3.10.7.4: a retransmitted SYN (our SYN,ACK was lost) is answered with the SYN,ACK again', () => {
    const h = socketSynReceived();
    h.at(300).send({ flags: SYN, seq: REMOTE_SEQ, mss: 1460 });
    h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS });
    expect(h.state).to.equal('SYN-RECEIVED');
    expect(h.stack.used).to.equal(1);
  });

  it('RFC 9293 §3.10.7.4: an out-of-window segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + 5000, ack: LOCAL_SEQ + 1, payload: 'x' });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('SYN-RECEIVED');
  });

  it('RFC 9293 §3.10.7.4: data on the handshake ACK is accepted', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK | PSH, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'GET /' });
    expect(h.state).to.equal('ESTABLISHED');
    h.recvNothing();
    h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 6, window: 4091 });
    expect(h.stack.accept(h.listener)).to.equal(h.sock);
    expect(h.read()).to.equal('GET /');
  });

  it('RFC 9293 §3.10.7.4 eighth: a FIN on the handshake ACK goes to CLOSE-WAIT (via ESTABLISHED) and is ACKed', () => {
    const h = socketSynReceived();
    h.send({ flags: ACK | FIN, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 2, window: 4095 });
    expect(h.state).to.equal('CLOSE-WAIT');
  });

  it('RFC 6298 §5: the SYN,ACK is retransmitted at 1 s, 2 s, 4 s ...; after synRetries the embryonic connection is dropped and its slot freed', () => {
    const h = socketSynReceived();
    const synAck = { flags: SYN | ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1, mss: LOCAL_MSS };
    let deadline = 0;
    for (let k = 0; k < h.stack.config.synRetries; k++) {
      deadline += 1000 << k;
      h.at(deadline - 1).recvNothing();
      h.at(deadline).recv(synAck);
    }
    h.at(123_000 - 1).recvNothing();
    expect(h.stack.used).to.equal(1);
    h.at(123_000).recvNothing();
    expect(h.stack.used).to.equal(0);
    expect(h.stack.stats.timeouts).to.equal(1);
    expect(h.stack.accept(h.listener)).to.equal(null);
  });

  it('RFC 5961 §4.2: a SYN (other than a retransmission of the first) gets a challenge ACK', () => {
    const h = socketSynReceived();
    h.send({ flags: SYN, seq: REMOTE_SEQ + 10, mss: 1460 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
    expect(h.state).to.equal('SYN-RECEIVED');
  });
});

