/**
 * Per-layer counters, lwIP `stats_proto` style, as plain object fields (no allocation to bump).
 *
 * Accounting rule the tests check: every frame taken from the device increments `ip.recv` and
 * then exactly one of `ip.drop` (with one named reason), `ip.fragments` (absorbed into
 * reassembly, whose outcomes `frag` counts) or `ip.delivered` (handed to ICMP, UDP or TCP, which
 * count their own outcome the same way).
 */

export interface IpStats {
  /** Frames taken from the device. */
  recv: number;
  /** Datagrams handed to the device (after fragmentation: one per datagram). */
  xmit: number;
  /** Frames dropped, all reasons; each also counts one of the reasons below. */
  drop: number;
  /** Header checksum wrong. */
  chkerr: number;
  /** Frame shorter than the header or than the total length, or total length impossible. */
  lenerr: number;
  /** Version not 4 or header length under 20 octets. */
  hdrerr: number;
  /** Destination is not this interface. */
  badDst: number;
  /** Source address impossible: limited broadcast, multicast or class E (RFC 1122 §3.2.1.3). */
  badSrc: number;
  /** Fragments handed to reassembly. */
  fragments: number;
  /** Unfragmented datagrams handed to a protocol (reassembled ones are counted by the reassembler). */
  delivered: number;
  /** Protocol we do not speak (answered with protocol unreachable, unless sent to broadcast). */
  proterr: number;
  /** No pool slot for output. */
  memerr: number;
  /** Output refused: larger than the MTU with DF set, or larger than the scratch buffer. */
  tooBig: number;
  /** Fragments sent. */
  fragSent: number;
}

export interface IcmpStats {
  recv: number;
  xmit: number;
  drop: number;
  chkerr: number;
  lenerr: number;
  /** Echo requests answered. */
  echoReplied: number;
  /** Echo replies delivered to an ICMP socket. */
  echoDelivered: number;
  /** Echo replies for no socket of ours. */
  echoNoSocket: number;
  /** Destination unreachable sent (port or protocol). */
  unreachSent: number;
  /** ICMP errors not sent because of the rate limit. */
  rateLimited: number;
  /** ICMP errors not sent because RFC 1122 §3.2.2 forbids them: in answer to a broadcast or to an ICMP error. */
  errorsSuppressed: number;
  /** Error messages and other types received and consumed (counted, not acted on). */
  otherRecv: number;
  memerr: number;
}

export interface UdpStats {
  recv: number;
  xmit: number;
  drop: number;
  chkerr: number;
  lenerr: number;
  /** No socket on the destination port (answered with port unreachable, unless sent to broadcast). */
  noPort: number;
  /** The socket's receive ring was full. */
  rxFull: number;
  memerr: number;
}

export interface InterfaceStats {
  ip: IpStats;
  icmp: IcmpStats;
  udp: UdpStats;
}

export function newInterfaceStats(): InterfaceStats {
  return {
    ip: {
      recv: 0, xmit: 0, drop: 0, chkerr: 0, lenerr: 0, hdrerr: 0, badDst: 0, badSrc: 0, fragments: 0,
      delivered: 0, proterr: 0, memerr: 0, tooBig: 0, fragSent: 0,
    },
    icmp: {
      recv: 0, xmit: 0, drop: 0, chkerr: 0, lenerr: 0, echoReplied: 0, echoDelivered: 0, echoNoSocket: 0,
      unreachSent: 0, rateLimited: 0, errorsSuppressed: 0, otherRecv: 0, memerr: 0,
    },
    udp: { recv: 0, xmit: 0, drop: 0, chkerr: 0, lenerr: 0, noPort: 0, rxFull: 0, memerr: 0 },
  };
}
