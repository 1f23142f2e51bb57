/**
 * The sender's timers and loss recovery: RFC 6298 RTO with backoff and Karn's rule, RFC 5681
 * fast retransmit, RFC 6582 NewReno partial ACKs, RFC 6675 SACK recovery, zero-window probes
 * (RFC 9293 §3.8.6.1) and keepalive (RFC 1122 §4.2.3.6).
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import type { CongestionController } from '../../src/socket/tcp/congestion.ts';
import { ACK, LOCAL_SEQ, PSH, REMOTE_SEQ, socketEstablished, socketSynReceived, text } from './tcp-harness.ts';

/** The peer's MSS in these tests: 100-octet segments keep the payloads readable. */
const MSS = 100;
const SMALL = { peerSyn: { mss: MSS } };
const SMALL_SACK = { config: { sack: true }, peerSyn: { mss: MSS, sackPermitted: true } };

/** Our segment number `i` (0-based) of a 100-octet segmentation of text(n). */
function dataSeg(i: number, n: number, flags = ACK): { flags: number; seq: number; ack: number; payload: string } {
  const last = (i + 1) * MSS >= n;
  return { flags: last ? flags | PSH : flags, seq: LOCAL_SEQ + 1 + i * MSS, ack: REMOTE_SEQ + 1, payload: text(Math.min(MSS, n - i * MSS), i * MSS) };
}

/** A controller that allows exactly one MSS in flight and records what it was told. */
class OneSegment implements CongestionController {
  cwnd = 0;
  ssthresh = 0;
  readonly events: string[] = [];

  reset(): void {
    this.cwnd = 0;
  }

  start(mss: number, sack: boolean): void {
    this.cwnd = mss;
    this.events.push(`start ${mss} ${sack}`);
  }

  onAck(now: number, acked: number): void {
    this.events.push(`ack ${acked} at ${now}`);
  }

  onRecoveryStart(): void {}
  onRecoveryDupAck(): void {}
  onPartialAck(): void {}
  onRecoveryEnd(): void {}
  onTimeout(): void {}
}

describe('TCP congestion controller interface', () => {
  it('a controller given to the stack (TcpStackOptions.congestion) is told the MSS and the ACKs and governs the flight', () => {
    const made: OneSegment[] = [];
    const congestion = (): CongestionController => {
      const c = new OneSegment();
      made.push(c);
      return c;
    };
    const h = socketEstablished({ ...SMALL, congestion });
    expect(made.length, 'one controller per socket, made when the stack is built').to.equal(h.stack.sockets.length);
    const cc = h.sock.cc as OneSegment;
    // The handshake ACK acknowledged our SYN: one sequence number.
    expect(cc.events).to.deep.equal(['start 100 false', 'ack 1 at 0']);
    h.write(text(300));
    h.recv(dataSeg(0, 300));
    h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 101 });
    h.recv(dataSeg(1, 300));
    expect(cc.events).to.deep.equal(['start 100 false', 'ack 1 at 0', 'ack 100 at 10']);
  });
});

