/**
 * The board: everything the firmware runs, assembled from a configuration and a ByteLink, with
 * no I/O of its own. The firmware gives it a serial link and a host loop; tests give it an
 * in-memory link and a virtual clock, and run the very same board.
 *
 * Memory is preallocated here, once, sized by limits.ts and the flags: the packet pool and the
 * TCP rings are carved from one Arena (so copies between slots and rings are copyWithin); the
 * SLIP device's read and TX buffers, the interface's reassembly and fragmentation buffers and
 * the services' and telnet sessions' fixed buffers are allocated on their own.
 */
import { Interface } from '../src/iface/interface.ts';
import type { ByteLink, Device } from '../src/phy/device.ts';
import { FaultInjector } from '../src/phy/fault-injector.ts';
import { PcapWriter, type PcapSink } from '../src/phy/pcap-writer.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { TcpStack, tcpRingBytes } from '../src/socket/tcp/stack.ts';
import { TextTcpTracer } from '../src/socket/tcp/trace.ts';
import { TcpState } from '../src/socket/tcp/state.ts';
import { Arena } from '../src/storage/arena.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import type { Pollable } from '../src/time.ts';
import type { FirmwareConfig } from './cli.ts';
import { ARENA_SLACK, IDLE_TIMEOUT_FLAG, POOL_SLOTS, SERVICE_NAMES, REASSEMBLY_SIZE, SLIP_QUEUE_FRAMES, TCP_RING_LEN } from './limits.ts';
import { LoginLimiter } from './login-limiter.ts';
import { ChargenService } from './services/chargen.ts';
import { DiscardService } from './services/discard.ts';
import { TcpEchoService } from './services/tcp-echo.ts';
import { UdpEchoService } from './services/udp-echo.ts';
import { TelnetServer } from './telnet/server.ts';

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

/** A service the board runs: polled with the stack, closed at shutdown. */
interface Service extends Pollable {
  close(): void;
}

export class Board implements Pollable {
  readonly config: FirmwareConfig;
  readonly arena: Arena;
  readonly pool: PacketPool;
  readonly slip: SlipDevice;
  readonly faults: FaultInjector | null;
  /** The device the interface sees (SLIP, wrapped by the fault injector and pcap writer when asked). */
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
  /** The device-wide budget of failed logins: every service that asks for the password shares it. */
  readonly loginLimiter = new LoginLimiter();
  private readonly services: Service[];
  private shuttingDown = false;

  constructor(options: BoardOptions) {
    const config = options.config;
    this.config = config;
    const slotLen = (config.mtu + 3) & ~3;
    const tcpSize = { sockets: config.sockets, txBufferLen: TCP_RING_LEN, rxBufferLen: TCP_RING_LEN };
    this.arena = new Arena(POOL_SLOTS * slotLen + tcpRingBytes(tcpSize) + ARENA_SLACK);
    this.pool = new PacketPool({ slots: POOL_SLOTS, mtu: config.mtu, arena: this.arena, name: 'pbuf' });
    // A pty has no baud: pace output to the line rate when asked (--uart-timing).
    const link = config.uartTiming ? new UartTimedLink(options.link, config.baud) : options.link;
    this.slip = new SlipDevice(link, this.pool, { txQueue: SLIP_QUEUE_FRAMES, rxQueue: SLIP_QUEUE_FRAMES });
    let device: Device = this.slip;
    this.faults = null;
    if (config.dropPct > 0 || config.reorderPct > 0) {
      this.faults = new FaultInjector(device, { seed: config.seed, dropPct: config.dropPct, reorderPct: config.reorderPct });
      device = this.faults;
    }
    if (options.pcapSink) device = new PcapWriter(device, options.pcapSink);
    this.device = device;

    this.tcp = new TcpStack({ ...tcpSize, isnKey: options.isnKey, arena: this.arena });
    if (options.trace) this.tcp.tracer = new TextTcpTracer(options.trace);
    this.iface = new Interface({ device, address: config.ip, tcp: this.tcp, reassemblySize: REASSEMBLY_SIZE });

    this.udpEcho = new UdpEchoService(this.iface);
    this.tcpEcho = new TcpEchoService(this.iface, this.tcp);
    this.discard = new DiscardService(this.iface, this.tcp);
    this.chargen = new ChargenService(this.iface, this.tcp);
    this.services = [this.udpEcho, this.tcpEcho, this.discard, this.chargen];
    // --services: what is turned off stops listening at once and is never polled.
    const on = config.services ?? SERVICE_NAMES;
    const named: [string, Service][] = [['udp-echo', this.udpEcho], ['echo', this.tcpEcho], ['discard', this.discard], ['chargen', this.chargen]];
    for (const [name, service] of named) {
      if (on.includes(name)) continue;
      service.close();
      this.services.splice(this.services.indexOf(service), 1);
    }
    if (!on.includes('telnet')) {
      this.telnet = null;
      this.telnetOffReason = 'telnet is off (--services)';
    } else if (config.password !== null || config.insecureNoLogin) {
      this.telnet = new TelnetServer(this.iface, this.tcp, {
        password: config.password,
        insecureNoLogin: config.insecureNoLogin,
        version: options.version,
        imageSha256: options.imageSha256,
        peer: config.peer,
        idleTimeoutMs: (config.idleTimeoutS ?? IDLE_TIMEOUT_FLAG.default) * 1000,
        loginLimiter: this.loginLimiter,
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
      if (now < s.lastFinAt + 2 * s.rtt.rto) return false;
    }
    return true;
  }

  /**
   * Packet memory preallocated, octets: the arena (pool and TCP rings), the reassembly buffers
   * and the interface's fragmentation scratch buffer (REASSEMBLY_SIZE). Not counted: the SLIP
   * buffers, socket tables, services and telnet sessions (bench/link.bench.ts measures those too).
   */
  get preallocatedBytes(): number {
    return this.arena.size + this.iface.reassembler.bytes.length + REASSEMBLY_SIZE;
  }
}
