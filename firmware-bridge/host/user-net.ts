/**
 * The userspace host side: our own slipstack instance as the host end of the serial line, with
 * host ports forwarded to the device (like QEMU's `hostfwd` or slirp's redirections). It needs
 * no root and nothing Linux-only: no TUN, no pty, no `ip`. The caller hands it the line (a pty
 * master from host connect, a serial port from connect, an in-memory link in tests).
 *
 * Each forwarded connection is a node:net socket accepted on `bind:hostPort`, spliced to a
 * `slipstack/net` connection to `deviceIp:devicePort` with `pipe()` both ways, so backpressure
 * holds in both directions (a slow local reader closes the device's TCP window; a slow device
 * pauses the local socket). Half-close is passed through (each side's FIN ends the other's
 * writable side) and so is reset (an error on one side resets the other). A refused device
 * port resets the local connection, as a closed port would.
 *
 * `npm run ping` talks to a control port on 127.0.0.1 (one line, `ping COUNT SIZE`), and gets
 * the output of an iputils-worded ping run from this stack (there is no kernel interface to
 * ping from).
 */
import { getRandomValues } from 'node:crypto';
import { type Server as NodeServer, type Socket as NodeSocket, createServer as nodeCreateServer } from 'node:net';
import { HostLoop } from '../../src/drivers/host-loop.ts';
import { Interface } from '../../src/iface/interface.ts';
// network.ts and socket.ts rather than the index: the index also brings openDevice(), whose
// serial port driver loads koffi, and this module must load where koffi cannot.
import { Network } from '../../src/drivers/net/network.ts';
import { Socket as SlipSocket } from '../../src/drivers/net/socket.ts';
import type { ByteLink, Device } from '../../src/phy/device.ts';
import { PcapWriter, type PcapSink } from '../../src/phy/pcap-writer.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { UartTimedLink } from '../../src/phy/uart.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import { formatIpv4 } from '../../src/wire/ipv4.ts';
import type { Forward } from '../cli.ts';
import {
  HOST_POOL_SLOTS, USER_NET_CONTROL_PORT, USER_NET_RING_LEN, USER_NET_SLIP_QUEUE_FRAMES, USER_NET_SOCKETS,
} from '../limits.ts';
import { PingRun, type TextSink } from '../telnet/ping.ts';

export interface UserNetOptions {
  /** The serial line. When it can say that bytes arrived (`onActivity`, as a DriverLink), the loop wakes on it. */
  link: ByteLink & { onActivity?(listener: () => void): void };
  /** This host's address on the link (int32). */
  hostIp: number;
  /** The device's address (int32). */
  deviceIp: number;
  /** Link MTU, octets. */
  mtu: number;
  /** Line speed, 8N1; with `uartTiming` output is paced to baud/10 octets per second. */
  baud: number;
  uartTiming: boolean;
  forwards: readonly Forward[];
  /** The address the forwards listen on (127.0.0.1: this machine only). */
  bind: string;
  /** Control port for `npm run ping` on 127.0.0.1 (0: any free port; null: none). Defaults to USER_NET_CONTROL_PORT. */
  controlPort?: number | null;
  pcapSink?: PcapSink | null;
  /** Polled with the host end in the same loop (a test's in-memory board). */
  alsoPoll?: readonly Pollable[];
}

export interface UserNetStats {
  /** Local connections accepted on the forwards. */
  accepted: number;
  /** Spliced connections still open. */
  open: number;
  /** Connections ended by a reset or an error on either side. */
  reset: number;
  /** Octets carried host -> device and device -> host. */
  toDevice: number;
  toHost: number;
}

export interface UserNet {
  readonly network: Network;
  readonly iface: Interface;
  readonly slip: SlipDevice;
  readonly loop: HostLoop;
  readonly stats: UserNetStats;
  /** The forwards as bound: host port (the real one when 0 was asked for) -> device port. */
  readonly forwards: readonly Forward[];
  /** The control port as bound, or 0. */
  readonly controlPort: number;
  /** Resolves when the loop ends (after `stop()`), rejects if a part threw. */
  readonly done: Promise<void>;
  /** Closes the listeners, resets every connection, stops the loop. The line stays the caller's. */
  stop(): Promise<void>;
}

/** Splices one accepted local connection to a new device connection. */
function splice(local: NodeSocket, network: Network, deviceIp: string, devicePort: number, stats: UserNetStats): void {
  stats.accepted++;
  stats.open++;
  const device = new SlipSocket({ network, allowHalfOpen: true }).connect({ port: devicePort, host: deviceIp });
  let closed = 0;
  const onClose = (): void => {
    if (++closed === 2) stats.open--;
  };
  local.on('data', (chunk: Buffer) => { stats.toDevice += chunk.length; });
  device.on('data', (chunk: Buffer) => { stats.toHost += chunk.length; });
  // pipe(): end() follows the other side's FIN (half-close), and write()'s false pauses the source.
  local.pipe(device);
  device.pipe(local);
  let reset = false;
  const resetBoth = (): void => {
    if (reset) return;
    reset = true;
    stats.reset++;
    if (!local.destroyed) local.resetAndDestroy();
    if (!device.destroyed) device.resetAndDestroy();
  };
  local.on('error', resetBoth);
  device.on('error', resetBoth);
  local.on('close', onClose);
  device.on('close', onClose);
}

