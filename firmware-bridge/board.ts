/**
 * The board: everything the firmware runs, assembled from a configuration and a ByteLink, with
 * no I/O of its own. The firmware gives it a serial link and a host loop; tests give it an
 * in-memory link and a virtual clock, and run the very same board.
 *
 * Memory is preallocated here, once: the pool, the SLIP buffers and the TCP rings are carved
 * from one Arena (so copies between them are copyWithin), plus reassembly buffers and the
 * services' fixed buffers.
 */
import { Interface } from '../src/iface/interface.ts';
import { CslipDevice } from '../src/phy/cslip-device.ts';
import type { ByteLink, Device } from '../src/phy/device.ts';
import { FaultInjector } from '../src/phy/fault-injector.ts';
import { PcapWriter, type PcapSink } from '../src/phy/pcap-writer.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { VJ_HEADROOM } from '../src/phy/vj.ts';
import { TcpStack, tcpRingBytes } from '../src/socket/tcp-stack.ts';
import { TextTcpTracer } from '../src/socket/tcp-trace.ts';
import { TcpState } from '../src/socket/tcp.ts';
import { Arena } from '../src/storage/arena.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import type { FirmwareConfig } from './cli.ts';
import { linkNotes } from './link-notes.ts';
import { ChargenService } from './services/chargen.ts';
import { DiscardService } from './services/discard.ts';
import { TcpEchoService } from './services/tcp-echo.ts';
import { UdpEchoService } from './services/udp-echo.ts';
import { TelnetServer } from './telnet/server.ts';

/** Pool slots (frames in flight in both directions, plus reassembly input). */
const POOL_SLOTS = 64;
/** Per-socket send and receive rings, octets. */
const RING_LEN = 16 * 1024;

export interface BoardOptions {
  /** The serial line (or its in-memory twin). */
  link: ByteLink;
  config: FirmwareConfig;
  /** RFC 6528 secret, four 32-bit words from the host's random source. */
  isnKey: ArrayLike<number>;
  /** Firmware version and the SHA-256 of the running image (shown by `version`). */
  version: string;
  imageSha256: string;
  /** Where `--pcap` records go (a file sink in the firmware). */
  pcapSink?: PcapSink | null;
  /** Where `--verbose` lines go. */
  trace?: ((line: string) => void) | null;
}

interface Service {
  poll(now: number): boolean;
  pollAt(now: number): number;
  close(): void;
}

export class Board {
  readonly config: FirmwareConfig;
  readonly arena: Arena;
  readonly pool: PacketPool;
  readonly slip: SlipDevice;
  /** Header compression (RFC 1144) in the mode `--proto` names; passes frames through in `slip` mode. */
  readonly cslip: CslipDevice;
  readonly faults: FaultInjector | null;
  /** The device the interface sees (SLIP and its header compression, wrapped by the fault injector and pcap writer when asked). */
  readonly device: Device;
  readonly tcp: TcpStack;
  readonly iface: Interface;
  readonly udpEcho: UdpEchoService;
  readonly tcpEcho: TcpEchoService;
  readonly discard: DiscardService;
  readonly chargen: ChargenService;
  /** Null when no password was given (and not --insecure-no-login): `telnetOffReason` says why. */
  readonly telnet: TelnetServer | null;
  readonly telnetOffReason: string | null;
  private readonly services: Service[];
  private shuttingDown = false;

