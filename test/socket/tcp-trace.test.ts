import { expect } from 'chai';
import { TextTcpTracer, formatSegment } from '../../src/socket/tcp/trace.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpFlag, TcpRepr } from '../../src/wire/tcp.ts';

describe('TCP tracer', () => {
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
    stack.input(1, 1, 1460, 2, synAck, new Uint8Array(0), out);
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

  it('costs nothing when off: the default tracer is null', () => {
    expect(new TcpStack({ isnKey: [0, 0, 0, 0] }).tracer).to.equal(null);
  });
});
