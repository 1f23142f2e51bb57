/**
 * Interface: the IPv4 host on one point-to-point link.
 *
 * `poll(now)` takes frames from the Device until it has none (ingress), then lets the sockets
 * send what they have queued (egress); `pollAt(now)` says when it next needs to run. This file
 * holds the options and those two loops; the protocols live beside it as functions over the
 * shared state (`InterfaceInner`), as smoltcp splits `iface/interface/{ipv4,tcp,udp}.rs`:
 * - ipv4.ts: the IPv4 input checks (each rejection a named counter, nothing throws) and the
 *   hand-off of fragments to reassembly (reassembly.ts, fixed buffers);
 * - icmp.ts: echo (answered in the request's own slot), echo sockets, rate-limited unreachables;
 * - udp.ts, tcp.ts: datagrams to and from the UDP socket table and the TCP stack;
 * - fragment.ts: fragmentation on output.
 * The UDP and ICMP socket tables are the socket layer's (`UdpSocketSet`, `IcmpSocketSet`).
 *
 * Memory: frames live in the device's PacketPool. Views and Reprs are created once and
 * re-pointed per packet. The only other memory is the reassembly buffers and one scratch buffer
 * for building datagrams larger than the MTU, all allocated at construction.
 * Modelled on smoltcp `iface/interface` and lwIP `ip4.c`, `icmp.c`, `ip4_frag.c`.
 */
import type { Device } from '../phy/device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { TokenBucket, type Pollable } from '../time.ts';
import { Icmpv4Unreachable } from '../wire/icmpv4.ts';
import { IpProtocol } from '../wire/ipv4.ts';
import { UdpSocketSet, type UdpSocket } from '../socket/udp.ts';
import type { TcpStack } from '../socket/tcp/stack.ts';
import { IcmpSocketSet, type IcmpSocket } from '../socket/icmp.ts';
import { icmpInput, sendEcho, sendUnreachable } from './icmp.ts';
import { InterfaceInner } from './inner.ts';
import { acceptIpv4, reassemble } from './ipv4.ts';
import { Reassembler } from './reassembly.ts';
import type { InterfaceStats } from './stats.ts';
import { emitTcp, tcpInput } from './tcp.ts';
import { sendUdp, udpInput } from './udp.ts';

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

/** The options that have defaults, all of them set. */
export type InterfaceDefaults = Required<Omit<InterfaceOptions, 'device' | 'address' | 'tcp'>>;

/** What an Interface uses for each option left out (or undefined). */
export const DEFAULT_INTERFACE_OPTIONS: Readonly<InterfaceDefaults> = Object.freeze({
  ttl: 64,
  reassemblyBuffers: 2,
  reassemblySize: 8192,
  reassemblyTimeoutMs: 15_000,
  icmpErrorsPerSecond: 10,
  icmpErrorBurst: 10,
  udpSockets: 8,
  icmpSockets: 4,
  ingressBudget: 256,
});

export class Interface implements Pollable {
  /** The state the protocol modules share; the accessors below show the parts applications use. */
  private readonly inner: InterfaceInner;
  private readonly ingressBudget: number;

  constructor(options: InterfaceOptions) {
    const d = DEFAULT_INTERFACE_OPTIONS;
    const size = options.reassemblySize ?? d.reassemblySize;
    this.inner = new InterfaceInner({
      device: options.device,
      address: options.address | 0,
      ttl: options.ttl ?? d.ttl,
      reassembler: new Reassembler(options.reassemblyBuffers ?? d.reassemblyBuffers, size, options.reassemblyTimeoutMs ?? d.reassemblyTimeoutMs),
      scratchLen: size,
      udpSockets: new UdpSocketSet(options.udpSockets ?? d.udpSockets),
      icmpSockets: new IcmpSocketSet(options.icmpSockets ?? d.icmpSockets),
      tcp: options.tcp ?? null,
      icmpErrors: new TokenBucket(options.icmpErrorsPerSecond ?? d.icmpErrorsPerSecond, options.icmpErrorBurst ?? d.icmpErrorBurst),
    });
    this.ingressBudget = options.ingressBudget ?? d.ingressBudget;
    // The TCP stack learns this host's address and MSS once, so connect() needs neither.
    this.inner.tcp?.attach(this.inner.address, this.inner.mss);
  }

