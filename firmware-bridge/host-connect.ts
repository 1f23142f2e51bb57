/**
 * Host connect: the host side of the serial line, for a Linux host whose kernel has no SLIP
 * driver (like Contiki's tunslip). It attaches a SLIP serial line to a TUN interface, so this
 * host's own ping, telnet and nc reach the device.
 *
 *   sudo npm run host-connect -- --port /dev/ttyUSB0 --baud 115200
 *   sudo npm run host-connect -- --pty          (makes a pty pair; prints the device side)
 *
 * Frames from the line are SLIP-decoded into a pool slot and written to the TUN device; packets
 * from the TUN device (IPv4 only: a TUN interface starts sending IPv6 router solicitations at
 * once, and they are dropped and counted) are SLIP-encoded onto the line. When the line's
 * transmit queue is full, reading from the TUN device pauses, so the kernel queues (and TCP
 * backs off) instead of packets vanishing here.
 */
import { HostLoop } from '../src/drivers/host-loop.ts';
import type { DriverLink } from '../src/drivers/link.ts';
import { PcapFileSink } from '../src/drivers/pcap-file.ts';
import { FdLink } from '../src/drivers/fd-link.ts';
import { openPtyPair, type PtyHandles } from '../src/drivers/pty.ts';
import { ReopeningSerialLink } from '../src/drivers/reopening-serial-link.ts';
import { SerialError } from '../src/drivers/serial-link.ts';
import { TimerFd } from '../src/drivers/timer-fd.ts';
import { TunDevice, TunError, configureTun } from '../src/drivers/tun.ts';
import { CslipDevice } from '../src/phy/cslip-device.ts';
import type { Device } from '../src/phy/device.ts';
import { PcapWriter } from '../src/phy/pcap-writer.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { SLIP_END } from '../src/phy/slip.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { VJ_HEADROOM } from '../src/phy/vj.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { earliest } from '../src/time.ts';
import { formatIpv4 } from '../src/wire/ipv4.ts';
import { CliError, HOST_CONNECT_USAGE, parseHostConnectArgs, type HostConnectConfig } from './cli.ts';
import { describeClash, findClash, localNets } from './host/addresses.ts';
import { userNetMain } from './host/user-net-main.ts';
import { Stopper } from './host/stopper.ts';
import { openUserNetLine } from './host/user-net-line.ts';
import { HOST_POOL_SLOTS, HOST_SLIP_QUEUE_FRAMES, HOST_TUN_MIN_PACKET, serialBusyOctets, serialBusyPollMs } from './limits.ts';
import { runAsCommand } from './entry.ts';

export interface BridgeStats {
  /** Frames from the line written to the TUN device. */
  toHost: number;
  /** Packets from the TUN device sent on the line. */
  toDevice: number;
  /** Frames the TUN device refused. */
  tunWriteErrors: number;
  /** Packets read from the TUN device with no pool slot free (dropped). */
  noSlot: number;
}

/** The forwarding step: SLIP device <-> TUN device, as a host-loop part. */
export class Bridge {
  readonly stats: BridgeStats = { toHost: 0, toDevice: 0, tunWriteErrors: 0, noSlot: 0 };
  private readonly device: Device;
  private readonly tun: TunDevice;
  private paused = false;

  constructor(device: Device, tun: TunDevice) {
    this.device = device;
    this.tun = tun;
  }

  poll(now: number): boolean {
    let progress = false;
    const pool = this.device.pool;
    // Line -> host.
    for (;;) {
      const slot = this.device.receive(now);
      if (slot < 0) break;
      if (this.tun.write(pool.bytes, pool.start[slot]!, pool.len[slot]!)) this.stats.toHost++;
      else this.stats.tunWriteErrors++;
      pool.free(slot);
      progress = true;
    }
    // Host -> line, while the line's queue has room.
    while (this.device.canTransmit(now)) {
      const slot = pool.alloc();
      if (slot < 0) {
        this.stats.noSlot++;
        break;
      }
      const n = this.tun.receive(pool.bytes, pool.start[slot]!, pool.mtu);
      if (n === 0) {
        pool.free(slot);
        break;
      }
      pool.len[slot] = n;
      this.device.transmit(now, slot);
      this.stats.toDevice++;
      progress = true;
    }
    // Back-pressure: stop reading the TUN device while the line cannot take more.
    const full = !this.device.canTransmit(now);
    if (full !== this.paused) {
      this.paused = full;
      this.tun.setReceiving(!full);
    }
    return progress;
  }

  pollAt(now: number): number {
    const t = this.device.pollAt(now);
    return this.paused ? t : earliest(t, this.tun.pollAt(now));
  }
}

