/**
 * IPv4 on the interface (RFC 791, RFC 1122 §3.2.1). Input: the checks every received frame goes
 * through before a protocol sees it, and the hand-off of fragments to reassembly. Output: the
 * one place that writes the IPv4 header of a datagram this host originates.
 *
 * Every rejection increments `stats.ip.drop` and one named reason, and frees the slot; nothing
 * here throws. A datagram that passes is described by `inner.ip` / `inner.ipRepr` until the
 * next one is parsed. Modelled on smoltcp `iface/interface/ipv4.rs` and lwIP `ip4.c`.
 */
import { WireError } from '../wire/error.ts';
import { IPV4_HEADER_LEN } from '../wire/ipv4.ts';
import type { InterfaceInner } from './inner.ts';

/** Limited broadcast, 255.255.255.255 as int32. */
export const BROADCAST = -1;

/**
 * Checks the frame in `slot`: header (version, IHL, lengths, checksum), destination and source.
 * Returns true when it is a datagram for this host (then `inner.ip` and `inner.ipRepr` describe
 * it and the slot's length is trimmed to the IPv4 total length); false when it was dropped,
 * counted and its slot freed.
 */
export function acceptIpv4(inner: InterfaceInner, slot: number): boolean {
  const pool = inner.pool;
  const ipStats = inner.stats.ip;
  ipStats.recv++;
  const ip = inner.ip.reset(pool.bytes, pool.start[slot]!, pool.len[slot]!);
  const repr = inner.ipRepr;
  const err = repr.parse(ip, inner.checksum);
  if (err !== WireError.Ok) {
    ipStats.drop++;
    if (err === WireError.BadChecksum) ipStats.chkerr++;
    else if (err === WireError.BadVersion || err === WireError.BadHeaderLength) ipStats.hdrerr++;
    else ipStats.lenerr++;
    pool.free(slot);
    return false;
  }
  // RFC 1122 §3.2.1.3: a host accepts datagrams for its own address and limited broadcast.
  if (repr.dst !== inner.address && repr.dst !== BROADCAST) {
    ipStats.drop++;
    ipStats.badDst++;
    pool.free(slot);
    return false;
  }
  // RFC 1122 §3.2.1.3: a source that is broadcast, multicast or class E is silently discarded.
  if (repr.src === BROADCAST || (repr.src >>> 28) >= 0xe) {
    ipStats.drop++;
    ipStats.badSrc++;
    pool.free(slot);
    return false;
  }
  // Frames may carry link padding after the datagram: trust the IPv4 total length.
  pool.len[slot] = ip.totalLen;
  return true;
}

/**
 * RFC 791 §3.2: hands the fragment in `slot` (accepted by `acceptIpv4`) to reassembly and frees
 * the slot. Returns the reassembly buffer whose datagram it completed, or -1. On completion
 * `inner.ip` / `inner.ipRepr` describe the rebuilt datagram; the caller releases the buffer.
 */
export function reassemble(inner: InterfaceInner, now: number, slot: number): number {
  const repr = inner.ipRepr;
  const pool = inner.pool;
  inner.stats.ip.fragments++;
  const r = inner.reassembler;
  const done = r.add(
    now, repr.src, repr.dst, repr.protocol, repr.ident, repr.ttl, repr.fragOffset, repr.moreFrags,
    pool.bytes, inner.ip.payloadOff, repr.payloadLen,
  );
  pool.free(slot);
  if (done >= 0) {
    // The rebuilt header is ours (no checksum to verify); re-point the views at it.
    repr.parse(inner.ip.reset(r.bytes, r.datagramOff(done), r.datagramLen(done)), false);
  }
  return done;
}

/**
 * Writes the 20-octet IPv4 header of a datagram this host originates at `bytes[off]`, its
 * `payloadLen` octets of payload already behind it: from `inner.address` to `dst`, the next
 * identification, not a fragment, the header checksum filled when the device wants checksums.
 * We never send options. Fragments of a datagram copy its header instead (fragment.ts).
 * @param protocol  `IpProtocol` of the payload
 * @param payloadLen  octets after the header
 * @param ttl  hops
 * @param tos  the type-of-service octet (DSCP and ECN); 0 unless echoing a request's
 * @param dontFrag  the DF bit (RFC 791 §3.1)
 */
export function emitIpv4Header(
  inner: InterfaceInner, bytes: Uint8Array, off: number, dst: number, protocol: number, payloadLen: number,
  ttl: number, tos: number, dontFrag: boolean,
): void {
  const repr = inner.outIpRepr;
  repr.src = inner.address;
  repr.dst = dst;
  repr.protocol = protocol;
  repr.ttl = ttl;
  repr.tos = tos;
  repr.payloadLen = payloadLen;
  repr.dontFrag = dontFrag;
  repr.moreFrags = false;
  repr.fragOffset = 0;
  repr.ident = inner.takeIdent();
  repr.emit(inner.outIp.reset(bytes, off, IPV4_HEADER_LEN), inner.checksum);
}