  /** The link. */
  get device(): Device {
    return this.inner.device;
  }

  /** The device's pool: every frame in and out. */
  get pool(): PacketPool {
    return this.inner.pool;
  }

  /** This host's address (int32). */
  get address(): number {
    return this.inner.address;
  }

  set address(address: number) {
    this.inner.address = address | 0;
    this.inner.tcp?.attach(this.inner.address, this.inner.mss);
  }

  /** TTL of datagrams this host originates, hops. */
  get ttl(): number {
    return this.inner.ttl;
  }

  /** The device's MTU, octets. */
  get mtu(): number {
    return this.inner.mtu;
  }

  /** MSS this host advertises: MTU - 40, octets. */
  get mss(): number {
    return this.inner.mss;
  }

  /** Checksums computed and verified (false when the device guarantees integrity). */
  get checksum(): boolean {
    return this.inner.checksum;
  }

  /** Per-layer counters (stats.ts). */
  get stats(): InterfaceStats {
    return this.inner.stats;
  }

  /** The reassembly buffers and their counters. */
  get reassembler(): Reassembler {
    return this.inner.reassembler;
  }

  /** The UDP socket table (socket layer). */
  get udpSockets(): UdpSocketSet {
    return this.inner.udpSockets;
  }

  /** The ICMP echo socket table (socket layer). */
  get icmpSockets(): IcmpSocketSet {
    return this.inner.icmpSockets;
  }

  /** The TCP socket table, or null when TCP is answered with protocol unreachable. */
  get tcp(): TcpStack | null {
    return this.inner.tcp;
  }

  // ---------------------------------------------------------------------------------------------
  // Socket tables

  /** Adds a bound UDP socket. Returns its handle, or NotBound / AddressInUse (port taken) / WouldBlock (table full). */
  addUdpSocket(socket: UdpSocket): number {
    return this.inner.udpSockets.add(socket);
  }

  removeUdpSocket(socket: UdpSocket): void {
    this.inner.udpSockets.remove(socket);
  }

  /** Adds a bound ICMP echo socket (keyed by its identifier). Returns its handle or a SocketError. */
  addIcmpSocket(socket: IcmpSocket): number {
    return this.inner.icmpSockets.add(socket);
  }

  removeIcmpSocket(socket: IcmpSocket): void {
    this.inner.icmpSockets.remove(socket);
  }

  // ---------------------------------------------------------------------------------------------
  // Poll

  /**
   * Runs the stack once at time `now` (ms): ingress until the device is empty (or the budget is
   * spent), timers, then egress until the sockets are quiet. Returns true if anything happened.
   * Never throws on bad input.
   */
  poll(now: number): boolean {
    const progress = this.ingress(now);
    return this.egress(now) || progress;
  }

  /**
   * The first half of `poll`: takes frames from the Device (ingress, within the budget) and
   * expires reassembly; sends nothing the sockets queue meanwhile. A board that lets its
   * services read what arrived before `egress` runs gets one segment where two would go: the
   * ACK then carries the window the service opened and the service's answer (lwIP answers from
   * its receive callback the same way). True if a frame was taken.
   */
  ingress(now: number): boolean {
    const inner = this.inner;
    let progress = false;
    for (let n = 0; n < this.ingressBudget; n++) {
      const slot = inner.device.receive(now);
      if (slot < 0) break;
      progress = true;
      this.input(now, slot);
    }
    inner.reassembler.expire(now);
    return progress;
  }