describe('TCP loss recovery', () => {
  it('RFC 5681 §3.2: the third duplicate ACK retransmits the segment at SND.UNA at once (fast retransmit)', () => {
    const h = socketEstablished(SMALL);
    h.write(text(400));
    h.recv(dataSeg(0, 400), dataSeg(1, 400), dataSeg(2, 400), dataSeg(3, 400));
    const dup = { flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 };
    h.at(10).send(dup).recvNothing();
    h.send(dup).recvNothing();
    h.send(dup);
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(100) });
    expect(h.stack.stats.fastRetransmits).to.equal(1);
    expect(h.sock.recovery.inRecovery).to.equal(true);
  });

  it('RFC 6582 §3.2: a partial ACK in recovery retransmits the next hole at once; the full ACK ends recovery', () => {
    const h = socketEstablished(SMALL);
    h.write(text(400));
    h.recv(dataSeg(0, 400), dataSeg(1, 400), dataSeg(2, 400), dataSeg(3, 400));
    const dup = { flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 };
    h.at(10).send(dup).send(dup).send(dup);
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: text(100) });
    // Segments 1 and 3 were lost: the retransmission fills the first hole, the ACK stops at the second.
    h.at(20).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 201 });
    h.recv({ flags: ACK, seq: LOCAL_SEQ + 201, ack: REMOTE_SEQ + 1, payload: text(100, 200) });
    expect(h.sock.recovery.inRecovery).to.equal(true);
    h.at(30).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 401 });
    h.recvNothing();
    expect(h.sock.recovery.inRecovery).to.equal(false);
    expect(h.sock.sendQueue).to.equal(0);
    // RFC 6582 §3.2 step 3 (full ACK): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) or ssthresh;
    // here ssthresh = max(400 / 2, 2·SMSS) = 200 and FlightSize = 0, so both choices give 200.
    expect(h.sock.cc.cwnd).to.equal(200);
  });

  it('RFC 6675 §5: with SACK, the peer SACKs segments 2 and 4 of 4: only the holes (1 and 3) are retransmitted', () => {
    const h = socketEstablished(SMALL_SACK);
    h.write(text(400));
    h.recv(dataSeg(0, 400), dataSeg(1, 400), dataSeg(2, 400), dataSeg(3, 400));
    const l = LOCAL_SEQ + 1;
    h.at(10).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: l, sack: [[l + 100, l + 200]] }).recvNothing();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: l, sack: [[l + 300, l + 400], [l + 100, l + 200]] }).recvNothing();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: l, sack: [[l + 300, l + 400], [l + 100, l + 200]] });
    h.recv(
      { flags: ACK, seq: l, ack: REMOTE_SEQ + 1, payload: text(100) },
      { flags: ACK, seq: l + 200, ack: REMOTE_SEQ + 1, payload: text(100, 200) },
    );
    expect(h.stack.stats.sackRecoveries).to.equal(1);
    h.at(20).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: l + 400 });
    h.recvNothing();
    expect(h.sock.recovery.inRecovery).to.equal(false);
  });

  it('RFC 6298 §5.5: the RTO backs off 1 s, 2 s, 4 s ... up to rtoMaxMs; after maxRetries the connection fails with TimedOut', () => {
    const h = socketEstablished();
    h.write('abc');
    const seg = { flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' };
    h.recv(seg);
    let t = 0;
    let rto = 1000;
    for (let k = 0; k < h.stack.config.maxRetries; k++) {
      t += rto;
      h.at(t - 1).recvNothing();
      h.at(t).recv(seg);
      rto = Math.min(2 * rto, 60_000);
    }
    expect(h.now).to.equal(1000 + 2000 + 4000 + 8000 + 16_000 + 32_000 + 6 * 60_000);
    t += rto;
    h.at(t - 1).recvNothing();
    expect(h.state).to.equal('ESTABLISHED');
    h.at(t).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.TimedOut);
    expect(h.sock.recv(new Uint8Array(4), 0, 4)).to.equal(SocketError.TimedOut);
    expect(h.stack.stats.timeouts).to.equal(1);
    expect(h.stack.stats.retransSegs).to.equal(12);
  });

  it('RFC 6298 §5.1: an ACK of all outstanding data stops the retransmission timer', () => {
    const h = socketEstablished();
    h.write('abc');
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' });
    expect(h.sock.pollAt(h.now)).to.equal(1000);
    h.at(50).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 4 });
    h.at(10_000).recvNothing();
  });

  it('RFC 6298 §3 (Karn): the ACK of a retransmitted segment gives no RTT sample, and the backed-off RTO stays', () => {
    const h = socketEstablished();
    // The handshake (SYN,ACK out and ACK back at t=0) gave one sample, R = 1 ms (the floor).
    expect([h.sock.rtt.srtt, h.sock.rtt.rttvar, h.sock.rtt.rto]).to.deep.equal([1, 0.5, 1000]);
    h.write('abc');
    const seg = { flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' };
    h.recv(seg);
    h.at(1000).recv(seg);
    h.at(1500).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 4 });
    expect([h.sock.rtt.srtt, h.sock.rtt.rttvar, h.sock.rtt.rto], 'no sample: 1500 ms or 500 ms, nobody knows').to.deep.equal([1, 0.5, 2000]);
    // The next new segment is timed again.
    h.write('def');
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 4, ack: REMOTE_SEQ + 1, payload: 'def' });
    h.at(1600).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 7 });
    // RFC 6298 §2.3 with R' = 100: RTTVAR = 3/4·0.5 + 1/4·99, SRTT = 7/8·1 + 1/8·100; RTO floored at 1 s.
    expect([h.sock.rtt.srtt, h.sock.rtt.rttvar, h.sock.rtt.rto]).to.deep.equal([13.375, 25.125, 1000]);
  });

  it('RFC 6298 §2.2: the first RTT sample (the handshake ACK, 300 ms after the SYN,ACK) sets SRTT = R, RTTVAR = R/2, RTO = max(rtoMinMs, SRTT + 4·RTTVAR)', () => {
    const h = socketSynReceived({ config: { rtoMinMs: 200 } });
    h.at(300).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.recvNothing();
    expect([h.sock.rtt.srtt, h.sock.rtt.rttvar, h.sock.rtt.rto]).to.deep.equal([300, 150, 900]);
  });

  it('RFC 5681 §3.1: after an RTO, cwnd is one segment and ssthresh = max(FlightSize / 2, 2·SMSS)', () => {
    const h = socketEstablished(SMALL);
    h.write(text(800));
    h.recv(...Array.from({ length: 8 }, (_, i) => dataSeg(i, 800)));
    h.at(1000).recv(dataSeg(0, 800));
    expect([h.sock.cc.cwnd, h.sock.cc.ssthresh]).to.deep.equal([100, 400]);
  });
});