/** The control port's one job: a ping run per connection, its output written back. */
class Pinger implements Pollable {
  private run: PingRun | null = null;
  private out: (TextSink & { socket: NodeSocket }) | null = null;
  private nextIdent = 0x5100;
  private readonly iface: Interface;
  private readonly deviceIp: number;
  private readonly loop: HostLoop;

  constructor(iface: Interface, deviceIp: number, loop: HostLoop) {
    this.iface = iface;
    this.deviceIp = deviceIp;
    this.loop = loop;
  }

  /** Starts a run for `socket`; false (and a line saying so) when one runs already. */
  start(socket: NodeSocket, count: number, size: number): void {
    if (this.run !== null) {
      socket.end('ping: another ping is running, try again when it ends\n');
      return;
    }
    const run = new PingRun(this.iface, this.nextIdent++ & 0xffff || 1, { intervalMs: 1000, lingerMs: 2000, dataLen: size });
    const out = { socket, writeText: (text: string): void => void socket.write(text) };
    this.run = run;
    this.out = out;
    socket.on('close', () => {
      // Ctrl-C on `npm run ping`: the run ends with its summary, written nowhere.
      if (this.run === run) this.end();
    });
    run.start(this.loop.now(), this.deviceIp, count, out);
    this.loop.wake();
  }

  private end(): void {
    this.run?.stop();
    this.out?.socket.end();
    this.run = null;
    this.out = null;
  }

  /** The client asked to stop early: print the summary and end. */
  interrupt(now: number): void {
    if (this.run === null) return;
    this.run.interrupt(now, this.out!);
    this.end();
  }

  poll(now: number): boolean {
    if (this.run === null) return false;
    const progress = this.run.poll(now, this.out!);
    if (!this.run.running) this.end();
    return progress;
  }

  pollAt(now: number): number {
    return this.run === null ? NEVER : this.run.pollAt(now);
  }
}

function listen(server: NodeServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

/**
 * Starts the userspace host side on `link`: builds the host end's stack, starts its loop, and
 * listens on every forward. Rejects (listeners closed, loop stopped) when a port cannot be bound.
 */
export async function runUserNet(options: UserNetOptions): Promise<UserNet> {
  const pool = new PacketPool({ slots: HOST_POOL_SLOTS, mtu: options.mtu, name: 'host' });
  const byteLink = options.uartTiming ? new UartTimedLink(options.link, options.baud) : options.link;
  const slip = new SlipDevice(byteLink, pool, { txQueue: USER_NET_SLIP_QUEUE_FRAMES, rxQueue: USER_NET_SLIP_QUEUE_FRAMES });
  const device: Device = options.pcapSink ? new PcapWriter(slip, options.pcapSink) : slip;
  const tcp = new TcpStack({
    sockets: USER_NET_SOCKETS, txBufferLen: USER_NET_RING_LEN, rxBufferLen: USER_NET_RING_LEN,
    isnKey: getRandomValues(new Uint32Array(4)),
  });
  const iface = new Interface({ device, address: options.hostIp, tcp });
  const network = new Network({ iface, tcp });
  const parts: Pollable[] = [iface, network, ...(options.alsoPoll ?? [])];
  const loop = new HostLoop(parts);
  network.attach(loop);
  const pinger = new Pinger(iface, options.deviceIp, loop);
  loop.add(pinger);
  options.link.onActivity?.(() => loop.wake());
  const done = loop.run();
  done.catch(() => {});

  const stats: UserNetStats = { accepted: 0, open: 0, reset: 0, toDevice: 0, toHost: 0 };
  const deviceIp = formatIpv4(options.deviceIp);
  const servers: NodeServer[] = [];
  const sockets = new Set<NodeSocket>();
  const track = (s: NodeSocket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const bound: Forward[] = [];
  let controlPort = 0;
  const stop = async (): Promise<void> => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    network.close();
    iface.poll(loop.now());
    await loop.stop();
  };
  try {
    for (const f of options.forwards) {
      const server = nodeCreateServer({ allowHalfOpen: true }, (local) => {
        track(local);
        splice(local, network, deviceIp, f.devicePort, stats);
      });
      servers.push(server);
      bound.push({ hostPort: await listen(server, f.hostPort, options.bind), devicePort: f.devicePort });
    }
    const wanted = options.controlPort === undefined ? USER_NET_CONTROL_PORT : options.controlPort;
    if (wanted !== null) {
      const control = nodeCreateServer({ allowHalfOpen: true }, (socket) => {
        track(socket);
        let line = '';
        socket.setEncoding('utf8');
        socket.on('error', () => {});
        // Requests, one a line: `ping COUNT SIZE` starts a run, `stop` ends it with its summary (Ctrl-C).
        socket.on('data', (text: string) => {
          line += text;
          let nl: number;
          while ((nl = line.indexOf('\n')) >= 0) {
            const request = line.slice(0, nl).trim();
            line = line.slice(nl + 1);
            const m = /^ping (\d{1,6}) (\d{1,5})$/.exec(request);
            if (m) pinger.start(socket, Number(m[1]), Math.max(8, Math.min(Number(m[2]), options.mtu - 28)));
            else if (request === 'stop') pinger.interrupt(loop.now());
            else socket.end('unknown request: want "ping COUNT SIZE" or "stop"\n');
          }
          if (line.length > 100) socket.destroy();
        });
      });
      servers.push(control);
      controlPort = await listen(control, wanted, '127.0.0.1');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { network, iface, slip, loop, stats, forwards: bound, controlPort, done, stop };
}
