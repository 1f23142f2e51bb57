/**
 * Interface: the IPv4 host on one point-to-point link.
 *
 * `poll(now)` takes frames from the Device until it has none (ingress), then lets the sockets
 * send what they have queued (egress); `pollAt(now)` says when it next needs to run. Between
 * them sit the IPv4 input checks (each rejection a named counter, nothing throws), ICMP echo
 * (answered in the request's own slot), reassembly into fixed buffers, fragmentation on output,
 * ICMP port and protocol unreachable (rate-limited), and the UDP and ICMP socket tables.
 *
 * Memory: frames live in the device's PacketPool. Views and Reprs are created once here and
 * re-pointed per packet. The only other memory is the reassembly buffers and one scratch buffer
 * for building datagrams larger than the MTU, all allocated at construction.
 * Modelled on smoltcp `iface/interface` and lwIP `ip4.c`, `icmp.c`, `ip4_frag.c`.
 */
import type { Device } from '../phy/device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { copyBytes } from '../storage/copy.ts';
import { WireError } from '../wire/error.ts';
import { IPV4_HEADER_LEN, IpProtocol, Ipv4Packet, Ipv4Repr } from '../wire/ipv4.ts';
import { Icmpv4Packet, Icmpv4Repr, Icmpv4Type, Icmpv4Unreachable } from '../wire/icmpv4.ts';
import { UDP_HEADER_LEN, UdpPacket, UdpRepr } from '../wire/udp.ts';
import { updateChecksum16 } from '../wire/checksum.ts';
import { TCP_HEADER_LEN, TcpPacket, TcpRepr } from '../wire/tcp.ts';
import { UdpSocket } from '../socket/udp.ts';
import type { TcpStack } from '../socket/tcp/stack.ts';
import { IcmpSocket } from '../socket/icmp.ts';
import { SocketError } from '../socket/error.ts';
import { Reassembler, REASSEMBLY_HEADER_LEN } from './reassembly.ts';
import { newInterfaceStats, type InterfaceStats } from './stats.ts';

export interface InterfaceOptions {
  /** The link. Its pool holds every frame in and out. */
  device: Device;
  /** This host's IPv4 address (int32, see wire/ipv4 `ipv4Address`). */
  address: number;
  /** TTL of datagrams this host originates. Defaults to 64. */
  ttl?: number;
  /** Datagrams reassembled at once. Defaults to 2. */
  reassemblyBuffers?: number;
  /** Largest datagram reassembled or built for fragmentation, in octets, header included. Defaults to 8192. */
  reassemblySize?: number;
  /** Reassembly timeout in ms (RFC 791 suggests 15 s). Defaults to 15000. */
  reassemblyTimeoutMs?: number;
  /** ICMP error messages per second, token bucket (RFC 1812 §4.3.2.8). Defaults to 10. */
  icmpErrorsPerSecond?: number;
  /** Token bucket depth for ICMP errors. Defaults to 10. */
  icmpErrorBurst?: number;
  /** Size of the UDP socket table. Defaults to 8. */
  udpSockets?: number;
  /** Size of the ICMP socket table. Defaults to 4. */
  icmpSockets?: number;
  /** Most frames taken from the device in one poll, so egress and timers are not starved. Defaults to 256. */
  ingressBudget?: number;
  /** The TCP socket table; without one, TCP segments get protocol unreachable. */
  tcp?: TcpStack;
}

/** Limited broadcast, 255.255.255.255 as int32. */
const BROADCAST = -1;

export class Interface {
  readonly device: Device;
  readonly pool: PacketPool;
  /** This host's address (int32). */
  address: number;
  readonly ttl: number;
  readonly mtu: number;
  /** Checksums computed and verified (false when the device guarantees integrity). */
  readonly checksum: boolean;
  readonly stats: InterfaceStats = newInterfaceStats();
  readonly reassembler: Reassembler;
  readonly udpSockets: (UdpSocket | null)[];
  readonly icmpSockets: (IcmpSocket | null)[];
  readonly tcp: TcpStack | null;
  /** MSS this host advertises: MTU - 40. */
  readonly mss: number;

