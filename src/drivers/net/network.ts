/**
 * Network: one slipstack interface and its TCP stack, as the `net`-compatible API sees them.
 *
 * Layer: `src/drivers/net/` is Node-facing (streams, Buffers, EventEmitter), so it lives with the
 * drivers, outside the Node-free core; within drivers/ it is the top: it may use the other
 * drivers (openDevice opens a SerialLink and runs a HostLoop), they never use it, and only
 * firmware-bridge/ and the harnesses sit above it. It may allocate (a Buffer per chunk
 * read); the core below it may not, and does not: octets cross into the core only through one
 * long-lived staging buffer (`staging`), so the core's copies never meet a fresh ArrayBuffer.
 *
 * A Network is a Pollable: the host loop (or a test's virtual loop) calls `poll(now)` after
 * the interface has run, and the Network moves octets between the TCP rings and the streams,
 * accepts connections, and turns state changes into Node events (`connect`, `end`, `error`,
 * `timeout`). Its `pollAt(now)` is `now` only when `poll` has work, so a quiet loop sleeps.
 * When the application acts between turns (a write, a resumed reader, a timeout set), the
 * Network wakes its loop (`NetLoop.wake`) and takes the time from it (`NetLoop.now`).
 */
import type { Interface } from '../../iface/interface.ts';
import { NEVER, type Pollable } from '../../time.ts';
import { formatIpv4 } from '../../wire/ipv4.ts';
import type { TcpStack } from './tcp-binding.ts';

/** What a Network needs from whatever drives it: the clock it runs on and a way to ask for a turn. */
export interface NetLoop {
  /** Integer milliseconds on the clock `poll(now)` is given. */
  now(): number;
  /** Asks for a poll soon (cheap, coalescing). */
  wake(): void;
}

/** Something the Network pumps every poll: a Socket or a Server. */
export interface Pumped {
  /** Does what is due; true if anything progressed. */
  pump(now: number): boolean;
  /** `now` when `pump` has work, else its next deadline or NEVER. */
  pumpAt(now: number): number;
  /** Ends it at once (the Network is closing). */
  shutdownNow(): void;
}

export interface NetworkOptions {
  /** The interface: its address is the sockets' local address, its MSS theirs. */
  iface: Interface;
  tcp: TcpStack;
  /** The loop that polls this Network; `attach()` can set it later. */
  loop?: NetLoop | null;
  /** Staging buffer between the streams and the rings (octets moved per copy). Defaults to 16384 octets of its own. */
  staging?: Uint8Array;
}

export class Network implements Pollable {
  readonly iface: Interface;
  readonly tcp: TcpStack;
  /** Long-lived buffer every octet crosses between a stream and a ring. */
  readonly staging: Uint8Array;
  private loop: NetLoop | null;
  private lastNow = 0;
  private readonly parts: Pumped[] = [];
  private changed = false;

  constructor(options: NetworkOptions) {
    this.iface = options.iface;
    this.tcp = options.tcp;
    this.loop = options.loop ?? null;
    this.staging = options.staging ?? new Uint8Array(16384);
  }

  /** Sets the loop that drives this Network (the firmware's HostLoop, a test's VirtualLoop). */
  attach(loop: NetLoop): void {
    this.loop = loop;
  }

  /** The time now, ms: the loop's clock, or the last `now` polled when there is no loop. */
  now(): number {
    return this.loop !== null ? this.loop.now() : this.lastNow;
  }

  /** Asks the loop for a turn. */
  wake(): void {
    this.changed = true;
    this.loop?.wake();
  }

  /** This interface's address, dotted. */
  get address(): string {
    return formatIpv4(this.iface.address);
  }

  /** @internal Sockets and servers register themselves here. */
  add(part: Pumped): void {
    this.parts.push(part);
    this.wake();
  }

  /** @internal */
  remove(part: Pumped): void {
    const i = this.parts.indexOf(part);
    if (i >= 0) this.parts.splice(i, 1);
    this.changed = true;
  }

  /** Sockets and servers alive on this Network. */
  get size(): number {
    return this.parts.length;
  }

  poll(now: number): boolean {
    this.lastNow = now;
    let progress = this.changed;
    this.changed = false;
    // Parts may leave (or join) while being pumped: walk a snapshot of the length and re-check.
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      if (part.pump(now)) progress = true;
      if (this.parts[i] !== part) i--;
    }
    return progress;
  }

  pollAt(now: number): number {
    if (this.changed) return now;
    let t = NEVER;
    for (let i = 0; i < this.parts.length; i++) {
      const at = this.parts[i]!.pumpAt(now);
      if (at < t) t = at;
    }
    return t;
  }

  /** Ends every socket (RST) and server on this Network (the firmware's shutdown). */
  close(): void {
    for (const part of this.parts.slice()) part.shutdownNow();
  }
}

// ---------------------------------------------------------------------------------------------
// The default network: what `createServer()` and `connect()` use when no `network` is given.

let defaultNetwork: Network | null = null;

/** Makes `network` the one `createServer` / `connect` use by default (null: none). */
export function setDefaultNetwork(network: Network | null): void {
  defaultNetwork = network;
}

/** The default network, or null. */
export function getDefaultNetwork(): Network | null {
  return defaultNetwork;
}

/** The network given, else the default one; throws when there is neither. */
export function resolveNetwork(given: Network | undefined): Network {
  const n = given ?? defaultNetwork;
  if (n === null) {
    throw new Error('slipstack/net: no network to use: start one with openDevice(), or pass { network } (a Network)');
  }
  return n;
}
