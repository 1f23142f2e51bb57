/**
 * The two implementations the net tests run against, behind one shape: node:net on 127.0.0.1,
 * and slipstack/net with two whole stacks (the device 192.0.2.2, its peer 192.0.2.1) over the
 * in-memory SLIP link, run by a HostLoop on the real clock. The same test file drives both, so
 * every expectation is first checked against Node's own behaviour.
 */
import nodeNet from 'node:net';
import { HostLoop } from '../../src/drivers/host-loop.ts';
import { Interface } from '../../src/iface/interface.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { TcpStack, type TcpStackOptions } from '../../src/socket/tcp/stack.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import * as slip from '../../src/drivers/net/index.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';

/** What the tests use of a socket: node:net's and ours both fit. */
export type AnySocket = nodeNet.Socket | slip.Socket;
export type AnyServer = nodeNet.Server | slip.Server;

export interface ServerOpts {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
}

export interface ConnectOpts {
  port: number;
  allowHalfOpen?: boolean;
  timeout?: number;
}

export interface Backend {
  readonly name: string;
  /** The address a client connects to. */
  readonly host: string;
  /**
   * Octets that may sit between a writer and a paused reader at most (rings and buffers of the
   * implementation): node:net has the kernel's socket buffers, several MiB on loopback.
   */
  readonly maxInFlight: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  createServer(options: ServerOpts, listener: (s: AnySocket) => void): AnyServer;
  connect(options: ConnectOpts, listener?: () => void): AnySocket;
}

export class NodeBackend implements Backend {
  readonly name = 'node:net on 127.0.0.1';
  readonly host = '127.0.0.1';
  readonly maxInFlight = 64 * 1024 * 1024;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  createServer(options: ServerOpts, listener: (s: AnySocket) => void): AnyServer {
    return nodeNet.createServer(options, listener);
  }
  connect(options: ConnectOpts, listener?: () => void): AnySocket {
    return nodeNet.connect({ host: this.host, ...options }, listener);
  }
}

/** One stack (the pool, SLIP, the interface, TCP) on `link`, as a slipstack/net Network. */
function makeNetwork(link: MemoryLinkPair['a'], address: number, key: number, ringLen: number, tcpOptions: Partial<TcpStackOptions>): slip.Network {
  const pool = new PacketPool({ slots: 128, mtu: 1500 });
  const dev = new SlipDevice(link, pool, { txQueue: 32, rxQueue: 32 });
  const tcp = new TcpStack({
    sockets: 128, txBufferLen: ringLen, rxBufferLen: ringLen, listeners: 16, isnKey: [key, 2, 3, 4],
    ...tcpOptions,
  });
  const iface = new Interface({ device: dev, address, tcp });
  return new slip.Network({ iface, tcp });
}

/**
 * slipstack only: the same two stacks in virtual time (a VirtualLoop, so the retransmission
 * back-off's minutes cost none), and a device that can vanish: after `vanish()` its stack is no
 * longer run and whatever reaches it on the line is read and thrown away, as a board that lost
 * power behind a line that still takes octets. node:net has no such rig on 127.0.0.1.
 */
export class VirtualSlipstackPair {
  readonly device: slip.Network;
  readonly peer: slip.Network;
  readonly loop: slip.VirtualLoop;
  private gone = false;

  constructor(tcpOptions: Partial<TcpStackOptions> = {}) {
    const links = new MemoryLinkPair({ capacity: 64 * 1024 });
    this.device = makeNetwork(links.a, HOST_B, 0x1234, 16384, tcpOptions);
    this.peer = makeNetwork(links.b, HOST_A, 0x5678, 16384, tcpOptions);
    const sink = new Uint8Array(4096);
    const device: Pollable = {
      poll: (now) => {
        if (!this.gone) return this.device.iface.poll(now) || this.device.poll(now);
        while (links.a.read(now, sink, 0, sink.length) > 0);
        return false;
      },
      pollAt: (now) => (this.gone ? NEVER : Math.min(this.device.iface.pollAt(now), this.device.pollAt(now))),
    };
    this.loop = new slip.VirtualLoop([this.peer.iface, this.peer, device], 1000);
    this.device.attach(this.loop);
    this.peer.attach(this.loop);
  }

  /** The device stops: nothing it would send goes out, nothing sent to it is answered. */
  vanish(): void {
    this.gone = true;
  }

  /** Resets what is left on the peer's side (and the device's, if it is still there) and lets it go out. */
  async stop(): Promise<void> {
    if (!this.gone) this.device.close();
    this.peer.close();
    await this.loop.runFor(100);
  }
}

/** Two stacks over an in-memory SLIP link in one process. */
export class SlipstackBackend implements Backend {
  readonly name = 'slipstack/net over the in-memory SLIP link';
  readonly host = '192.0.2.2';
  readonly ringLen = 16384;
  readonly maxInFlight: number;
  device!: slip.Network;
  peer!: slip.Network;
  loop!: HostLoop;
  private running: Promise<void> | null = null;
  private readonly tcpOptions: Partial<TcpStackOptions>;

  constructor(tcpOptions: Partial<TcpStackOptions> = {}) {
    this.tcpOptions = tcpOptions;
    // Both rings of both ends, and a readable + writable high-water mark of buffering, and a
    // staging buffer's worth in the reader's push.
    this.maxInFlight = 4 * this.ringLen + 4 * 65536;
  }

  async start(): Promise<void> {
    const links = new MemoryLinkPair({ capacity: 64 * 1024 });
    this.device = makeNetwork(links.a, HOST_B, 0x1234, this.ringLen, this.tcpOptions);
    this.peer = makeNetwork(links.b, HOST_A, 0x5678, this.ringLen, this.tcpOptions);
    this.loop = new HostLoop([this.peer.iface, this.peer, this.device.iface, this.device]);
    this.device.attach(this.loop);
    this.peer.attach(this.loop);
    this.running = this.loop.run();
  }

  async stop(): Promise<void> {
    this.device.close();
    this.peer.close();
    // Let the RSTs go out before the loop stops.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await this.loop.stop();
    await this.running;
  }

  createServer(options: ServerOpts, listener: (s: AnySocket) => void): AnyServer {
    return slip.createServer({ ...options, network: this.device }, listener);
  }

  connect(options: ConnectOpts, listener?: () => void): AnySocket {
    return slip.connect({ host: this.host, ...options, network: this.peer }, listener);
  }
}
