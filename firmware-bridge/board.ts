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
import { CslipDevice } from '../src/phy/cslip-device.ts';
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
import { ARENA_SLACK, IDLE_TIMEOUT_FLAG, KEEPALIVE_FLAG, KEEPALIVE_INTERVAL_MAX_S, KEEPALIVE_PROBES, NET_STAGING_LEN, PROFILES, SERVICE_NAMES, type BoardProfile } from './limits.ts';
import { LoginLimiter } from './login-limiter.ts';
import { linkNotes } from './link-notes.ts';
import { ChargenService } from './services/chargen.ts';
import { DiscardService } from './services/discard.ts';
import { TcpEchoService } from './services/tcp-echo.ts';
import { UdpEchoService } from './services/udp-echo.ts';
import { TelnetServer } from './telnet/server.ts';
import { Network } from '../src/drivers/net/network.ts';
import { WebConsole } from './web/console.ts';

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
  /**
   * Octets of ArrayBuffer memory the process holds now (the firmware passes
   * `() => process.memoryUsage().arrayBuffers`): read before and after the board is built, so
   * `memory.allocated` says what it took. Without one, `allocated` stays -1 (not measured).
   */
  arrayBufferBytes?: () => number;
}

/** The board's memory against its profile's budget (shown by the shell's `pool`). */
export interface BoardMemory {
  /** --profile name. */
  profile: string;
  /** Octets of ArrayBuffer memory building the board took, or -1 when not measured. */
  allocated: number;
  /** The profile's budget in octets, or null for none. */
  budget: number | null;
}

/** A service the board runs: polled with the stack, closed at shutdown. */
interface Service extends Pollable {
  close(): void;
}

export class Board implements Pollable {
  readonly config: FirmwareConfig;
  /** The sizes it was built with (--profile). */
  readonly profile: Readonly<BoardProfile>;
  readonly memory: BoardMemory;
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
  /** The streams API over this board's stack (slipstack/net), when the web console runs; its loop is attached by the firmware. */
  readonly network: Network | null;
  /** The web console (port 80), or null: off without a password or with --no-http. */
  readonly web: WebConsole | null;
  /** The device-wide budget of failed logins: every service that asks for the password shares it. */
  readonly loginLimiter = new LoginLimiter();
  private readonly services: Service[];
  private shuttingDown = false;

