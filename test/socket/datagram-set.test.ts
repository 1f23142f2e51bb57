/**
 * The fixed UDP and ICMP socket tables: one socket per key, refusals as SocketError codes,
 * lookups by the key the socket holds now.
 */
import { expect } from 'chai';
import { SocketError } from '../../src/socket/error.ts';
import { IcmpSocket, IcmpSocketSet } from '../../src/socket/icmp.ts';
import { UdpSocket, UdpSocketSet } from '../../src/socket/udp.ts';

function udpSocket(port: number): UdpSocket {
  const s = new UdpSocket({ rxBuffer: new Uint8Array(64), txBuffer: new Uint8Array(64) });
  if (port !== 0) s.bind(port);
  return s;
}

describe('UdpSocketSet and IcmpSocketSet', () => {
  it('hands out the first free entry and refuses an unbound socket, a taken key and a full table', () => {
    const set = new UdpSocketSet(2);
    expect(set.add(udpSocket(0))).to.equal(SocketError.NotBound);
    const a = udpSocket(7);
    expect(set.add(a)).to.equal(0);
    expect(set.add(a)).to.equal(SocketError.AddressInUse);
    expect(set.add(udpSocket(7))).to.equal(SocketError.AddressInUse);
    expect(set.add(udpSocket(9))).to.equal(1);
    expect(set.add(udpSocket(13))).to.equal(SocketError.WouldBlock);
    expect(set.used).to.equal(2);
    set.remove(a);
    expect(set.at(0)).to.equal(null);
    expect(set.add(udpSocket(13))).to.equal(0, 'a freed entry is reused');
  });

  it('finds a socket by its key and reports queued output', () => {
    const set = new IcmpSocketSet(4);
    const s = new IcmpSocket({ rxBuffer: new Uint8Array(64), txBuffer: new Uint8Array(64) });
    s.bind(0x1234);
    set.add(s);
    expect(set.find(0x1234)).to.equal(s);
    expect(set.find(0x4321)).to.equal(null);
    expect(set.hasQueuedOutput()).to.equal(false);
    expect(s.sendEcho(1, 1, new Uint8Array(8), 0, 8)).to.equal(8);
    expect(set.hasQueuedOutput()).to.equal(true);
    expect(set.size).to.equal(4);
  });
});
