/**
 * ICMP on the interface (RFC 792, RFC 1122 §3.2.2): echo requests answered in the request's own
 * slot, echo replies handed to the ICMP socket table, echo requests sent for those sockets, and
 * destination unreachable sent for the other protocols, rate-limited (RFC 1812 §4.3.2.8).
 *
 * Every received message ends in one counter of `stats.icmp`; nothing here throws or
 * allocates. Modelled on lwIP `icmp.c` and smoltcp `iface/interface/ipv4.rs`.
 */
import type { IcmpSocket } from '../socket/icmp.ts';
import { copyBytes } from '../storage/copy.ts';
import { updateChecksum16 } from '../wire/checksum.ts';
import { WireError } from '../wire/error.ts';
import { ICMPV4_HEADER_LEN, Icmpv4Type } from '../wire/icmpv4.ts';
import { IPV4_HEADER_LEN, IpProtocol } from '../wire/ipv4.ts';
import { sendDatagram } from './fragment.ts';
import type { InterfaceInner } from './inner.ts';
import { BROADCAST, emitIpv4Header } from './ipv4.ts';

/**
 * Handles one ICMP message; `inner.ipRepr` holds its IPv4 header. Owns `slot` when >= 0 (the
 * datagram is that pool slot), else the datagram is in a reassembly buffer the caller releases.
 */
export function icmpInput(inner: InterfaceInner, now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
  const st = inner.stats.icmp;
  st.recv++;
  const headerLen = inner.ip.headerLen;
  const icmp = inner.icmp.reset(bytes, ipOff + headerLen, totalLen - headerLen);
  const repr = inner.icmpRepr;
  const err = repr.parse(icmp, inner.checksum);
  if (err !== WireError.Ok) {
    st.drop++;
    if (err === WireError.BadChecksum) st.chkerr++;
    else st.lenerr++;
    inner.release(slot);
    return;
  }
  if (repr.type === Icmpv4Type.EchoRequest) {
    // RFC 1122 §3.2.2.6: echo replies to a broadcast request are optional; we stay quiet.
    if (inner.ipRepr.dst === BROADCAST) {
      st.drop++;
      inner.release(slot);
      return;
    }
    echoReply(inner, now, bytes, ipOff, totalLen, slot);
    return;
  }
  if (repr.type === Icmpv4Type.EchoReply) {
    const sock = inner.icmpSockets.find(repr.ident);
    if (sock === null) {
      st.echoNoSocket++;
    } else if (sock.deliver(bytes, repr.dataOff, repr.dataLen, inner.ipRepr.src, repr.seqNo)) {
      st.echoDelivered++;
    } else {
      st.drop++;
    }
    inner.release(slot);
    return;
  }
  // Destination unreachable, time exceeded and the rest: counted. (TCP will listen for
  // fragmentation-needed here; nothing else needs them on a single link.)
  st.otherRecv++;
  inner.release(slot);
}

/**
 * RFC 792 echo: the reply is the request with the addresses swapped and type 0. A request in
 * a slot is answered in that slot; a reassembled one is answered from its reassembly buffer
 * and fragmented on the way out.
 */
function echoReply(inner: InterfaceInner, now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
  const st = inner.stats.icmp;
  const headerLen = inner.ip.headerLen;
  let off = ipOff;
  // A request with IP options is answered without them: move the start so a 20-octet header fits.
  if (headerLen > IPV4_HEADER_LEN) {
    off = ipOff + headerLen - IPV4_HEADER_LEN;
    if (slot >= 0) inner.pool.start[slot] = off;
  }
  const len = totalLen - headerLen + IPV4_HEADER_LEN;
  const icmpOff = off + IPV4_HEADER_LEN;
  // Type 8 -> 0 changes the first 16-bit word; patch the checksum incrementally (RFC 1624).
  const icmp = inner.icmp.reset(bytes, icmpOff, len - IPV4_HEADER_LEN);
  const oldWord = (icmp.msgType << 8) | icmp.msgCode;
  icmp.msgType = Icmpv4Type.EchoReply;
  if (inner.checksum) icmp.checksum = updateChecksum16(icmp.checksum, oldWord, (Icmpv4Type.EchoReply << 8) | icmp.msgCode);
  else icmp.checksum = 0;
  emitIpv4Header(inner, bytes, off, inner.ipRepr.src, IpProtocol.Icmp, len - IPV4_HEADER_LEN, inner.ttl, inner.ipRepr.tos, false);
  st.echoReplied++;
  st.xmit++;
  if (slot >= 0 && len <= inner.mtu) {
    inner.pool.len[slot] = len;
    inner.stats.ip.xmit++;
    inner.device.transmit(now, slot);
    return;
  }
  inner.release(slot);
  sendDatagram(inner, now, bytes, off, len);
}

/**
 * Sends destination unreachable quoting the offending datagram (RFC 792; RFC 1812 §4.3.2.3:
 * as much of it as fits in 576 octets). `inner.ipRepr` holds the offending datagram's header.
 * Reuses `slot` when there is one. Takes ownership of `slot`.
 */