  // Views and Reprs, created once and re-pointed per packet.
  private readonly ip = new Ipv4Packet();
  private readonly ipRepr = new Ipv4Repr();
  private readonly outIp = new Ipv4Packet();
  private readonly outIpRepr = new Ipv4Repr();
  private readonly icmp = new Icmpv4Packet();
  private readonly icmpRepr = new Icmpv4Repr();
  private readonly udp = new UdpPacket();
  private readonly udpRepr = new UdpRepr();
  private readonly tcpPacket = new TcpPacket();
  private readonly tcpRepr = new TcpRepr();
  private readonly tcpReply = new TcpRepr();
  /** Builds datagrams larger than the MTU before they are cut into fragments. */
  private readonly scratch: Uint8Array;
  private readonly ingressBudget: number;
  private nextIdent = 1;

  // ICMP error token bucket, in thousandths of a token.
  private readonly icmpRate: number;
  private readonly icmpBurst: number;
  private icmpTokens: number;
  private icmpRefillAt = 0;

  constructor(options: InterfaceOptions) {
    this.device = options.device;
    this.pool = options.device.pool;
    this.address = options.address | 0;
    this.ttl = options.ttl ?? 64;
    this.mtu = options.device.capabilities.mtu;
    this.checksum = options.device.capabilities.checksum;
    const size = options.reassemblySize ?? 8192;
    this.reassembler = new Reassembler(options.reassemblyBuffers ?? 2, size, options.reassemblyTimeoutMs ?? 15_000);
    this.scratch = new Uint8Array(size);
    this.udpSockets = new Array<UdpSocket | null>(options.udpSockets ?? 8).fill(null);
    this.icmpSockets = new Array<IcmpSocket | null>(options.icmpSockets ?? 4).fill(null);
    this.ingressBudget = options.ingressBudget ?? 256;
    this.tcp = options.tcp ?? null;
    this.mss = this.mtu - IPV4_HEADER_LEN - TCP_HEADER_LEN;
    if (this.tcp !== null) this.tcp.attach(this.address, this.mss);
    this.icmpRate = options.icmpErrorsPerSecond ?? 10;
    this.icmpBurst = (options.icmpErrorBurst ?? 10) * 1000;
    this.icmpTokens = this.icmpBurst;
  }

  // ---------------------------------------------------------------------------------------------
  // Socket tables

  /** Adds a bound UDP socket. Returns its handle, or NotBound / AddressInUse (port taken) / WouldBlock (table full). */
  addUdpSocket(socket: UdpSocket): number {
    return addToTable(this.udpSockets, socket, socket.port);
  }

  removeUdpSocket(socket: UdpSocket): void {
    removeFromTable(this.udpSockets, socket);
  }

  /** Adds a bound ICMP echo socket (keyed by its identifier). Returns its handle or a SocketError. */
  addIcmpSocket(socket: IcmpSocket): number {
    return addToTable(this.icmpSockets, socket, socket.ident);
  }

  removeIcmpSocket(socket: IcmpSocket): void {
    removeFromTable(this.icmpSockets, socket);
  }

  // ---------------------------------------------------------------------------------------------
  // Poll

  /**
   * Runs the stack once at time `now` (ms): ingress until the device is empty (or the budget is
   * spent), timers, then egress until the sockets are quiet. Returns true if anything happened.
   * Never throws on bad input.
   */
  poll(now: number): boolean {
    let progress = false;
    for (let n = 0; n < this.ingressBudget; n++) {
      const slot = this.device.receive(now);
      if (slot < 0) break;
      progress = true;
      this.input(now, slot);
    }
    this.reassembler.expire(now);
    if (this.egress(now)) progress = true;
    return progress;
  }

  /** When `poll` should next run: `now` if work is waiting, a deadline, or NEVER. */
  pollAt(now: number): number {
    let t = this.device.pollAt(now);
    const r = this.reassembler.pollAt();
    if (r < t) t = r;
    // Output waiting counts only when it could go: a slot free and room in the device's queue
    // (otherwise the device's own deadline, when its queue drains, wakes us).
    const canSend = this.canEmit(now);
    if (this.tcp !== null) {
      const c = this.tcp.pollAt(now, canSend);
      if (c < t) t = c;
    }
    if (t > now && canSend && this.hasQueuedOutput()) t = now;
    return t;
  }

