/**
 * openDevice(): a whole slipstack device in one call, for an application of its own. It opens
 * the serial port (or takes any ByteLink), builds the pool, SLIP, the interface and the TCP
 * stack, runs them from a HostLoop on the real clock, and makes the result the default network,
 * so that `createServer()` and `connect()` work at once. It answers ping; it runs no service of
 * the firmware's (those are firmware-bridge/'s), only what the application listens on.
 */
import { getRandomValues } from 'node:crypto';
import { HostLoop } from '../host-loop.ts';
import { SerialLink } from '../serial-link.ts';
import { Interface } from '../../iface/interface.ts';
import type { ByteLink } from '../../phy/device.ts';
import { SLIP_END } from '../../phy/slip.ts';
import { SlipDevice } from '../../phy/slip-device.ts';
import { PacketPool } from '../../storage/packet-pool.ts';
import { ipv4Address } from '../../wire/ipv4.ts';
import { Network, setDefaultNetwork } from './network.ts';
import { TcpStack } from './tcp-binding.ts';

export interface OpenDeviceOptions {
  /** Serial port path (a UART, a USB-serial adapter, a pty). Either this or `link`. */
  port?: string;
  /** Any ByteLink instead of a port (an in-memory link in tests). */
  link?: ByteLink;
  /** Line speed, 8N1. Defaults to 115200. */
  baud?: number;
  /** This device's address. Defaults to '192.0.2.2'. */
  address?: string;
  /** Link MTU. Defaults to 1006. */
  mtu?: number;
  /** TCP sockets in the table. Defaults to 16. */
  sockets?: number;
  /** Send and receive ring per socket, octets. Defaults to 16384. */
  ringLen?: number;
  /** Pool slots. Defaults to 64. */
  slots?: number;
  /** Make it the default network of createServer()/connect(). Defaults to true. */
  setDefault?: boolean;
}

export interface RunningDevice {
  readonly network: Network;
  readonly iface: Interface;
  readonly tcp: TcpStack;
  readonly loop: HostLoop;
  /** Resets every connection, stops the loop, closes the port. */
  close(): Promise<void>;
}

/** Opens the line and starts the device's loop; resolves once it runs. */
export async function openDevice(options: OpenDeviceOptions): Promise<RunningDevice> {
  const mtu = options.mtu ?? 1006;
  let serial: SerialLink | null = null;
  let link: ByteLink;
  if (options.link !== undefined) link = options.link;
  else if (options.port !== undefined) {
    serial = await SerialLink.open(options.port, { baud: options.baud ?? 115200, wakeOn: SLIP_END });
    link = serial;
  } else throw new TypeError('openDevice: give { port } (a serial port path) or { link } (a ByteLink)');
  const pool = new PacketPool({ slots: options.slots ?? 64, mtu });
  const slip = new SlipDevice(link, pool, { txQueue: 16, rxQueue: 16 });
  const ring = options.ringLen ?? 16384;
  const tcp = new TcpStack({ sockets: options.sockets ?? 16, txBufferLen: ring, rxBufferLen: ring, isnKey: getRandomValues(new Uint32Array(4)) });
  const iface = new Interface({ device: slip, address: ipv4Address(options.address ?? '192.0.2.2'), tcp });
  const network = new Network({ iface, tcp });
  const loop = new HostLoop([iface, network]);
  network.attach(loop);
  serial?.onActivity(() => loop.wake());
  if (options.setDefault !== false) setDefaultNetwork(network);
  const running = loop.run();
  running.catch(() => {});
  return {
    network, iface, tcp, loop,
    async close(): Promise<void> {
      network.close();
      iface.poll(loop.now());
      await loop.stop();
      if (serial !== null) await serial.close().catch(() => {});
    },
  };
}
