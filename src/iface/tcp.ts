/**
 * The TCP glue on the interface: received segments parsed and checked here, then handed to the
 * TCP socket table (`TcpStack`, the socket layer), which copies any payload into the socket's
 * receive ring and may return an immediate reply; segments the sockets dispatch are emitted
 * into pool slots with their IPv4 header, the payload copied once from the send ring.
 *
 * Rejections are counted in the stack's `stats`; nothing here throws or allocates. Modelled on
 * smoltcp `iface/interface/tcp.rs`.
 */
import { TxPriority } from '../phy/device.ts';
import type { TcpSocket } from '../socket/tcp/socket.ts';
import { WireError } from '../wire/error.ts';
import { IPV4_HEADER_LEN, IpProtocol } from '../wire/ipv4.ts';
import { TcpFlag, type TcpRepr } from '../wire/tcp.ts';
import type { InterfaceInner } from './inner.ts';
import { BROADCAST, emitIpv4Header } from './ipv4.ts';

/**
 * TCP: validate, hand to the socket table (which copies any payload), send an immediate reply.
 * `inner.ipRepr` holds the IPv4 header and `inner.tcp` is set. Owns `slot` when >= 0, else the
 * datagram is in a reassembly buffer the caller releases.
 */
export function tcpInput(inner: InterfaceInner, now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
  const tcp = inner.tcp!;
  const st = tcp.stats;
  const headerLen = inner.ip.headerLen;
  const ipRepr = inner.ipRepr;
  const seg = inner.tcpRepr;
  const err = seg.parse(inner.tcpPacket.reset(bytes, ipOff + headerLen, totalLen - headerLen), ipRepr.src, ipRepr.dst, inner.checksum);
  if (err !== WireError.Ok) {
    if (err === WireError.BadChecksum) st.chkerr++;
    else if (err === WireError.BadOption) st.optErr++;
    else if (err === WireError.BadFlags) st.badFlags++;
    else st.lenerr++;
    inner.release(slot);
    return;
  }
  // RFC 9293 §3.9.2: segments to a broadcast address are not TCP's business.
  if (ipRepr.dst === BROADCAST) {
    inner.release(slot);
    return;
  }
  const reply = inner.tcpReply;
  const answer = tcp.input(now, ipRepr.src, seg, bytes, reply);
  inner.release(slot);
  if (answer) sendTcp(inner, now, reply, null, ipRepr.src);
}

/**
 * Emits one TCP segment to `dst`: IPv4 and TCP headers, and the payload copied from the
 * socket's send ring when `sock` is given. Returns false (counted) when no slot is free.
 */
function sendTcp(inner: InterfaceInner, now: number, seg: TcpRepr, sock: TcpSocket | null, dst: number): boolean {
  const pool = inner.pool;
  const slot = pool.alloc();
  if (slot < 0) {
    inner.tcp!.stats.memerr++;
    inner.stats.ip.memerr++;
    return false;
  }
  emitTcp(inner, now, slot, seg, sock, dst);
  return true;
}

/**
 * Writes `seg` to `dst` into `slot` (which the caller allocated and hands over) and transmits
 * it: TCP header and payload (copied from `sock`'s send ring when given), then the IPv4 header.
 * Sent as `TxPriority.Control`, ahead of data the device has queued: a SYN or a RST without
 * payload, and a pure ACK or window update that `sock.mayOvertake` says the peer accepts even
 * before the data queued ahead of it (nothing outstanding, or SND.NXT strictly inside the
 * window the peer offered). Every other segment keeps FIFO order, FINs and the immediate
 * answers from input (ACKs to unacceptable segments, challenge ACKs) included. Sending every
 * pure ACK first, as before, let an ACK pass the data while the peer's window was full and
 * reach it beyond the window, unacceptable; its answer went first too, and a connection stalled
 * when a serial port came back after an outage (test/firmware/reopen.test.ts; see also the old
 * duplicates in socket/tcp/input.ts). Answers staying FIFO, no exchange of them can starve the
 * data that would end it.
 */
export function emitTcp(inner: InterfaceInner, now: number, slot: number, seg: TcpRepr, sock: TcpSocket | null, dst: number): void {
  const pool = inner.pool;
  const off = pool.start[slot]!;
  const tcpLen = seg.headerLen() + seg.payloadLen;
  // The payload is where dispatch said: `payloadOff` in the socket's send ring.
  if (sock !== null && seg.payloadLen > 0) sock.tx.readAt(seg.payloadOff, pool.bytes, off + IPV4_HEADER_LEN + seg.headerLen(), seg.payloadLen);
  seg.emit(inner.tcpPacket.reset(pool.bytes, off + IPV4_HEADER_LEN, tcpLen), inner.address, dst, null, inner.checksum);
  // RFC 9293 §3.7.2 / RFC 1191: TCP segments fit the MTU, so DF is set as Linux does.
  emitIpv4Header(inner, pool.bytes, off, dst, IpProtocol.Tcp, tcpLen, inner.ttl, 0, true);
  pool.len[slot] = IPV4_HEADER_LEN + tcpLen;
  inner.stats.ip.xmit++;
  const control = seg.payloadLen === 0 && ((seg.flags & (TcpFlag.Syn | TcpFlag.Rst)) !== 0 || (sock !== null && sock.mayOvertake(seg)));
  inner.device.transmit(now, slot, control ? TxPriority.Control : TxPriority.Data);
}