  /** When `poll` should next run: `now` if work is waiting, a deadline, or NEVER. */
  pollAt(now: number): number {
    const inner = this.inner;
    let t = inner.device.pollAt(now);
    const r = inner.reassembler.pollAt();
    if (r < t) t = r;
    // Output waiting counts only when it could go: a slot free and room in the device's queue
    // (otherwise the device's own deadline, when its queue drains, wakes us).
    const canSend = inner.canEmit(now);
    if (inner.tcp !== null) {
      const c = inner.tcp.pollAt(now, canSend);
      if (c < t) t = c;
    }
    if (t > now && canSend && (inner.udpSockets.hasQueuedOutput() || inner.icmpSockets.hasQueuedOutput())) t = now;
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Ingress

  /** Handles one received frame; owns `slot` and frees or transmits it. */
  private input(now: number, slot: number): void {
    const inner = this.inner;
    if (!acceptIpv4(inner, slot)) return;
    const repr = inner.ipRepr;
    if (repr.moreFrags || repr.fragOffset !== 0) {
      // RFC 791 §3.2: a fragment; reassemble it before any protocol sees it.
      const done = reassemble(inner, now, slot);
      if (done >= 0) {
        const r = inner.reassembler;
        this.deliver(now, r.bytes, r.datagramOff(done), r.datagramLen(done), -1);
        r.release(done);
      }
      return;
    }
    const pool = inner.pool;
    inner.stats.ip.delivered++;
    this.deliver(now, pool.bytes, pool.start[slot]!, pool.len[slot]!, slot);
  }

  /**
   * Hands a whole datagram to its protocol. `inner.ipRepr` holds its parsed header. When `slot`
   * >= 0 the datagram is that pool slot and this call owns it; otherwise it lives in a
   * reassembly buffer that the caller releases afterwards.
   */
  private deliver(now: number, bytes: Uint8Array, ipOff: number, totalLen: number, slot: number): void {
    const inner = this.inner;
    const protocol = inner.ipRepr.protocol;
    if (protocol === IpProtocol.Icmp) icmpInput(inner, now, bytes, ipOff, totalLen, slot);
    else if (protocol === IpProtocol.Udp) udpInput(inner, now, bytes, ipOff, totalLen, slot);
    else if (protocol === IpProtocol.Tcp && inner.tcp !== null) tcpInput(inner, now, bytes, ipOff, totalLen, slot);
    else {
      // RFC 1122 §3.2.2.1: a protocol we do not implement gets protocol unreachable (not when
      // it came to a broadcast address, §3.2.2: sendUnreachable drops and counts it then).
      inner.stats.ip.proterr++;
      sendUnreachable(inner, now, Icmpv4Unreachable.ProtoUnreachable, bytes, ipOff, totalLen, slot);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Egress

  /** The second half of `poll`: lets every socket send what it may (TCP first, then UDP, then ICMP echo) and runs TCP's timers. True if anything went out. */
  egress(now: number): boolean {
    const inner = this.inner;
    let progress = false;
    const tcp = inner.tcp;
    if (tcp !== null) {
      const seg = inner.tcpRepr;
      const sockets = tcp.sockets;
      for (let i = 0; i < sockets.length; i++) {
        const s = sockets[i]!;
        if (!s.inUse) continue;
        s.tick(now);
        // Each socket sends what it may; a full pool or device queue stops egress until it drains.
        while (inner.canEmit(now) && s.dispatch(now, seg)) {
          const slot = inner.pool.alloc();
          emitTcp(inner, now, slot, seg, s, s.remoteAddr);
          progress = true;
        }
      }
    }
    const udpSockets = inner.udpSockets;
    for (let i = 0; i < udpSockets.size; i++) {
      const s = udpSockets.at(i);
      if (s === null) continue;
      while (s.tx.count > 0 && inner.canEmit(now)) {
        sendUdp(inner, now, s);
        progress = true;
      }
    }
    const icmpSockets = inner.icmpSockets;
    for (let i = 0; i < icmpSockets.size; i++) {
      const s = icmpSockets.at(i);
      if (s === null) continue;
      while (s.tx.count > 0 && inner.canEmit(now)) {
        sendEcho(inner, now, s);
        progress = true;
      }
    }
    return progress;
  }
}