describe('TCP zero window (RFC 9293 §3.8.6.1)', () => {
  it('RFC 9293 §3.8.6.1: with SND.WND = 0 the persist timer sends one-octet probes of the next data, backing off 1 s, 2 s, 4 s', () => {
    const h = socketEstablished();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 0 });
    h.write('abc');
    h.recvNothing();
    expect(h.sock.pollAt(h.now), 'the persist timer is armed').to.equal(1000);
    const probe = { flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'a' };
    h.at(999).recvNothing();
    h.at(1000).recv(probe);
    h.at(2999).recvNothing();
    h.at(3000).recv(probe);
    h.at(7000).recv(probe);
    expect(h.stack.stats.zeroWindowProbes).to.equal(3);
    expect(h.state, 'probes never time the connection out').to.equal('ESTABLISHED');
  });

  it('RFC 9293 §3.8.6.1: a window closed by the ACK of all data in flight still gets probed when more data is queued', () => {
    const h = socketEstablished();
    h.write('abcdef');
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abcdef' });
    h.at(50).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 7, window: 0 });
    h.write('ghi');
    h.recvNothing();
    h.at(1050).recv({ flags: ACK, seq: LOCAL_SEQ + 7, ack: REMOTE_SEQ + 1, payload: 'g' });
  });

  it('RFC 9293 §3.8.6.1: when the window reopens (an ACK with a window) the queued data flows again', () => {
    const h = socketEstablished();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 0 });
    h.write('abc');
    h.at(1000).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'a' });
    h.at(1010).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 1000 });
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' });
    h.at(5000).recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'abc' }); // the RTO, not a probe
  });

  it('RFC 9293 §3.8.6.1: a peer that takes the probe octet acknowledges it, and sending resumes after it', () => {
    const h = socketEstablished();
    h.send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1, window: 0 });
    h.write('abc');
    h.at(1000).recv({ flags: ACK, seq: LOCAL_SEQ + 1, ack: REMOTE_SEQ + 1, payload: 'a' });
    h.at(1010).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 2, window: 1000 });
    h.recv({ flags: ACK | PSH, seq: LOCAL_SEQ + 2, ack: REMOTE_SEQ + 1, payload: 'bc' });
    expect(h.sock.sendQueue).to.equal(2);
  });
});

describe('TCP keepalive (RFC 1122 §4.2.3.6)', () => {
  const IDLE = 2 * 60 * 60 * 1000;
  const probe = { flags: ACK, seq: LOCAL_SEQ, ack: REMOTE_SEQ + 1 };

  it('RFC 1122 §4.2.3.6: after 2 h idle a probe <SEQ=SND.NXT-1> goes out, then one every 75 s; after 10 unanswered the socket is CLOSED with TimedOut', () => {
    const h = socketEstablished({ config: { keepalive: true } });
    expect(h.sock.pollAt(h.now)).to.equal(IDLE);
    h.at(IDLE - 1).recvNothing();
    for (let i = 0; i < 10; i++) {
      h.at(IDLE + i * 75_000 - 1).recvNothing();
      h.at(IDLE + i * 75_000).recv(probe);
    }
    h.at(IDLE + 10 * 75_000 - 1).recvNothing();
    expect(h.state).to.equal('ESTABLISHED');
    h.at(IDLE + 10 * 75_000).recvNothing();
    expect(h.state).to.equal('CLOSED');
    expect(h.sock.error).to.equal(SocketError.TimedOut);
    expect(h.stack.stats.keepaliveProbes).to.equal(10);
  });

  it('RFC 1122 §4.2.3.6: an answered probe restarts the idle time', () => {
    const h = socketEstablished({ config: { keepalive: true } });
    h.at(IDLE).recv(probe);
    h.at(IDLE + 30).send({ flags: ACK, seq: REMOTE_SEQ + 1, ack: LOCAL_SEQ + 1 });
    h.at(IDLE + 75_000).recvNothing();
    h.at(2 * IDLE + 30 - 1).recvNothing();
    h.at(2 * IDLE + 30).recv(probe);
  });

  it('RFC 1122 §4.2.3.6: keepalive switched on (sock.keepalive = true) on an idle connection probes 2 h later', () => {
    const h = socketEstablished();
    h.sock.keepalive = true;
    h.at(IDLE).recv(probe);
  });

  it('no probes when keepalive is off', () => {
    const h = socketEstablished();
    h.at(10 * IDLE).recvNothing();
    expect(h.state).to.equal('ESTABLISHED');
  });
});