  constructor(options: BoardOptions) {
    const config = options.config;
    this.config = config;
    // Headroom in every slot: the header decompressor rebuilds a full TCP/IP header there.
    const slotLen = (VJ_HEADROOM + config.mtu + 3) & ~3;
    const tcpSize = { sockets: config.sockets, txBufferLen: RING_LEN, rxBufferLen: RING_LEN };
    this.arena = new Arena(POOL_SLOTS * slotLen + tcpRingBytes(tcpSize) + 64);
    this.pool = new PacketPool({ slots: POOL_SLOTS, mtu: config.mtu, headroom: VJ_HEADROOM, arena: this.arena, name: 'pbuf' });
    // A pty has no baud: pace output to the line rate when asked (--uart-timing).
    const link = config.uartTiming ? new UartTimedLink(options.link, config.baud) : options.link;
    this.slip = new SlipDevice(link, this.pool, { txQueue: 16, rxQueue: 16 });
    this.cslip = new CslipDevice(this.slip, { proto: config.proto });
    let device: Device = this.cslip;
    this.faults = null;
    if (config.dropPct > 0 || config.reorderPct > 0) {
      this.faults = new FaultInjector(device, { seed: config.seed, dropPct: config.dropPct, reorderPct: config.reorderPct });
      device = this.faults;
    }
    if (options.pcapSink) device = new PcapWriter(device, options.pcapSink);
    this.device = device;

    // A header that changes in its options every segment (a TCP timestamp) cannot be compressed
    // (RFC 1144 sends it whole), so timestamps are declined whenever compression may come on.
    this.tcp = new TcpStack({ ...tcpSize, isnKey: options.isnKey, arena: this.arena, config: { timestamps: config.proto === 'slip' } });
    if (options.trace) this.tcp.tracer = new TextTcpTracer(options.trace);
    this.iface = new Interface({ device, address: config.ip, tcp: this.tcp, reassemblySize: 16 * 1024 });

    this.udpEcho = new UdpEchoService(this.iface);
    this.tcpEcho = new TcpEchoService(this.iface, this.tcp);
    this.discard = new DiscardService(this.iface, this.tcp);
    this.chargen = new ChargenService(this.iface, this.tcp);
    this.services = [this.udpEcho, this.tcpEcho, this.discard, this.chargen];
    if (config.password !== null || config.insecureNoLogin) {
      this.telnet = new TelnetServer(this.iface, this.tcp, {
        password: config.password,
        insecureNoLogin: config.insecureNoLogin,
        version: options.version,
        imageSha256: options.imageSha256,
        peer: config.peer,
        linkStats: this.faults !== null ? { slip: this.slip.stats, vj: this.cslip.stats, faults: this.faults.stats } : { slip: this.slip.stats, vj: this.cslip.stats },
        linkNotes: () => linkNotes(this.cslip, this.slip, config.mtu),
      });
      this.telnetOffReason = null;
      this.services.push(this.telnet);
    } else {
      this.telnet = null;
      this.telnetOffReason = 'telnet is off: no password (give --password or SLIPSTACK_PASSWORD, or --insecure-no-login)';
    }
  }

  /** Runs the stack and every service once; true if anything happened. */
  poll(now: number): boolean {
    let progress = this.iface.poll(now);
    for (let i = 0; i < this.services.length; i++) if (this.services[i]!.poll(now)) progress = true;
    // Services queue output after the interface ran: let it go out in the same turn.
    if (progress) this.iface.poll(now);
    return progress;
  }

  pollAt(now: number): number {
    let t = this.iface.pollAt(now);
    for (let i = 0; i < this.services.length; i++) {
      const s = this.services[i]!.pollAt(now);
      if (s < t) t = s;
    }
    return t;
  }

  /** Stops accepting and closes every connection with a FIN (SIGINT/SIGTERM). */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const s of this.services) s.close();
    for (const sock of this.tcp.sockets) if (sock.inUse && sock.state !== TcpState.Closed) sock.close();
  }

  /**
   * True once no connection has anything left to say: every socket CLOSED or gone, or in
   * TIME-WAIT and quiet for two of its retransmission timeouts. A peer whose FIN we acknowledged
   * may not have got that ACK (a lossy line): it sends the FIN again after its own RTO (Linux's
   * is 200 ms and up; a peer like us has about ours), and the TIME-WAIT socket answers it.
   * Stopping sooner would leave the peer in LAST-ACK until its retries run out.
   */
  settled(now: number): boolean {
    for (const s of this.tcp.sockets) {
      if (!s.inUse || s.state === TcpState.Closed) continue;
      if (s.state !== TcpState.TimeWait) return false;
      if (now < s.lastFinAt + 2 * s.rto) return false;
    }
    return true;
  }

  /** Octets preallocated for packets, rings, reassembly and socket tables. */
  get preallocatedBytes(): number {
    return this.arena.size + this.iface.reassembler.bytes.length + 16 * 1024 /* scratch */;
  }
}