  /** Output can go now: a pool slot is free and the device's queue has room. */
  private canEmit(now: number): boolean {
    return this.pool.available > 0 && this.device.canTransmit(now);
  }

  private hasQueuedOutput(): boolean {
    for (let i = 0; i < this.udpSockets.length; i++) {
      const s = this.udpSockets[i];
      if (s != null && s.tx.count > 0) return true;
    }
    for (let i = 0; i < this.icmpSockets.length; i++) {
      const s = this.icmpSockets[i];
      if (s != null && s.tx.count > 0) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Ingress

  /** Handles one received frame; owns `slot` and frees or transmits it. */
  private input(now: number, slot: number): void {
    const pool = this.pool;
    const ipStats = this.stats.ip;
    ipStats.recv++;
    const ip = this.ip.reset(pool.bytes, pool.start[slot]!, pool.len[slot]!);
    const repr = this.ipRepr;
    const err = repr.parse(ip, this.checksum);
    if (err !== WireError.Ok) {
      ipStats.drop++;
      if (err === WireError.BadChecksum) ipStats.chkerr++;
      else if (err === WireError.BadVersion || err === WireError.BadHeaderLength) ipStats.hdrerr++;
      else ipStats.lenerr++;
      pool.free(slot);
      return;
    }
    // RFC 1122 §3.2.1.3: a host accepts datagrams for its own address and limited broadcast.
    if (repr.dst !== this.address && repr.dst !== BROADCAST) {
      ipStats.drop++;
      ipStats.badDst++;
      pool.free(slot);
      return;
    }
    // RFC 1122 §3.2.1.3: a source that is broadcast, multicast or class E is silently discarded.
    if (repr.src === BROADCAST || (repr.src >>> 28) >= 0xe) {
      ipStats.drop++;
      ipStats.badSrc++;
      pool.free(slot);
      return;
    }
    // Frames may carry link padding after the datagram: trust the IPv4 total length.
    const ipOff = pool.start[slot]!;
    const totalLen = ip.totalLen;
    pool.len[slot] = totalLen;

    if (repr.moreFrags || repr.fragOffset !== 0) {
      // RFC 791 §3.2: a fragment; reassemble it before any protocol sees it.
      ipStats.fragments++;
      const r = this.reassembler;
      const done = r.add(
        now, repr.src, repr.dst, repr.protocol, repr.ident, repr.ttl, repr.fragOffset, repr.moreFrags,
        pool.bytes, ip.payloadOff, repr.payloadLen,
      );
      pool.free(slot);
      if (done >= 0) {
        const off = r.datagramOff(done);
        const len = r.datagramLen(done);
        // The rebuilt header is ours (no checksum to verify); re-point the views at it.
        this.ipRepr.parse(this.ip.reset(r.bytes, off, len), false);
        this.deliver(now, r.bytes, off, len, -1);
        r.release(done);
      }
      return;
    }
    ipStats.delivered++;
    this.deliver(now, pool.bytes, ipOff, totalLen, slot);
  }

  /**
   * Hands a whole datagram to its protocol. `ipRepr` holds its parsed header. When `slot` >= 0
   * the datagram is that pool slot and this call owns it; otherwise it lives in a reassembly
   * buffer that the caller releases afterwards.
   */
  private deliver(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const protocol = this.ipRepr.protocol;
    if (protocol === IpProtocol.Icmp) this.icmpInput(now, bytes, ipOff, totalLen, slot);
    else if (protocol === IpProtocol.Udp) this.udpInput(now, bytes, ipOff, totalLen, slot);
    else if (protocol === IpProtocol.Tcp && this.tcp !== null) this.tcpInput(now, bytes, ipOff, totalLen, slot);
    else {
      // RFC 1122 §3.2.2.1: a protocol we do not implement gets protocol unreachable.
      this.stats.ip.proterr++;
      this.sendUnreachable(now, Icmpv4Unreachable.ProtoUnreachable, bytes, ipOff, totalLen, slot);
    }
  }

  private icmpInput(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const st = this.stats.icmp;
    st.recv++;
    const headerLen = this.ip.headerLen;
    const icmp = this.icmp.reset(bytes, ipOff + headerLen, totalLen - headerLen);
    const repr = this.icmpRepr;
    const err = repr.parse(icmp, this.checksum);
    if (err !== WireError.Ok) {
      st.drop++;
      if (err === WireError.BadChecksum) st.chkerr++;
      else st.lenerr++;
      this.release(slot);
      return;
    }
    if (repr.type === Icmpv4Type.EchoRequest) {
      // RFC 1122 §3.2.2.6: echo replies to a broadcast request are optional; we stay quiet.
      if (this.ipRepr.dst === BROADCAST) {
        st.drop++;
        this.release(slot);
        return;
      }
      this.echoReply(now, bytes, ipOff, totalLen, slot);
      return;
    }
    if (repr.type === Icmpv4Type.EchoReply) {
      const sock = this.findIcmpSocket(repr.ident);
      if (sock === null) {
        st.echoNoSocket++;
      } else if (sock.deliver(bytes, repr.dataOff, repr.dataLen, this.ipRepr.src, repr.seqNo)) {
        st.echoDelivered++;
      } else {
        st.drop++;
      }
      this.release(slot);
      return;
    }
    // Destination unreachable, time exceeded and the rest: counted. (TCP will listen for
    // fragmentation-needed here; nothing else needs them on a single link.)
    st.otherRecv++;
    this.release(slot);
  }

  /**
   * RFC 792 echo: the reply is the request with the addresses swapped and type 0. A request in
   * a slot is answered in that slot; a reassembled one is answered from its reassembly buffer
   * and fragmented on the way out.
   */
  private echoReply(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const st = this.stats.icmp;
    const headerLen = this.ip.headerLen;
    let off = ipOff;
    // A request with IP options is answered without them: move the start so a 20-octet header fits.
    if (headerLen > IPV4_HEADER_LEN) {
      off = ipOff + headerLen - IPV4_HEADER_LEN;
      if (slot >= 0) this.pool.start[slot] = off;
    }
    const len = totalLen - headerLen + IPV4_HEADER_LEN;
    const icmpOff = off + IPV4_HEADER_LEN;
    // Type 8 -> 0 changes the first 16-bit word; patch the checksum incrementally (RFC 1624).
    const icmp = this.icmp.reset(bytes, icmpOff, len - IPV4_HEADER_LEN);
    const oldWord = (icmp.msgType << 8) | icmp.msgCode;
    icmp.msgType = Icmpv4Type.EchoReply;
    if (this.checksum) icmp.checksum = updateChecksum16(icmp.checksum, oldWord, (Icmpv4Type.EchoReply << 8) | icmp.msgCode);
    else icmp.checksum = 0;
    const out = this.outIpRepr;
    out.src = this.address;
    out.dst = this.ipRepr.src;
    out.protocol = IpProtocol.Icmp;
    out.ttl = this.ttl;
    out.payloadLen = len - IPV4_HEADER_LEN;
    out.tos = this.ipRepr.tos;
    out.dontFrag = false;
    out.moreFrags = false;
    out.fragOffset = 0;
    out.ident = this.takeIdent();
    out.emit(this.outIp.reset(bytes, off, IPV4_HEADER_LEN), this.checksum);
    st.echoReplied++;
    st.xmit++;
    if (slot >= 0 && len <= this.mtu) {
      this.pool.len[slot] = len;
      this.stats.ip.xmit++;
      this.device.transmit(now, slot);
      return;
    }
    this.release(slot);
    this.sendDatagram(now, bytes, off, len);
  }

  private udpInput(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const st = this.stats.udp;
    st.recv++;
    const headerLen = this.ip.headerLen;
    const ipRepr = this.ipRepr;
    const udp = this.udp.reset(bytes, ipOff + headerLen, totalLen - headerLen);
    const repr = this.udpRepr;
    const err = repr.parse(udp, ipRepr.src, ipRepr.dst, this.checksum);
    if (err !== WireError.Ok) {
      st.drop++;
      if (err === WireError.BadChecksum) st.chkerr++;
      else st.lenerr++;
      this.release(slot);
      return;
    }
    const sock = this.findUdpSocket(repr.dstPort);
    if (sock === null) {
      st.noPort++;
      st.drop++;
      // RFC 1122 §4.1.3.1: port unreachable, but never for broadcast (§3.2.2).
      if (ipRepr.dst === BROADCAST) this.release(slot);
      else this.sendUnreachable(now, Icmpv4Unreachable.PortUnreachable, bytes, ipOff, totalLen, slot);
      return;
    }
    if (!sock.deliver(bytes, repr.payloadOff, repr.payloadLen, ipRepr.src, repr.srcPort)) {
      st.rxFull++;
      st.drop++;
    }
    this.release(slot);
  }

  /** TCP: validate, hand to the socket table (which copies any payload), send an immediate reply. */
  private tcpInput(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const tcp = this.tcp!;
    const st = tcp.stats;
    const headerLen = this.ip.headerLen;
    const ipRepr = this.ipRepr;
    const seg = this.tcpRepr;
    const err = seg.parse(this.tcpPacket.reset(bytes, ipOff + headerLen, totalLen - headerLen), ipRepr.src, ipRepr.dst, this.checksum);
    if (err !== WireError.Ok) {
      if (err === WireError.BadChecksum) st.chkerr++;
      else if (err === WireError.BadOption) st.optErr++;
      else st.lenerr++;
      this.release(slot);
      return;
    }
    // RFC 9293 §3.9.2: segments to a broadcast address are not TCP's business.
    if (ipRepr.dst === BROADCAST) {
      this.release(slot);
      return;
    }
    const reply = this.tcpReply;
    const answer = tcp.input(now, this.address, this.mss, ipRepr.src, seg, bytes, reply);
    this.release(slot);
    if (answer) this.sendTcp(now, reply, null, ipRepr.src);
  }

  /**
   * Emits one TCP segment to `dst`: IPv4 and TCP headers, and the payload copied from the
   * socket's send ring when `sock` is given. Returns false (counted) when no slot is free.
   */
  private sendTcp(now: number, seg: TcpRepr, sock: import('../socket/tcp/socket.ts').TcpSocket | null, dst: number): boolean {
    const pool = this.pool;
    const slot = pool.alloc();
    if (slot < 0) {
      this.tcp!.stats.memerr++;
      this.stats.ip.memerr++;
      return false;
    }
    this.emitTcp(now, slot, seg, sock, dst);
    return true;
  }

  private emitTcp(now: number, slot: number, seg: TcpRepr, sock: import('../socket/tcp/socket.ts').TcpSocket | null, dst: number): void {
    const pool = this.pool;
    const off = pool.start[slot]!;
    const tcpLen = seg.headerLen() + seg.payloadLen;
    if (sock !== null && seg.payloadLen > 0) sock.copyPayload(seg, pool.bytes, off + IPV4_HEADER_LEN + seg.headerLen());
    seg.emit(this.tcpPacket.reset(pool.bytes, off + IPV4_HEADER_LEN, tcpLen), this.address, dst, null, this.checksum);
    const ipRepr = this.outIpRepr;
    ipRepr.src = this.address;
    ipRepr.dst = dst;
    ipRepr.protocol = IpProtocol.Tcp;
    ipRepr.ttl = this.ttl;
    ipRepr.tos = 0;
    ipRepr.payloadLen = tcpLen;
    // RFC 9293 §3.7.2 / RFC 1191: TCP segments fit the MTU, so DF is set as Linux does.
    ipRepr.dontFrag = true;
    ipRepr.moreFrags = false;
    ipRepr.fragOffset = 0;
    ipRepr.ident = this.takeIdent();
    ipRepr.emit(this.outIp.reset(pool.bytes, off, IPV4_HEADER_LEN), this.checksum);
    pool.len[slot] = IPV4_HEADER_LEN + tcpLen;
    this.stats.ip.xmit++;
    this.device.transmit(now, slot);
  }

  // ---------------------------------------------------------------------------------------------
  // ICMP errors

  /**
   * Sends destination unreachable quoting the offending datagram (RFC 792; RFC 1812 §4.3.2.3:
   * as much of it as fits in 576 octets). Reuses `slot` when there is one. Takes ownership of `slot`.
   */
  private sendUnreachable(now: number, code: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const st = this.stats.icmp;
    // RFC 1122 §3.2.2: never in answer to an ICMP error, a broadcast, or a non-initial fragment.
    if (this.ipRepr.protocol === IpProtocol.Icmp && this.isIcmpError(bytes, ipOff)) {
      this.release(slot);
      return;
    }
    if (!this.takeIcmpToken(now)) {
      st.rateLimited++;
      this.release(slot);
      return;
    }
    const pool = this.pool;
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
    const header = IPV4_HEADER_LEN + 8;
    let quote = totalLen;
    if (quote > 576 - header) quote = 576 - header;
    if (quote > this.mtu - header) quote = this.mtu - header;
    if (quote > room - header) quote = room - header;
    // Move the quoted datagram behind room for the new headers (memmove within the pool).
    copyBytes(pool.bytes, base + header, bytes, ipOff, quote);
    const icmp = this.icmp.reset(pool.bytes, base + IPV4_HEADER_LEN, 8 + quote);
    const repr = this.icmpRepr;
    repr.type = Icmpv4Type.DestUnreachable;
    repr.code = code;
    repr.ident = 0;
    repr.seqNo = 0;
    repr.nextHopMtu = 0;
    repr.dataOff = base + header;
    repr.dataLen = quote;
    repr.emit(icmp, pool.bytes, this.checksum);
    const outIp = this.outIpRepr;
    outIp.src = this.address;
    outIp.dst = this.ipRepr.src;
    outIp.protocol = IpProtocol.Icmp;
    outIp.ttl = this.ttl;
    outIp.tos = 0;
    outIp.payloadLen = 8 + quote;
    outIp.dontFrag = false;
    outIp.moreFrags = false;
    outIp.fragOffset = 0;
    outIp.ident = this.takeIdent();
    outIp.emit(this.outIp.reset(pool.bytes, base, IPV4_HEADER_LEN), this.checksum);
    pool.start[out] = base;
    pool.len[out] = header + quote;
    st.unreachSent++;
    st.xmit++;
    this.stats.ip.xmit++;
    this.device.transmit(now, out);
  }

  private isIcmpError(bytes: Uint8Array, ipOff: number): boolean {
    const type = bytes[ipOff + this.ip.headerLen];
    return type !== Icmpv4Type.EchoRequest && type !== Icmpv4Type.EchoReply && type !== 13 && type !== 14;
  }

  private takeIcmpToken(now: number): boolean {
    const elapsed = now - this.icmpRefillAt;
    if (elapsed > 0) {
      this.icmpRefillAt = now;
      const t = this.icmpTokens + elapsed * this.icmpRate;
      this.icmpTokens = t < this.icmpBurst ? t : this.icmpBurst;
    }
    if (this.icmpTokens < 1000) return false;
    this.icmpTokens -= 1000;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Egress

  private egress(now: number): boolean {
    let progress = false;
    const tcp = this.tcp;
    if (tcp !== null) {
      const seg = this.tcpRepr;
      const sockets = tcp.sockets;
      for (let i = 0; i < sockets.length; i++) {
        const s = sockets[i]!;
        if (!s.inUse) continue;
        s.tick(now);
        // Each socket sends what it may; a full pool or device queue stops egress until it drains.
        while (this.canEmit(now) && s.dispatch(now, seg)) {
          const slot = this.pool.alloc();
          this.emitTcp(now, slot, seg, s, s.remoteAddr);
          progress = true;
        }
      }
    }
    for (let i = 0; i < this.udpSockets.length; i++) {
      const s = this.udpSockets[i];
      if (s == null) continue;
      while (s.tx.count > 0 && this.canEmit(now)) {
        this.sendUdp(now, s);
        progress = true;
      }
    }
    for (let i = 0; i < this.icmpSockets.length; i++) {
      const s = this.icmpSockets[i];
      if (s == null) continue;
      while (s.tx.count > 0 && this.canEmit(now)) {
        this.sendEcho(now, s);
        progress = true;
      }
    }
    return progress;
  }

  /** Emits the front datagram of a UDP socket's send ring (and pops it, sent or dropped). */
  private sendUdp(now: number, sock: UdpSocket): void {
    const tx = sock.tx;
    tx.peek();
    const payloadLen = tx.headLen;
    const totalLen = IPV4_HEADER_LEN + UDP_HEADER_LEN + payloadLen;
    const ipRepr = this.outIpRepr;
    ipRepr.src = this.address;
    ipRepr.dst = tx.headAddress;
    ipRepr.protocol = IpProtocol.Udp;
    ipRepr.ttl = sock.ttl;
    ipRepr.tos = 0;
    ipRepr.payloadLen = UDP_HEADER_LEN + payloadLen;
    ipRepr.dontFrag = sock.dontFragment;
    ipRepr.moreFrags = false;
    ipRepr.fragOffset = 0;
    ipRepr.ident = this.takeIdent();
    const udpRepr = this.udpRepr;
    udpRepr.srcPort = sock.port;
    udpRepr.dstPort = tx.headPort;
    udpRepr.payloadLen = payloadLen;
    if (totalLen <= this.mtu) {
      const pool = this.pool;
      const slot = pool.alloc();
      if (slot < 0) {
        // Cannot happen while egress checks `available`, but stay safe: leave it queued.
        this.stats.udp.memerr++;
        return;
      }
      const off = pool.start[slot]!;
      tx.readPayload(pool.bytes, off + IPV4_HEADER_LEN + UDP_HEADER_LEN, payloadLen);
      tx.pop();
      udpRepr.payloadOff = off + IPV4_HEADER_LEN + UDP_HEADER_LEN;
      udpRepr.emit(this.udp.reset(pool.bytes, off + IPV4_HEADER_LEN, UDP_HEADER_LEN + payloadLen), ipRepr.src, ipRepr.dst, null, this.checksum);
      ipRepr.emit(this.outIp.reset(pool.bytes, off, IPV4_HEADER_LEN), this.checksum);
      pool.len[slot] = totalLen;
      sock.stats.sent++;
      this.stats.udp.xmit++;
      this.stats.ip.xmit++;
      this.device.transmit(now, slot);
      return;
    }
    // Larger than the MTU: refuse with DF (RFC 1191 host behaviour), else build and fragment.
    if (sock.dontFragment || totalLen > this.scratch.length) {
      tx.pop();
      sock.stats.txDrop++;
      this.stats.ip.tooBig++;
      return;
    }
    const buf = this.scratch;
    tx.readPayload(buf, IPV4_HEADER_LEN + UDP_HEADER_LEN, payloadLen);
    tx.pop();
    udpRepr.payloadOff = IPV4_HEADER_LEN + UDP_HEADER_LEN;
    udpRepr.emit(this.udp.reset(buf, IPV4_HEADER_LEN, UDP_HEADER_LEN + payloadLen), ipRepr.src, ipRepr.dst, null, this.checksum);
    ipRepr.emit(this.outIp.reset(buf, 0, IPV4_HEADER_LEN), this.checksum);
    sock.stats.sent++;
    this.stats.udp.xmit++;
    this.sendDatagram(now, buf, 0, totalLen);
  }

  /** Emits the front echo request of an ICMP socket. */
  private sendEcho(now: number, sock: IcmpSocket): void {
    const tx = sock.tx;
    tx.peek();
    const dataLen = tx.headLen;
    const totalLen = IPV4_HEADER_LEN + 8 + dataLen;
    const ipRepr = this.outIpRepr;
    ipRepr.src = this.address;
    ipRepr.dst = tx.headAddress;
    ipRepr.protocol = IpProtocol.Icmp;
    ipRepr.ttl = this.ttl;
    ipRepr.tos = 0;
    ipRepr.payloadLen = 8 + dataLen;
    ipRepr.dontFrag = false;
    ipRepr.moreFrags = false;
    ipRepr.fragOffset = 0;
    ipRepr.ident = this.takeIdent();
    let buf: Uint8Array;
    let off: number;
    let slot = -1;
    if (totalLen <= this.mtu) {
      slot = this.pool.alloc();
      if (slot < 0) {
        this.stats.icmp.memerr++;
        return;
      }
      buf = this.pool.bytes;
      off = this.pool.start[slot]!;
    } else if (totalLen <= this.scratch.length) {
      buf = this.scratch;
      off = 0;
    } else {
      tx.pop();
      sock.stats.txDrop++;
      this.stats.ip.tooBig++;
      return;
    }
    tx.readPayload(buf, off + IPV4_HEADER_LEN + 8, dataLen);
    const repr = this.icmpRepr;
    repr.type = Icmpv4Type.EchoRequest;
    repr.code = 0;
    repr.ident = sock.ident;
    repr.seqNo = tx.headPort;
    repr.nextHopMtu = 0;
    repr.dataOff = off + IPV4_HEADER_LEN + 8;
    repr.dataLen = dataLen;
    tx.pop();
    repr.emit(this.icmp.reset(buf, off + IPV4_HEADER_LEN, 8 + dataLen), buf, this.checksum);
    ipRepr.emit(this.outIp.reset(buf, off, IPV4_HEADER_LEN), this.checksum);
    sock.stats.sent++;
    this.stats.icmp.xmit++;
    if (slot >= 0) {
      this.pool.len[slot] = totalLen;
      this.stats.ip.xmit++;
      this.device.transmit(now, slot);
    } else {
      this.sendDatagram(now, buf, off, totalLen);
    }
  }

  /**
   * Sends a datagram built elsewhere (header first, 20 octets, checksum filled), cutting it into
   * fragments when it exceeds the MTU (RFC 791 §3.2, "An Example Fragmentation Procedure").
   * With DF set and too large it is dropped and counted.
   */
  private sendDatagram(now: number, bytes: Uint8Array, off: number, totalLen: number): void {
    const ipStats = this.stats.ip;
    const pool = this.pool;
    if (totalLen <= this.mtu) {
      const slot = pool.alloc();
      if (slot < 0) {
        ipStats.memerr++;
        return;
      }
      copyBytes(pool.bytes, pool.start[slot]!, bytes, off, totalLen);
      pool.len[slot] = totalLen;
      ipStats.xmit++;
      this.device.transmit(now, slot);
      return;
    }
    const header = this.outIp.reset(bytes, off, IPV4_HEADER_LEN);
    if (header.dontFrag) {
      ipStats.tooBig++;
      return;
    }
    const payloadLen = totalLen - IPV4_HEADER_LEN;
    // Every fragment but the last carries a multiple of 8 octets.
    const chunk = (this.mtu - IPV4_HEADER_LEN) & ~7;
    const repr = this.outIpRepr;
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
      repr.emit(this.outIp.reset(pool.bytes, start, IPV4_HEADER_LEN), this.checksum);
      pool.len[slot] = IPV4_HEADER_LEN + n;
      ipStats.fragSent++;
      this.device.transmit(now, slot);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private release(slot: number): void {
    if (slot >= 0) this.pool.free(slot);
  }

  private takeIdent(): number {
    const id = this.nextIdent;
    this.nextIdent = (id + 1) & 0xffff;
    return id;
  }

  private findUdpSocket(port: number): UdpSocket | null {
    for (let i = 0; i < this.udpSockets.length; i++) {
      const s = this.udpSockets[i];
      if (s != null && s.port === port) return s;
    }
    return null;
  }

  private findIcmpSocket(ident: number): IcmpSocket | null {
    for (let i = 0; i < this.icmpSockets.length; i++) {
      const s = this.icmpSockets[i];
      if (s != null && s.ident === ident) return s;
    }
    return null;
  }
}

/** A socket that lives in one of the interface's fixed tables, keyed by `port` or `ident`. */
type Keyed = UdpSocket | IcmpSocket;

function keyOf(s: Keyed): number {
  return s instanceof UdpSocket ? s.port : s.ident;
}

/** Puts `socket` in the first free entry; refuses an unbound socket, a taken key or a full table. */
function addToTable<T extends Keyed>(table: (T | null)[], socket: T, key: number): number {
  if (key === 0) return SocketError.NotBound;
  let free = -1;
  for (let i = 0; i < table.length; i++) {
    const s = table[i];
    if (s === null || s === undefined) {
      if (free < 0) free = i;
    } else if (s === socket || keyOf(s) === key) {
      return SocketError.AddressInUse;
    }
  }
  if (free < 0) return SocketError.WouldBlock;
  table[free] = socket;
  return free;
}

function removeFromTable<T>(table: (T | null)[], socket: T): void {
  for (let i = 0; i < table.length; i++) if (table[i] === socket) table[i] = null;
}

export { REASSEMBLY_HEADER_LEN };
