/**
 * InterfaceInner: the state the interface's protocol modules share (smoltcp's `InterfaceInner`).
 *
 * An Interface owns exactly one. The protocol modules (ipv4.ts, icmp.ts, udp.ts, tcp.ts,
 * fragment.ts) are plain functions that receive it: no closures, no per-packet objects. It holds
 * the configuration, the counters, the socket tables, the scratch buffer, and the views and
 * Reprs created once and re-pointed per packet. While a received datagram is handled, `ip` and
 * `ipRepr` describe it, and every protocol reads the IPv4 header from there.
 */
import type { Device } from '../phy/device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import type { IcmpSocketSet } from '../socket/icmp.ts';
import type { TcpStack } from '../socket/tcp/stack.ts';
import type { UdpSocketSet } from '../socket/udp.ts';
import type { TokenBucket } from '../time.ts';
import { Icmpv4Packet, Icmpv4Repr } from '../wire/icmpv4.ts';
import { IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr } from '../wire/ipv4.ts';
import { TCP_HEADER_LEN, TcpPacket, TcpRepr } from '../wire/tcp.ts';
import { UdpPacket, UdpRepr } from '../wire/udp.ts';
import type { Reassembler } from './reassembly.ts';
import { newInterfaceStats, type InterfaceStats } from './stats.ts';

/** What an InterfaceInner is built from; the Interface constructor resolves its options into this. */
export interface InterfaceParts {
  device: Device;
  /** This host's IPv4 address (int32). */
  address: number;
  /** TTL of datagrams this host originates, hops. */
  ttl: number;
  reassembler: Reassembler;
  /** Octets of the buffer that builds datagrams larger than the MTU. */
  scratchLen: number;
  udpSockets: UdpSocketSet;
  icmpSockets: IcmpSocketSet;
  tcp: TcpStack | null;
  /** The ICMP error rate limit: one token per message. */
  icmpErrors: TokenBucket;
}

export class InterfaceInner {
  readonly device: Device;
  readonly pool: PacketPool;
  /** This host's address (int32). */
  address: number;
  /** TTL of datagrams this host originates, hops. */
  readonly ttl: number;
  /** The device's MTU, octets. */
  readonly mtu: number;
  /** Checksums computed and verified (false when the device guarantees integrity). */
  readonly checksum: boolean;
  /** MSS this host advertises: MTU - 40, octets. */
  readonly mss: number;
  readonly stats: InterfaceStats = newInterfaceStats();
  readonly reassembler: Reassembler;
  readonly udpSockets: UdpSocketSet;
  readonly icmpSockets: IcmpSocketSet;
  readonly tcp: TcpStack | null;
  /** Builds datagrams larger than the MTU before they are cut into fragments. */
  readonly scratch: Uint8Array;
  /** RFC 1812 §4.3.2.8: ICMP errors spend one token each; none left means none sent. */
  readonly icmpErrors: TokenBucket;

  // Views and Reprs, created once and re-pointed per packet.
  /** The received datagram's IPv4 header while it is handled. */
  readonly ip = new Ipv4Packet();
  readonly ipRepr = new Ipv4Repr();
  /** The IPv4 header being written (ipv4.ts `emitIpv4Header`, fragment.ts). */
  readonly outIp = new Ipv4Packet();
  readonly outIpRepr = new Ipv4Repr();
  /** An ICMP message in or out; in and out never overlap, so one pair serves both. */
  readonly icmp = new Icmpv4Packet();
  readonly icmpRepr = new Icmpv4Repr();
  readonly udp = new UdpPacket();
  readonly udpRepr = new UdpRepr();
  readonly tcpPacket = new TcpPacket();
  /** The segment received, or the one a socket dispatches on egress. */
  readonly tcpRepr = new TcpRepr();
  /** A segment `TcpStack.input` answers with at once (a RST for no connection, an ACK, ...). */
  readonly tcpReply = new TcpRepr();

  /** IPv4 identification of the next datagram this host originates. */
  nextIdent = 1;

  constructor(parts: InterfaceParts) {
    this.device = parts.device;
    this.pool = parts.device.pool;
    this.address = parts.address;
    this.ttl = parts.ttl;
    this.mtu = parts.device.capabilities.mtu;
    this.checksum = parts.device.capabilities.checksum;
    this.mss = this.mtu - IPV4_HEADER_LEN - TCP_HEADER_LEN;
    this.reassembler = parts.reassembler;
    this.scratch = new Uint8Array(parts.scratchLen);
    this.udpSockets = parts.udpSockets;
    this.icmpSockets = parts.icmpSockets;
    this.tcp = parts.tcp;
    this.icmpErrors = parts.icmpErrors;
  }

  /** Output can go now: a pool slot is free and the device's queue has room. */
  canEmit(now: number): boolean {
    return this.pool.available > 0 && this.device.canTransmit(now);
  }

  /** Frees `slot` when the datagram is in one (slot >= 0); a reassembly buffer is released by its owner. */
  release(slot: number): void {
    if (slot >= 0) this.pool.free(slot);
  }

  /** The next IPv4 identification (RFC 791 §3.2), modulo 2^16. */
  takeIdent(): number {
    const id = this.nextIdent;
    this.nextIdent = (id + 1) & 0xffff;
    return id;
  }
}