function say(line: string): void {
  process.stdout.write(`host-connect: ${line}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseHostConnectArgs(argv);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`host-connect: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (config === null) {
    process.stdout.write(HOST_CONNECT_USAGE);
    return 0;
  }

  if (config.userNet) return userNetOverLine(config);

  // No silent clash: an address already this machine's would answer in the device's place.
  const clash = findClash(config, localNets());
  if (clash !== null) {
    process.stderr.write(`host-connect: ${describeClash(clash)}: choose a free pair with --host-ip A.B.C.D --device-ip A.B.C.D ` +
      '(and give the firmware the same as --peer and --ip)\n');
    return 1;
  }

  let tun: TunDevice;
  try {
    tun = TunDevice.open(config.tun, { maxPacket: Math.max(config.mtu, HOST_TUN_MIN_PACKET) });
    await configureTun(tun.name, { local: formatIpv4(config.hostIp), peer: formatIpv4(config.deviceIp), mtu: config.mtu });
  } catch (e) {
    if (e instanceof TunError) {
      process.stderr.write(`host-connect: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  let link: FdLink | ReopeningSerialLink;
  let pty: PtyHandles | null = null;
  // As the firmware: one wake-up per SLIP frame, and batched reads while the line is busy.
  // (Batched reads only where the line's rate is bounded: a serial port, or a pty paced with --uart-timing.)
  const coalescing = { wakeOn: SLIP_END, busyOctets: serialBusyOctets(!config.pty || config.uartTiming), busyPollMs: serialBusyPollMs(config.baud) };
  try {
    if (config.pty) {
      pty = openPtyPair();
      link = new FdLink(pty.masterFd, { closeFd: false, name: 'pty master', ...coalescing });
    } else {
      // A port that disappears (USB adapter pulled) is waited for and opened again under the same path.
      link = await ReopeningSerialLink.open(config.port!, {
        baud: config.baud, rtscts: config.rtscts, ...coalescing,
        onDown: (reason) => say(`line ${config.port} disappeared (${reason}); waiting for it to come back`),
        onUp: (downMs) => say(`line ${config.port} is back after ${(downMs / 1000).toFixed(1)} s; reopened`),
      });
    }
  } catch (e) {
    tun.close();
    if (e instanceof SerialError) {
      process.stderr.write(`host-connect: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  const pool = new PacketPool({ slots: HOST_POOL_SLOTS, mtu: config.mtu, headroom: VJ_HEADROOM, name: 'host' });
  const byteLink = config.uartTiming ? new UartTimedLink(link, config.baud) : link;
  const slip = new SlipDevice(byteLink, pool, { txQueue: HOST_SLIP_QUEUE_FRAMES, rxQueue: HOST_SLIP_QUEUE_FRAMES });
  // Header compression as slattach -p names it; the pcap file sees plain IPv4, above it.
  const cslip = new CslipDevice(slip, { proto: config.proto });
  const pcap = config.pcap !== null ? new PcapFileSink(config.pcap) : null;
  const device: Device = pcap !== null ? new PcapWriter(cslip, pcap) : cslip;
  const bridge = new Bridge(device, tun);
  // A precise timer: with --uart-timing every frame ends on one of its deadlines.
  const loop = new HostLoop([bridge], { timer: (fire) => new TimerFd(fire), batchedBy: link });
  link.onActivity(() => loop.wake());
  tun.onActivity(() => loop.wake());

  // Signals are taken before anything is printed: whoever reads the lines may signal at once.
  const stopper = new Stopper(say, () => void loop.stop());
  if (pty !== null) say(`device side: ${pty.slavePath}  (run: npm run firmware -- --port ${pty.slavePath})`);
  else say(`line: ${config.port} at ${config.baud} baud`);
  say(`up: ${formatIpv4(config.hostIp)} peer ${formatIpv4(config.deviceIp)} dev ${tun.name} mtu ${config.mtu} proto ${config.proto}`);

  void link.closed.then((why) => stopper.stop(pty !== null ? 0 : 1, `line ${why.disconnected ? 'disappeared' : 'closed'}: ${why.reason}`));
  void tun.closed.then((why) => stopper.stop(1, `TUN ${why.disconnected ? 'failed' : 'closed'}: ${why.reason}`));

  await loop.run();
  const s = bridge.stats;
  say(`forwarded ${s.toDevice} packets to the device, ${s.toHost} to the host; dropped ${tun.stats.droppedNonIpv4} non-IPv4, ` +
    `${s.noSlot} for want of a slot, ${slip.stats.decoder.badEscape + slip.stats.decoder.oversize} bad frames; ` +
    `headers compressed ${cslip.stats.out.compressed} out, ${cslip.stats.in.compressed} in (${config.proto})`);
  tun.close();
  await link.close().catch(() => {});
  pty?.close();
  pcap?.close();
  stopper.detach();
  return stopper.code;
}

/** --user-net: the userspace host side (host/user-net.ts) on a pty pair or a serial port, no TUN. */
async function userNetOverLine(config: HostConnectConfig): Promise<number> {
  let link: DriverLink;
  let pty: PtyHandles | null = null;
  try {
    if (config.pty) {
      pty = openPtyPair();
      link = new FdLink(pty.masterFd, { closeFd: false, name: 'pty master', wakeOn: SLIP_END });
    } else {
      link = await openUserNetLine(config.port!, { baud: config.baud, rtscts: config.rtscts });
    }
  } catch (e) {
    process.stderr.write(`host-connect: ${(e as Error).message}\n`);
    return 1;
  }
  if (pty !== null) say(`device side: ${pty.slavePath}  (run: npm run firmware -- --port ${pty.slavePath})`);
  else say(`line: ${config.port} at ${config.baud} baud`);
  const pcap = config.pcap !== null ? new PcapFileSink(config.pcap) : null;
  const code = await userNetMain(link, config, say, pty !== null, pcap);
  await link.close().catch(() => {});
  pty?.close();
  pcap?.close();
  return code;
}

runAsCommand(import.meta.url, 'host-connect', main);
