/**
 * Server: a TCP listener of slipstack shaped like node:net's Server (an EventEmitter with
 * 'listening', 'connection', 'close', 'error').
 *
 * `listen(port)` takes a listener slot in the TCP stack (backlog = min(backlog, socket table));
 * every established connection the stack queues is accepted on the next poll and handed to
 * 'connection' as a Socket. `close()` stops listening (connections not yet accepted are reset)
 * and 'close' follows once every accepted connection has closed, as in node:net.
 *
 * Where it differs from node:net: `address()` is `{ address: '0.0.0.0', family: 'IPv4', port }`
 * (there is no IPv6); `host` in listen() must be '0.0.0.0', '::' or the interface's own address;
 * port 0 picks a free port from 49152 up; ref()/unref() do nothing.
 */
import { EventEmitter } from 'node:events';
import { NEVER } from '../../time.ts';
import { codedError, codeOf, netError } from './errors.ts';
import { resolveNetwork, type Network, type Pumped } from './network.ts';
import { Socket } from './socket.ts';
import * as B from './tcp-binding.ts';

export interface ServerOptions {
  /** Accepted sockets keep their writable side open after the peer's FIN. Defaults to false. */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no reading until resumed). Defaults to false. */
  pauseOnConnect?: boolean;
  /** Nagle off on accepted sockets. Defaults to false. */
  noDelay?: boolean;
  /** Keepalive on accepted sockets. Defaults to false. */
  keepAlive?: boolean;
  /** High-water mark of accepted sockets, both sides, octets. Defaults to Node's. */
  highWaterMark?: number;
  /** The network to listen on; defaults to the default network. */
  network?: Network;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/** Ephemeral range for listen(0) (RFC 6335). */
const EPHEMERAL_FIRST = 49152;

export class Server extends EventEmitter implements Pumped {
  /** Refuse (reset) connections beyond this many. Unset: as many as the socket table holds. */
  maxConnections: number | undefined = undefined;
  private readonly options: ServerOptions;
  private net: Network | null = null;
  private listener = -1;
  private port = 0;
  private readonly connections = new Set<Socket>();
  private closing = false;
  private readonly onConnectionClose = (socket: Socket): void => {
    this.connections.delete(socket);
    this.emitCloseIfDrained();
  };

  constructor(options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super();
    this.options = options;
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  get listening(): boolean {
    return this.listener >= 0;
  }

  /**
   * listen(port[, host][, backlog][, cb]), listen(options[, cb]), listen(cb). 'listening' follows
   * on the next tick; a port in use is an 'error' (EADDRINUSE) instead.
   */
  listen(...args: unknown[]): this {
    let cb: (() => void) | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
    let opts: ListenOptions = {};
    if (typeof args[0] === 'object' && args[0] !== null) opts = args[0] as ListenOptions;
    else {
      if (args[0] !== undefined && args[0] !== null) opts.port = Number(args[0]);
      if (typeof args[1] === 'string') opts.host = args[1];
      const backlog = typeof args[1] === 'number' ? args[1] : args[2];
      if (typeof backlog === 'number') opts.backlog = backlog;
    }
    if (this.listener >= 0) throw codedError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    const port = opts.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw codedError('ERR_SOCKET_BAD_PORT', `options.port should be >= 0 and < 65536. Received ${String(opts.port)}.`, RangeError);
    }
    const net = resolveNetwork(this.options.network);
    this.net = net;
    if (cb !== undefined) this.once('listening', cb);
    const host = opts.host;
    if (host !== undefined && host !== '0.0.0.0' && host !== '::' && host !== net.address) {
      process.nextTick(() => this.emit('error', netError('EADDRNOTAVAIL', 'listen', host, port, true)));
      return this;
    }
    const backlog = Math.max(1, Math.min(opts.backlog ?? 511, net.tcp.sockets.length));
    const chosen = port !== 0 ? port : this.freePort(net);
    const handle = chosen > 0 ? B.listen(net.tcp, chosen, backlog) : B.SocketError.AddressInUse;
    if (handle < 0) {
      process.nextTick(() => this.emit('error', netError(codeOf(handle), 'listen', host ?? '0.0.0.0', port, true)));
      return this;
    }
    this.listener = handle;
    this.port = chosen;
    this.closing = false;
    net.add(this);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listener >= 0 ? { address: '0.0.0.0', family: 'IPv4', port: this.port } : null;
  }

  /** Stops listening; 'close' (and `cb`) once every accepted connection has closed. */
  close(cb?: (error?: Error) => void): this {
    if (cb !== undefined) {
      if (this.listener < 0) this.once('close', () => cb(codedError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      else this.once('close', () => cb());
    }
    if (this.listener >= 0 && this.net !== null) {
      B.unlisten(this.net.tcp, this.listener);
      this.listener = -1;
      this.net.remove(this);
    }
    this.closing = true;
    this.emitCloseIfDrained();
    return this;
  }

  getConnections(cb: (error: Error | null, count: number) => void): this {
    const n = this.connections.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // ---------------------------------------------------------------------------------------------
  // Pumped by the Network

  /** @internal Accepts every connection the stack has queued. */
  pump(_now: number): boolean {
    const net = this.net;
    let progress = false;
    while (this.listener >= 0 && net !== null) {
      const handle = B.accept(net.tcp, this.listener);
      if (handle === null) break;
      progress = true;
      if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
        B.abort(handle);
        B.close(handle);
        this.emit('drop', { localPort: B.localPort(handle), remotePort: B.remotePort(handle) });
        continue;
      }
      const o = this.options;
      const hwm = o.highWaterMark;
      const socket = new Socket({
        allowHalfOpen: o.allowHalfOpen === true,
        network: net,
        ...(hwm !== undefined ? { readableHighWaterMark: hwm, writableHighWaterMark: hwm } : {}),
      }, { handle, onClose: this.onConnectionClose, pauseOnConnect: o.pauseOnConnect === true });
      if (o.noDelay === true) socket.setNoDelay(true);
      if (o.keepAlive === true) socket.setKeepAlive(true);
      this.connections.add(socket);
      this.emit('connection', socket);
    }
    return progress;
  }

  /** @internal */
  pumpAt(now: number): number {
    const net = this.net;
    if (this.listener >= 0 && net !== null && B.hasAcceptable(net.tcp, this.listener)) return now;
    return NEVER;
  }

  /** @internal */
  shutdownNow(): void {
    this.close();
    for (const s of this.connections) s.destroy();
  }

  private emitCloseIfDrained(): void {
    if (!this.closing || this.listener >= 0 || this.connections.size > 0) return;
    this.closing = false;
    process.nextTick(() => this.emit('close'));
  }

  private freePort(net: Network): number {
    for (let p = EPHEMERAL_FIRST; p <= 0xffff; p++) if (!B.portInUse(net.tcp, p)) return p;
    return 0;
  }
}
