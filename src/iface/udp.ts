/**
 * UDP on the interface (RFC 768, RFC 1122 §4.1): received datagrams checked and handed to the
 * UDP socket table, datagrams the sockets queued sent (fragmented when larger than the MTU).
 *
 * A datagram for a port nobody holds is answered with port unreachable (RFC 1122 §4.1.3.1);
 * one for a full socket ring is dropped and counted. Nothing here throws or allocates.
 * Modelled on smoltcp `iface/interface/udp.rs` and lwIP `udp.c`.
 */
import type { UdpSocket } from '../socket/udp.ts';
import { WireError } from '../wire/error.ts';
import { Icmpv4Unreachable } from '../wire/icmpv4.ts';
import { IPV4_HEADER_LEN, IpProtocol } from '../wire/ipv4.ts';
import { UDP_HEADER_LEN } from '../wire/udp.ts';
import { sendDatagram } from './fragment.ts';
import { sendUnreachable } from './icmp.ts';
import type { InterfaceInner } from './inner.ts';
import { emitIpv4Header } from './ipv4.ts';

/**
 * Handles one UDP datagram; `inner.ipRepr` holds its IPv4 header. Owns `slot` when >= 0 (the
 * datagram is that pool slot), else the datagram is in a reassembly buffer the caller releases.
 */
export function udpInput(inner: InterfaceInner, now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
  const st = inner.stats.udp;
  st.recv++;
  const headerLen = inner.ip.headerLen;
  const ipRepr = inner.ipRepr;
  const udp = inner.udp.reset(bytes, ipOff + headerLen, totalLen - headerLen);
  const repr = inner.udpRepr;
  const err = repr.parse(udp, ipRepr.src, ipRepr.dst, inner.checksum);
  if (err !== WireError.Ok) {
    st.drop++;
    if (err === WireError.BadChecksum) st.chkerr++;
    else st.lenerr++;
    inner.release(slot);
    return;
  }
  const sock = inner.udpSockets.find(repr.dstPort);
  if (sock === null) {
    st.noPort++;
    st.drop++;
    // RFC 1122 §4.1.3.1: port unreachable (which §3.2.2 forbids for a broadcast; sendUnreachable checks).
    sendUnreachable(inner, now, Icmpv4Unreachable.PortUnreachable, bytes, ipOff, totalLen, slot);
    return;
  }
  if (!sock.deliver(bytes, repr.payloadOff, repr.payloadLen, ipRepr.src, repr.srcPort)) {
    st.rxFull++;
    st.drop++;
  }
  inner.release(slot);
}

/** Emits the front datagram of a UDP socket's send ring (and pops it, sent or dropped). */
export function sendUdp(inner: InterfaceInner, now: number, sock: UdpSocket): void {
  const tx = sock.tx;
  tx.peek();
  const payloadLen = tx.headLen;
  const totalLen = IPV4_HEADER_LEN + UDP_HEADER_LEN + payloadLen;
  const src = inner.address;
  const dst = tx.headAddress;
  const udpRepr = inner.udpRepr;
  udpRepr.srcPort = sock.port;
  udpRepr.dstPort = tx.headPort;
  udpRepr.payloadLen = payloadLen;
  if (totalLen <= inner.mtu) {
    const pool = inner.pool;
    const slot = pool.alloc();
    if (slot < 0) {
      // Cannot happen while egress checks `available`, but stay safe: leave it queued.
      inner.stats.udp.memerr++;
      return;
    }
    const off = pool.start[slot]!;
    tx.readPayload(pool.bytes, off + IPV4_HEADER_LEN + UDP_HEADER_LEN, payloadLen);
    tx.pop();
    udpRepr.payloadOff = off + IPV4_HEADER_LEN + UDP_HEADER_LEN;
    udpRepr.emit(inner.udp.reset(pool.bytes, off + IPV4_HEADER_LEN, UDP_HEADER_LEN + payloadLen), src, dst, null, inner.checksum);
    emitIpv4Header(inner, pool.bytes, off, dst, IpProtocol.Udp, UDP_HEADER_LEN + payloadLen, sock.ttl, 0, sock.dontFragment);
    pool.len[slot] = totalLen;
    sock.stats.sent++;
    inner.stats.udp.xmit++;
    inner.stats.ip.xmit++;
    inner.device.transmit(now, slot);
    return;
  }
  // Larger than the MTU: refuse with DF (RFC 1191 host behaviour), else build and fragment.
  if (sock.dontFragment || totalLen > inner.scratch.length) {
    tx.pop();
    sock.stats.txDrop++;
    inner.stats.ip.tooBig++;
    return;
  }
  const buf = inner.scratch;
  tx.readPayload(buf, IPV4_HEADER_LEN + UDP_HEADER_LEN, payloadLen);
  tx.pop();
  udpRepr.payloadOff = IPV4_HEADER_LEN + UDP_HEADER_LEN;
  udpRepr.emit(inner.udp.reset(buf, IPV4_HEADER_LEN, UDP_HEADER_LEN + payloadLen), src, dst, null, inner.checksum);
  emitIpv4Header(inner, buf, 0, dst, IpProtocol.Udp, UDP_HEADER_LEN + payloadLen, sock.ttl, 0, false);
  sock.stats.sent++;
  inner.stats.udp.xmit++;
  sendDatagram(inner, now, buf, 0, totalLen);
}
