/**
 * ESTABLISHED (RFC 9293 §3.10.7.4): acceptability, RST and SYN handling with RFC 5961
 * challenge ACKs, the ACK field checks, the receive side (delayed ACK, out-of-order data and
 * SACK, window updates, urgent data), window scaling and PAWS (RFC 7323), and sequence numbers
 * across 2^32.
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import { OFF } from '../../src/socket/tcp/deadlines.ts';
import { TcpRepr } from '../../src/wire/tcp.ts';
import {
  ACK, FIN, LOCAL_ADDR, LOCAL_MSS, LOCAL_PORT, PEER_TS, PSH, REMOTE_ADDR, REMOTE_PORT, REMOTE_SEQ, LOCAL_SEQ, RST, SYN,
  TcpHarness, URG, socketEstablished, socketListen, socketSynReceived, text, u32,
} from './tcp-harness.ts';

const WITH_SACK = { config: { sack: true }, peerSyn: { sackPermitted: true } };
const WITH_TS = { config: { timestamps: true }, peerSyn: { ts: [PEER_TS, 0] as [number, number] } };

describe('TCP ESTABLISHED', () => {
  describe('RST (RFC 9293 §3.10.7.4 second, RFC 5961 §3)', () => {
    it('RFC 5961 §3.2: a RST with SEG.SEQ = RCV.NXT resets the connection (CLOSED, ConnectionReset), nothing is sent', () => {
      const h = socketEstablished();
      h.send({ flags: RST, seq: REMOTE_SEQ + 1 });
      h.recvNothing();
      expect(h.state).to.equal('CLOSED');
      expect(h.sock.error).to.equal(SocketError.ConnectionReset);
      expect(h.stack.stats.estabResets).to.equal(1);
    });

    it('RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
      const h = socketEstablished();
      h.send({ flags: RST, seq: REMOTE_SEQ + 1 + 100 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.state).to.equal('ESTABLISHED');
      expect(h.stack.stats.challengeAcks).to.equal(1);
    });

    it('RFC 5961 §3.2: a RST outside the window is dropped silently', () => {
      const h = socketEstablished();
      h.send({ flags: RST, seq: REMOTE_SEQ + 1 + 4096 });
      h.send({ flags: RST, seq: REMOTE_SEQ });
      h.send({ flags: RST | ACK, seq: REMOTE_SEQ - 100000, ack: LOCAL_SEQ + 1 });
      h.recvNothing();
      expect(h.state).to.equal('ESTABLISHED');
    });

    it('RFC 7323 §5.3: PAWS does not apply to a RST: an exact RST with an old TSval resets', () => {
      const h = socketEstablished(WITH_TS);
      h.send({ flags: RST, seq: REMOTE_SEQ + 1, ts: [PEER_TS - 100, 0] });
      h.recvNothing();
      expect(h.state).to.equal('CLOSED');
    });
  });

  describe('SYN (RFC 9293 §3.10.7.4 fourth, RFC 5961 §4)', () => {
    it('RFC 5961 §4.2: a SYN in the window gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection stays', () => {
      const h = socketEstablished();
      h.send({ flags: SYN, seq: REMOTE_SEQ + 1 + 10, mss: 1460 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.state).to.equal('ESTABLISHED');
      expect(h.stack.stats.challengeAcks).to.equal(1);
    });

    it('RFC 5961 §4.2: a SYN gets a challenge ACK "irrespective of the sequence number" (outside the window too)', () => {
      const h = socketEstablished();
      h.send({ flags: SYN, seq: REMOTE_SEQ + 1_000_000, mss: 1460 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.state).to.equal('ESTABLISHED');
      expect(h.stack.stats.challengeAcks).to.equal(1);
    });

    it('RFC 5961 §7: challenge ACKs are limited to challengeAcksPerSecond, the budget refilling with time', () => {
      const h = socketEstablished({ config: { challengeAcksPerSecond: 10 } });
      const challenge = { flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 };
      for (let i = 0; i < 10; i++) h.send({ flags: RST, seq: REMOTE_SEQ + 100 + i });
      h.recv(...Array.from({ length: 10 }, () => challenge));
      h.send({ flags: RST, seq: REMOTE_SEQ + 200 });
      h.send({ flags: SYN, seq: REMOTE_SEQ + 300 });
      h.recvNothing();
      expect(h.stack.stats.challengeAcksLimited).to.equal(2);
      h.at(100).send({ flags: RST, seq: REMOTE_SEQ + 400 });
      h.send({ flags: RST, seq: REMOTE_SEQ + 401 });
      h.recv(challenge);
      expect([h.stack.stats.challengeAcks, h.stack.stats.challengeAcksLimited]).to.deep.equal([11, 3]);
    });
  });

  describe('ACK field (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5)', () => {
    it('RFC 9293 §3.10.7.4: an ACK of something not yet sent (SEG.ACK > SND.NXT) is answered with an ACK and the segment dropped', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 + 1000, payload: 'abc' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.sock.recvQueue).to.equal(0);
      expect(h.sock.sndUna).to.equal(LOCAL_SEQ + 1);
    });

    it('RFC 5961 §5.2: an ACK older than SND.UNA - MAX.SND.WND gets a challenge ACK and the segment is dropped', () => {
      const h = socketEstablished({ peerSyn: { window: 1000 }, peerWindow: 1000 });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 - 2000, payload: 'abc' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.sock.recvQueue).to.equal(0);
      expect(h.stack.stats.challengeAcks).to.equal(1);
    });

    it('RFC 5961 §5.2: an old ACK within MAX.SND.WND is acceptable and its text is taken', () => {
      const h = socketEstablished({ peerSyn: { window: 1000 }, peerWindow: 1000 });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 - 500, payload: 'abc' });
      h.recvNothing();
      expect(h.read()).to.equal('abc');
    });

    it('RFC 9293 §3.10.7.4: a segment without ACK is dropped', () => {
      const h = socketEstablished();
      h.send({ flags: PSH, seq: REMOTE_SEQ + 1, payload: 'abc' });
      h.at(1000).recvNothing();
      expect(h.sock.recvQueue).to.equal(0);
    });

    it('RFC 9293 §3.10.7.4: SND.WND is updated only from a newer segment (SND.WL1 < SEG.SEQ, or = with SND.WL2 =< SEG.ACK)', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 3000, payload: 'ab' });
      expect(h.sock.window.sndWnd).to.equal(3000);
      // An older segment (a reordered retransmission) must not change the window.
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 100, payload: 'a' });
      expect(h.sock.window.sndWnd).to.equal(3000);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 3, ack: LOCAL_SEQ + 1, window: 200 });
      expect(h.sock.window.sndWnd).to.equal(200);
    });
  });

  describe('acceptability (RFC 9293 §3.10.7.4 first)', () => {
    it('RFC 9293 §3.10.7.4: an old duplicate segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdef' });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abc' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 7, window: 4090 });
      expect(h.stack.stats.outOfWindow).to.equal(1);
      h.at(40).recvNothing();
      expect(h.read()).to.equal('abcdef');
    });

    it('RFC 9293 §3.10.7.4: a segment beyond the window is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + 4096, ack: LOCAL_SEQ + 1, payload: 'x' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.sock.recvQueue).to.equal(0);
    });

    it('RFC 9293 §3.10.7.4: a segment that starts before RCV.NXT and reaches into the window is trimmed and its new part taken', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abc' });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdef' });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 7, window: 4090 });
      expect(h.read()).to.equal('abcdef');
    });

    it('RFC 9293 §3.10.7.4: with RCV.WND = 0 a data segment is answered with an ACK (window 0) and its text dropped', () => {
      const h = socketEstablished();
      for (let i = 0; i < 4; i++) h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + i * 1024, ack: LOCAL_SEQ + 1, payload: text(1024, i) });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 + 4096, window: 0 });
      h.at(50).send({ flags: ACK, seq: REMOTE_SEQ + 1 + 4096, ack: LOCAL_SEQ + 1, payload: 'z' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 + 4096, window: 0 });
      expect(h.sock.recvQueue).to.equal(4096);
    });

    it('RFC 9293 §3.10.7.4: with RCV.WND = 0 a zero-length segment at RCV.NXT is acceptable and its ACK processed', () => {
      const h = socketEstablished();
      h.write('hello');
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'hello' });
      for (let i = 0; i < 4; i++) h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + i * 1024, ack: LOCAL_SEQ + 1, payload: text(1024, i) });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 1 + 4096, window: 0 });
      h.at(60).send({ flags: ACK, seq: REMOTE_SEQ + 1 + 4096, ack: LOCAL_SEQ + 6 });
      h.recvNothing();
      expect(h.sock.sendQueue).to.equal(0);
    });

    it('RFC 9293 §3.10.7.4: with RCV.WND = 0, "special allowance should be made to accept valid ACKs" (a zero-window probe\'s ACK is processed)', () => {
      const h = socketEstablished();
      h.write('hello');
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'hello' });
      for (let i = 0; i < 4; i++) h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + i * 1024, ack: LOCAL_SEQ + 1, payload: text(1024, i) });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 1 + 4096, window: 0 });
      // The peer probes our zero window with one octet, and acknowledges our data on it.
      h.at(500).send({ flags: ACK, seq: REMOTE_SEQ + 1 + 4096, ack: LOCAL_SEQ + 6, payload: 'z' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 1 + 4096, window: 0 });
      expect(u32(h.sock.sndUna)).to.equal(LOCAL_SEQ + 6);
      expect(h.sock.sendQueue).to.equal(0);
    });
  });

  describe('old duplicates that acknowledge new data (BSD: "keep on processing for RST or ACK")', () => {
    it('both ends\' probe octets taken: the peer\'s next segments are one octet old; the ACK of our probe on them is taken, and our answer is at the peer\'s RCV.NXT (no ACK storm)', () => {
      const h = socketEstablished();
      // The peer's window closes; we probe it with 'a' (the octet does not advance SND.NXT).
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 0 });
      h.write('abc');
      h.at(1000).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'a' });
      // The peer's own probe octet 'z', which we take: RCV.NXT = REMOTE_SEQ + 2, while its SND.NXT stays.
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 0, payload: 'z' });
      // It took ours too: its ACK of 'a' comes at its SND.NXT, one octet before our RCV.NXT.
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2, window: 0 });
      // Answered (the segment is old) with SEG.SEQ past 'a': acceptable at the peer, so it answers no more.
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 2, window: 4095 });
      expect(u32(h.sock.sndUna)).to.equal(LOCAL_SEQ + 2);
      expect(u32(h.sock.sndNxt)).to.equal(LOCAL_SEQ + 2);
      expect(h.read()).to.equal('z');
    });

    it('both ends went back to SND.UNA after an outage: the peer\'s retransmission of data we have, with an ACK of ours, is answered and its ACK taken', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdef' });
      h.write('hello');
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 7, payload: 'hello', window: 4090 });
      // Both ends' ACKs were lost (an outage); the peer goes back to SND.UNA and retransmits
      // 'abcdef', which we have, acknowledging 'hello' on it.
      h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 6, payload: 'abcdef' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 7, window: 4090 });
      expect(u32(h.sock.sndUna)).to.equal(LOCAL_SEQ + 6);
      expect(h.sock.sendQueue).to.equal(0);
      expect(h.read()).to.equal('abcdef');
    });

    it('an old duplicate ACK (SEG.ACK = SND.UNA) is answered but not taken: three never start a fast retransmit', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abc' });
      for (let i = 0; i < 4; i++) h.write(text(1460, i));
      const sent = h.output();
      expect(sent.filter((seg) => seg.payload.length > 0).length).to.equal(4);
      for (let i = 0; i < 3; i++) {
        h.advance(1).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
        h.recv({ flags: ACK, seq: LOCAL_SEQ + 1 + 4 * 1460, ack: REMOTE_SEQ + 4, window: 4093 });
      }
      expect(h.stack.stats.fastRetransmits).to.equal(0);
      expect(h.stack.stats.retransSegs).to.equal(0);
    });

    it('an old segment from further back than our receive buffer is answered and its ACK not taken', () => {
      const h = socketEstablished();
      h.write('hello');
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'hello' });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1 - 4096 - 2, ack: LOCAL_SEQ + 6 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 1 });
      expect(u32(h.sock.sndUna)).to.equal(LOCAL_SEQ + 1);
      // One buffer back: taken.
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1 - 4096, ack: LOCAL_SEQ + 6 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 6, ack: REMOTE_SEQ + 1 });
      expect(u32(h.sock.sndUna)).to.equal(LOCAL_SEQ + 6);
    });
  });

  describe('ACKs first: which pure ACKs may overtake queued data (output.ts ackMayOvertake)', () => {
    /** The bare ACK the socket sends when one is owed now (nothing else to send). */
    function bareAck(h: TcpHarness): TcpRepr {
      const r = new TcpRepr();
      h.sock.ackNow = true;
      expect(h.sock.dispatch(h.now, r), 'an ACK goes out').to.equal(true);
      expect([r.payloadLen, r.flags, u32(r.seq)]).to.deep.equal([0, ACK, u32(h.sock.sndNxt)]);
      return r;
    }

    it('SND.NXT strictly inside the window the peer offered: yes (at the peer RCV.NXT =< SEG.SEQ < its right edge, whatever has arrived)', () => {
      const h = socketEstablished({ peerWindow: 1000 });
      h.write(text(999));
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(999) });
      expect(h.sock.mayOvertake(bareAck(h))).to.equal(true);
    });

    it('SND.NXT at the right edge of the peer\'s window: no (before the data it would be beyond the window)', () => {
      const h = socketEstablished({ peerWindow: 1000 });
      h.write(text(1000));
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(1000) });
      expect(h.sock.mayOvertake(bareAck(h))).to.equal(false);
    });

    it('the peer moved its right edge left (a shrunk window): no while data is outstanding', () => {
      const h = socketEstablished({ peerWindow: 1000 });
      h.write(text(500));
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(500) });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 + 100, window: 300 });
      expect(h.sock.mayOvertake(bareAck(h))).to.equal(false);
    });

    it('nothing outstanding: yes, even with a zero window (SEG.SEQ = SND.NXT = the peer\'s RCV.NXT)', () => {
      const h = socketEstablished({ peerWindow: 1000 });
      h.write(text(1000));
      h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(1000) });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1001, window: 0 });
      expect(h.sock.mayOvertake(bareAck(h))).to.equal(true);
    });

    it('data, a FIN, a zero-window probe, a keepalive (SEG.SEQ = SND.NXT - 1), a RST: no; nor an ACK before ESTABLISHED', () => {
      const h = socketEstablished({ peerWindow: 1000 });
      const r = bareAck(h);
      expect(h.sock.mayOvertake(r)).to.equal(true);
      r.payloadLen = 1;
      expect(h.sock.mayOvertake(r), 'data or a probe').to.equal(false);
      r.payloadLen = 0;
      r.flags = ACK | FIN;
      expect(h.sock.mayOvertake(r), 'FIN').to.equal(false);
      r.flags = ACK | RST;
      expect(h.sock.mayOvertake(r), 'RST').to.equal(false);
      r.flags = ACK;
      r.seq = (h.sock.sndNxt - 1) | 0;
      expect(h.sock.mayOvertake(r), 'keepalive').to.equal(false);
      const s = socketSynReceived();
      r.seq = s.sock.sndNxt;
      expect(s.sock.mayOvertake(r), 'SYN-RECEIVED').to.equal(false);
    });
  });

  describe('receiving text (RFC 9293 §3.10.7.4 seventh, §3.8.6.3; RFC 5681 §4.2; RFC 2018)', () => {
    it('RFC 9293 §3.8.6.3: in-order data is ACKed after delayedAckMs (40 ms), with the window less the unread octets', () => {
      const h = socketEstablished();
      h.send({ flags: ACK | PSH, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdef' });
      h.recvNothing();
      expect(h.sock.pollAt(h.now)).to.equal(40);
      h.at(39).recvNothing();
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 7, window: 4090 });
      expect(h.read()).to.equal('abcdef');
    });

    it('RFC 1122 §4.2.3.2: an ACK goes out at once for every second full-sized segment', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: text(LOCAL_MSS) });
      h.recvNothing();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + LOCAL_MSS, ack: LOCAL_SEQ + 1, payload: text(LOCAL_MSS, 4) });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 + 2 * LOCAL_MSS, window: 4096 - 2 * LOCAL_MSS });
      h.at(40).recvNothing();
    });

    it('delayedAckMs = 0 turns delayed ACKs off', () => {
      const h = socketEstablished({ config: { delayedAckMs: 0 } });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abc' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4, window: 4093 });
    });

    it('RFC 5681 §4.2: an out-of-order segment is answered at once with a duplicate ACK; the segment filling the gap at once with a full ACK', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 11, ack: LOCAL_SEQ + 1, payload: 'klmno' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.read()).to.equal('');
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdefghij' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 16, window: 4081 });
      expect(h.read()).to.equal('abcdefghijklmno');
    });

    it('RFC 2018 §4: the duplicate ACK carries SACK blocks, the most recently received block first', () => {
      const h = socketEstablished(WITH_SACK);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 11, ack: LOCAL_SEQ + 1, payload: 'klmno' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, sack: [[REMOTE_SEQ + 11, REMOTE_SEQ + 16]] });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 21, ack: LOCAL_SEQ + 1, payload: 'uvwxy' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, sack: [[REMOTE_SEQ + 21, REMOTE_SEQ + 26], [REMOTE_SEQ + 11, REMOTE_SEQ + 16]] });
      // RFC 2018 §4: a block that grows becomes the most recent again.
      h.send({ flags: ACK, seq: REMOTE_SEQ + 16, ack: LOCAL_SEQ + 1, payload: 'pq' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, sack: [[REMOTE_SEQ + 11, REMOTE_SEQ + 18], [REMOTE_SEQ + 21, REMOTE_SEQ + 26]] });
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abcdefghij' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 18, window: 4096 - 17, sack: [[REMOTE_SEQ + 21, REMOTE_SEQ + 26]] });
      expect(h.read()).to.equal('abcdefghijklmnopq');
    });

    it('RFC 2018 §3: with timestamps at most 3 SACK blocks fit', () => {
      const h = socketEstablished({ config: { sack: true, timestamps: true }, peerSyn: { sackPermitted: true, ts: [PEER_TS, 0] } });
      const r = REMOTE_SEQ + 1;
      const out = [10, 20, 30, 40].flatMap((at) => h.send({ flags: ACK, seq: r + at, ack: LOCAL_SEQ + 1, payload: 'xy' }).output());
      expect(out.map((s) => s.sack.map(([a, b]) => [u32(a) - r, u32(b) - r]))).to.deep.equal([
        [[10, 12]], [[20, 22], [10, 12]], [[30, 32], [20, 22], [10, 12]], [[40, 42], [30, 32], [20, 22]],
      ]);
    });

    it('RFC 9293 §3.10.7.4 eighth: a FIN past a hole is held until the hole is filled, then CLOSE-WAIT', () => {
      const h = socketEstablished();
      h.send({ flags: ACK | FIN, seq: REMOTE_SEQ + 4, ack: LOCAL_SEQ + 1, payload: 'def' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.state).to.equal('ESTABLISHED');
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'abc' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 8, window: 4096 - 7 });
      expect(h.state).to.equal('CLOSE-WAIT');
      expect(h.read()).to.equal('abcdef');
      expect(h.sock.recv(new Uint8Array(1), 0, 1)).to.equal(0);
    });

    it('RFC 1122 §4.2.3.3: when the application drains a full window an ACK with the opened window goes out at once', () => {
      const h = socketEstablished();
      for (let i = 0; i < 4; i++) h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + i * 1024, ack: LOCAL_SEQ + 1, payload: text(1024, i) });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4097, window: 0 });
      h.at(100);
      expect(h.read().length).to.equal(4096);
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4097, window: 4096 });
    });

    it('RFC 9293 §3.8.6.2.2: reading less than min(MSS, buffer/2) does not move the right edge (receiver SWS avoidance)', () => {
      const h = socketEstablished();
      for (let i = 0; i < 4; i++) h.send({ flags: ACK, seq: REMOTE_SEQ + 1 + i * 1024, ack: LOCAL_SEQ + 1, payload: text(1024, i) });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4097, window: 0 });
      expect(h.read(100).length).to.equal(100);
      h.at(100).recvNothing();
      expect(h.read(2000).length).to.equal(2000);
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4097, window: 2100 });
    });

    it('RFC 9293 §3.8.5: the urgent pointer marks where urgent data ends (sock.urgentMark) until it is read', () => {
      const h = socketEstablished();
      expect(h.sock.urgentMark).to.equal(-1);
      h.send({ flags: ACK | URG, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, urgent: 3, payload: 'abcdef' });
      expect(h.sock.urgentMark).to.equal(3);
      expect(h.read(2)).to.equal('ab');
      expect(h.sock.urgentMark).to.equal(1);
      expect(h.read(2)).to.equal('cd');
      expect(h.sock.urgentMark).to.equal(-1);
    });

    it('RFC 9293 §3.8.5: an urgent pointer past this segment\'s text points into data still to come', () => {
      const h = socketEstablished();
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, payload: 'ab' });
      h.send({ flags: ACK | URG, seq: REMOTE_SEQ + 3, ack: LOCAL_SEQ + 1, urgent: 10, payload: 'cd' });
      expect(h.sock.urgentMark).to.equal(12);
    });
  });

  describe('window scaling (RFC 7323 §2)', () => {
    // The peer: shift 3, 1000 octets in its SYN and after (raw field 125).
    const WS = { config: { windowScaling: true }, rxBufferLen: 100_000, peerSyn: { windowScale: 3, window: 1000 }, peerWindow: 125 };

    it('RFC 7323 §2.3: our window is the free space >> our shift', () => {
      const h = socketEstablished(WS);
      expect([h.sock.window.rcvScale, h.sock.window.sndScale]).to.deep.equal([1, 3]);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 125, payload: 'abcdefghij' });
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 11, window: (100_000 - 10) >> 1 });
    });

    it('RFC 7323 §2.4: the scaled window is rounded so the right edge never moves left', () => {
      const h = socketEstablished(WS);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 125, payload: 'abcde' });
      // (100000 - 5) >> 1 = 49997 would put the right edge at RCV.NXT + 99994, one octet left of
      // the RCV.NXT + 99995 already offered.
      h.at(40).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 6, window: 49998 });
    });

    it('RFC 7323 §2.3: the peer\'s window field is shifted by its scale and limits what we send', () => {
      const h = socketEstablished(WS);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 100 });
      expect(h.sock.window.sndWnd).to.equal(800);
      h.write(text(2000));
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(800) });
      h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 801, window: 100 });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 801, ack: REMOTE_SEQ + 1, payload: text(800, 800) });
    });
  });

  describe('timestamps (RFC 7323 §3-5)', () => {
    it('RFC 7323 §5.3 (PAWS): a segment with an old TSval is dropped and answered with an ACK; counted pawsDrops', () => {
      const h = socketEstablished(WITH_TS);
      h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, ts: [PEER_TS - 1, 0], payload: 'old' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.sock.recvQueue).to.equal(0);
      expect(h.stack.stats.pawsDrops).to.equal(1);
    });

    it('RFC 7323 §4.3: TS.Recent takes the TSval of an in-order segment and is echoed in TSecr', () => {
      const h = socketEstablished(WITH_TS);
      h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, ts: [PEER_TS + 5, 0], payload: 'new' });
      h.echoTs = PEER_TS + 5;
      h.at(50).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 4, window: 4093 });
      expect(h.read()).to.equal('new');
    });

    it('RFC 7323 §4.3: a TSval from an out-of-order segment does not replace TS.Recent', () => {
      const h = socketEstablished(WITH_TS);
      h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 11, ack: LOCAL_SEQ + 1, ts: [PEER_TS + 9, 0], payload: 'late' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1 });
      expect(h.sock.tsRecent).to.equal(PEER_TS);
    });

    it('RFC 7323 §4.1 (RTTM): the TSecr of an ACK of new data gives an RTT sample', () => {
      const h = socketEstablished(WITH_TS);
      // The handshake ACK (TSecr = our TSval of the same instant) gave a first sample of 1 ms.
      expect([h.sock.rtt.srtt, h.sock.rtt.rttvar]).to.deep.equal([1, 0.5]);
      h.write('abc');
      const [seg] = h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' });
      h.at(120).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 4, ts: [PEER_TS + 1, seg!.ts![0]] });
      // RFC 6298 §2.3 with R' = 120: RTTVAR = 3/4·0.5 + 1/4·|1 - 120|, SRTT = 7/8·1 + 1/8·120.
      expect([h.sock.rtt.srtt, h.sock.rtt.rttvar]).to.deep.equal([15.875, 30.125]);
    });
  });

  describe('sequence numbers across 2^32 (RFC 9293 §3.4)', () => {
    it('RFC 9293 §3.4: the peer\'s ISS 0xfffffff0: data in order and out of order across the wrap', () => {
      const h = socketListen();
      const irs = 0xfffffff0;
      h.send({ flags: SYN, seq: irs, mss: 1460 });
      h.recv({ flags: SYN | ACK, seq: LOCAL_SEQ, ack: irs + 1, mss: LOCAL_MSS });
      h.send({ flags: ACK, seq: irs + 1, ack: LOCAL_SEQ + 1 });
      h.sock = h.stack.accept(h.listener)!;
      expect(h.state).to.equal('ESTABLISHED');
      // Second segment first (it starts past the wrap), then the first (which crosses it).
      h.send({ flags: ACK, seq: irs + 1 + 20, ack: LOCAL_SEQ + 1, payload: text(20, 20) });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: irs + 1 });
      h.send({ flags: ACK, seq: irs + 1, ack: LOCAL_SEQ + 1, payload: text(20) });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: irs + 41, window: 4096 - 40 });
      expect(u32(h.sock.rcvNxt)).to.equal(0x19);
      h.send({ flags: ACK | FIN, seq: irs + 41, ack: LOCAL_SEQ + 1, payload: 'zz' });
      h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: irs + 44, window: 4096 - 43 });
      expect(h.read()).to.equal(text(40) + 'zz');
      expect(h.state).to.equal('CLOSE-WAIT');
    });

    it('RFC 9293 §3.4: our ISS just below 2^32 (the RFC 6528 generator at a chosen time): sending and ACK processing across the wrap', () => {
      const h = new TcpHarness({ iss: null });
      const f = h.stack.isn(0, LOCAL_ADDR, LOCAL_PORT, REMOTE_ADDR, REMOTE_PORT);
      h.at(Math.ceil(u32(0x1_0000_0000 - 1000 - f) / 250));
      h.sock = h.stack.connect(h.now, REMOTE_ADDR, REMOTE_PORT, LOCAL_PORT)!;
      const iss = u32(h.sock.iss);
      expect(iss).to.be.within(0x1_0000_0000 - 1000, 0x1_0000_0000 - 751);
      h.recv({ flags: SYN, seq: iss, mss: LOCAL_MSS });
      h.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: iss + 1, mss: 1460 });
      h.recv({ flags: ACK, seq: iss + 1, ack: REMOTE_SEQ + 1 });
      h.write(text(2000));
      // Nagle (RFC 896) holds the short tail until the first segment is acknowledged.
      h.recv({ flags: ACK, seq: iss + 1, ack: REMOTE_SEQ + 1, payload: text(1460) });
      h.advance(50).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: iss + 1461 });
      h.recv({ flags: ACK | PSH, seq: iss + 1461, ack: REMOTE_SEQ + 1, payload: text(540, 1460) });
      expect(h.sock.sendQueue).to.equal(540);
      h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: iss + 2001 });
      expect(h.sock.sendQueue).to.equal(0);
      expect(u32(h.sock.sndUna)).to.equal(u32(iss + 2001));
      expect(h.sock.timers.retransmitAt, 'retransmission timer stopped').to.equal(OFF);
      h.recvNothing();
    });
  });
});