export function sendUnreachable(inner: InterfaceInner, now: number, code: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
  const st = inner.stats.icmp;
  const ipRepr = inner.ipRepr;
  // RFC 1122 §3.2.2: never in answer to an ICMP error, a broadcast, or a non-initial fragment
  // (only whole datagrams get here: fragments are reassembled first).
  if (ipRepr.dst === BROADCAST || (ipRepr.protocol === IpProtocol.Icmp && isIcmpError(inner, bytes, ipOff))) {
    st.errorsSuppressed++;
    inner.release(slot);
    return;
  }
  // RFC 1812 §4.3.2.8: errors are rate-limited (a token bucket, 10 a second by default).
  if (!inner.icmpErrors.take(now)) {
    st.rateLimited++;
    inner.release(slot);
    return;
  }
  const pool = inner.pool;
  let out = slot;
  if (out < 0) {
    out = pool.alloc();
    if (out < 0) {
      st.memerr++;
      return;
    }
  }
  const base = pool.base(out);
  const room = pool.capacity;
  const header = IPV4_HEADER_LEN + ICMPV4_HEADER_LEN;
  let quote = totalLen;
  if (quote > 576 - header) quote = 576 - header;
  if (quote > inner.mtu - header) quote = inner.mtu - header;
  if (quote > room - header) quote = room - header;
  // Move the quoted datagram behind room for the new headers (memmove within the pool).
  copyBytes(pool.bytes, base + header, bytes, ipOff, quote);
  const icmp = inner.icmp.reset(pool.bytes, base + IPV4_HEADER_LEN, ICMPV4_HEADER_LEN + quote);
  const repr = inner.icmpRepr;
  repr.type = Icmpv4Type.DestUnreachable;
  repr.code = code;
  repr.ident = 0;
  repr.seqNo = 0;
  repr.nextHopMtu = 0;
  repr.dataOff = base + header;
  repr.dataLen = quote;
  repr.emit(icmp, pool.bytes, inner.checksum);
  emitIpv4Header(inner, pool.bytes, base, ipRepr.src, IpProtocol.Icmp, ICMPV4_HEADER_LEN + quote, inner.ttl, 0, false);
  pool.start[out] = base;
  pool.len[out] = header + quote;
  st.unreachSent++;
  st.xmit++;
  inner.stats.ip.xmit++;
  inner.device.transmit(now, out);
}

/** The ICMP message at the datagram's payload is an error (not echo, not timestamp 13/14). */
function isIcmpError(inner: InterfaceInner, bytes: Uint8Array, ipOff: number): boolean {
  const type = bytes[ipOff + inner.ip.headerLen];
  return type !== Icmpv4Type.EchoRequest && type !== Icmpv4Type.EchoReply && type !== 13 && type !== 14;
}

/** Emits the front echo request of an ICMP socket's send ring (and pops it, sent or dropped). */
export function sendEcho(inner: InterfaceInner, now: number, sock: IcmpSocket): void {
  const tx = sock.tx;
  tx.peek();
  const dataLen = tx.headLen;
  const totalLen = IPV4_HEADER_LEN + ICMPV4_HEADER_LEN + dataLen;
  let buf: Uint8Array;
  let off: number;
  let slot = -1;
  if (totalLen <= inner.mtu) {
    slot = inner.pool.alloc();
    if (slot < 0) {
      inner.stats.icmp.memerr++;
      return;
    }
    buf = inner.pool.bytes;
    off = inner.pool.start[slot]!;
  } else if (totalLen <= inner.scratch.length) {
    buf = inner.scratch;
    off = 0;
  } else {
    tx.pop();
    sock.stats.txDrop++;
    inner.stats.ip.tooBig++;
    return;
  }
  tx.readPayload(buf, off + IPV4_HEADER_LEN + ICMPV4_HEADER_LEN, dataLen);
  const repr = inner.icmpRepr;
  repr.type = Icmpv4Type.EchoRequest;
  repr.code = 0;
  repr.ident = sock.ident;
  repr.seqNo = tx.headPort;
  repr.nextHopMtu = 0;
  repr.dataOff = off + IPV4_HEADER_LEN + ICMPV4_HEADER_LEN;
  repr.dataLen = dataLen;
  const dst = tx.headAddress;
  tx.pop();
  repr.emit(inner.icmp.reset(buf, off + IPV4_HEADER_LEN, ICMPV4_HEADER_LEN + dataLen), buf, inner.checksum);
  emitIpv4Header(inner, buf, off, dst, IpProtocol.Icmp, ICMPV4_HEADER_LEN + dataLen, inner.ttl, 0, false);
  sock.stats.sent++;
  inner.stats.icmp.xmit++;
  if (slot >= 0) {
    inner.pool.len[slot] = totalLen;
    inner.stats.ip.xmit++;
    inner.device.transmit(now, slot);
  } else {
    sendDatagram(inner, now, buf, off, totalLen);
  }
}
