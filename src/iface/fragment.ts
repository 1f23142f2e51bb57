/**
 * IPv4 output of a datagram built outside a pool slot (in the scratch buffer or a reassembly
 * buffer): copied into one slot when it fits the MTU, else cut into fragments (RFC 791 §3.2).
 *
 * Each fragment takes one pool slot; an empty pool loses the rest of the datagram (counted,
 * and the receiver's reassembly timer cleans up). Nothing allocates. Modelled on lwIP
 * `ip4_frag.c` and smoltcp's `Fragmenter`.
 */
import { copyBytes } from '../storage/copy.ts';
import { IPV4_HEADER_LEN } from '../wire/ipv4.ts';
import type { InterfaceInner } from './inner.ts';

/**
 * Sends a datagram built elsewhere (header first, 20 octets, checksum filled), cutting it into
 * fragments when it exceeds the MTU (RFC 791 §3.2, "An Example Fragmentation Procedure").
 * With DF set and too large it is dropped and counted. `bytes` stays the caller's.
 */
export function sendDatagram(inner: InterfaceInner, now: number, bytes: Uint8Array, off: number, totalLen: number): void {
  const ipStats = inner.stats.ip;
  const pool = inner.pool;
  const mtu = inner.mtu;
  if (totalLen <= mtu) {
    const slot = pool.alloc();
    if (slot < 0) {
      ipStats.memerr++;
      return;
    }
    copyBytes(pool.bytes, pool.start[slot]!, bytes, off, totalLen);
    pool.len[slot] = totalLen;
    ipStats.xmit++;
    inner.device.transmit(now, slot);
    return;
  }
  const header = inner.outIp.reset(bytes, off, IPV4_HEADER_LEN);
  if (header.dontFrag) {
    ipStats.tooBig++;
    return;
  }
  const payloadLen = totalLen - IPV4_HEADER_LEN;
  // Every fragment but the last carries a multiple of 8 octets.
  const chunk = (mtu - IPV4_HEADER_LEN) & ~7;
  const repr = inner.outIpRepr;
  repr.src = header.src;
  repr.dst = header.dst;
  repr.protocol = header.protocol;
  repr.ttl = header.ttl;
  repr.tos = header.dscpEcn;
  repr.ident = header.ident;
  repr.dontFrag = false;
  ipStats.xmit++;
  for (let at = 0; at < payloadLen; at += chunk) {
    const slot = pool.alloc();
    if (slot < 0) {
      // The rest of the datagram is lost; the receiver's reassembly timer cleans up.
      ipStats.memerr++;
      return;
    }
    const n = payloadLen - at < chunk ? payloadLen - at : chunk;
    const start = pool.start[slot]!;
    copyBytes(pool.bytes, start + IPV4_HEADER_LEN, bytes, off + IPV4_HEADER_LEN + at, n);
    repr.payloadLen = n;
    repr.fragOffset = at;
    repr.moreFrags = at + n < payloadLen;
    repr.emit(inner.outIp.reset(pool.bytes, start, IPV4_HEADER_LEN), inner.checksum);
    pool.len[slot] = IPV4_HEADER_LEN + n;
    ipStats.fragSent++;
    inner.device.transmit(now, slot);
  }
}