  constructor(options: BoardOptions) {
    const before = options.arrayBufferBytes?.() ?? 0;
    const config = options.config;
    this.config = config;
    const profileName = config.profile ?? 'default';
    const profile = PROFILES[profileName];
    if (profile === undefined) throw new RangeError(`board: no profile named ${profileName}`);
    this.profile = profile;
    // Headroom in every slot: the header decompressor rebuilds a full TCP/IP header there.
    const slotLen = (profile.slotHeadroom + config.mtu + 3) & ~3;
    const tcpSize = { sockets: config.sockets, txBufferLen: profile.tcpRingLen, rxBufferLen: profile.tcpRingLen };
    const web = config.http === true && config.password !== null;
    this.arena = new Arena(profile.poolSlots * slotLen + tcpRingBytes(tcpSize) + (web ? NET_STAGING_LEN : 0) + ARENA_SLACK);
    this.pool = new PacketPool({ slots: profile.poolSlots, mtu: config.mtu, headroom: profile.slotHeadroom, arena: this.arena, name: 'pbuf' });
    // A pty has no baud: pace output to the line rate when asked (--uart-timing).
    const link = config.uartTiming ? new UartTimedLink(options.link, config.baud) : options.link;
    this.slip = new SlipDevice(link, this.pool, {
      txQueue: profile.slipQueueFrames, rxQueue: profile.slipQueueFrames, readChunk: profile.slipReadChunk,
    });
    // The compressor needs a slot per TCP connection at most; the decompressor keeps Linux's 16.
    this.cslip = new CslipDevice(this.slip, { proto: config.proto, sendSlots: config.sockets });
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
    const keepaliveS = config.keepaliveS ?? KEEPALIVE_FLAG.default;
    const keepalive = keepaliveS > 0 ? {
      keepalive: true, keepaliveIdleMs: keepaliveS * 1000, keepaliveCount: KEEPALIVE_PROBES,
      keepaliveIntervalMs: Math.min(keepaliveS, KEEPALIVE_INTERVAL_MAX_S) * 1000,
    } : {};
    this.tcp = new TcpStack({ ...tcpSize, isnKey: options.isnKey, arena: this.arena, config: { timestamps: config.proto === 'slip', ...keepalive } });
    if (options.trace) this.tcp.tracer = new TextTcpTracer(options.trace);
    this.iface = new Interface({
      device, address: config.ip, tcp: this.tcp, reassemblySize: profile.reassemblySize, reassemblyBuffers: profile.reassemblyBuffers,
    });

    this.udpEcho = new UdpEchoService(this.iface, { bufferLen: profile.udpEchoBufferLen });
    this.tcpEcho = new TcpEchoService(this.iface, this.tcp, { scratchLen: profile.serviceScratchLen });
    this.discard = new DiscardService(this.iface, this.tcp, { scratchLen: profile.serviceScratchLen });
    this.chargen = new ChargenService(this.iface, this.tcp);
    this.services = [this.udpEcho, this.tcpEcho, this.discard, this.chargen];
    this.memory = { profile: profileName, allocated: -1, budget: profile.memoryBudget };
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
        outboxLen: profile.telnetOutboxLen,
        memory: this.memory,
        ...(profile.telnetSessions > 0 ? { maxConnections: profile.telnetSessions } : {}),
        idleTimeoutMs: (config.idleTimeoutS ?? IDLE_TIMEOUT_FLAG.default) * 1000,
        loginLimiter: this.loginLimiter,
        linkStats: this.faults !== null ? { slip: this.slip.stats, vj: this.cslip.stats, faults: this.faults.stats } : { slip: this.slip.stats, vj: this.cslip.stats },
        linkNotes: () => linkNotes(this.cslip, this.slip, config.mtu),
      });
      this.telnetOffReason = null;
      this.services.push(this.telnet);
    } else {
      this.telnet = null;
      this.telnetOffReason = 'telnet is off: no password (give --password or SLIPSTACK_PASSWORD, or --insecure-no-login)';
    }
    if (web) {
      // The staging buffer from the arena too, so its copies to and from the rings are copyWithin.
      this.network = new Network({ iface: this.iface, tcp: this.tcp, staging: this.arena.carve(NET_STAGING_LEN) });
      const telnet = this.telnet;
      let startedAt = -1;
      this.web = new WebConsole({
        network: this.network,
        password: config.password!,
        loginLimiter: this.loginLimiter,
        port: config.httpPort ?? 80,
        status: {
          iface: this.iface, tcp: this.tcp, link: this.slip.stats, version: options.version, imageSha256: options.imageSha256,
          ifname: 'sl0', peer: config.peer,
          listenPorts: () => telnet?.listenPorts() ?? [],
          uptimeMs: (now) => telnet !== null ? telnet.uptimeMs(now) : (startedAt < 0 ? (startedAt = now, 0) : now - startedAt),
          extraStats: () => ({ ...(telnet !== null ? { telnet: telnet.extraStats() } : {}), http: this.web!.stats }),
        },
      });
      this.services.push(this.network, this.web);
    } else {
      this.network = null;
      this.web = null;
    }
    if (options.arrayBufferBytes !== undefined) this.memory.allocated = options.arrayBufferBytes() - before;
  }

  /** Runs the stack and every service once; true if anything happened. */
  poll(now: number): boolean {
    // What arrived first, then the services that read it and answer, then what goes out: a
    // segment's ACK leaves with the window the service reopened and with the answer, not as a
    // pure ACK followed by a window update or the data.
    let progress = this.iface.ingress(now);
    for (let i = 0; i < this.services.length; i++) if (this.services[i]!.poll(now)) progress = true;
    if (this.iface.egress(now)) progress = true;
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
   * and the interface's fragmentation scratch buffer (the profile's reassemblySize). Not counted:
   * the SLIP buffers, socket tables, services and telnet sessions (`memory.allocated` counts
   * everything when the board was given a probe).
   */
  get preallocatedBytes(): number {
    return this.arena.size + this.iface.reassembler.bytes.length + this.profile.reassemblySize;
  }
}
