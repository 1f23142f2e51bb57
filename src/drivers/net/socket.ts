/**
 * Socket: a TCP connection of slipstack as a `stream.Duplex`, shaped like node:net's Socket.
 *
 * - Writing: `_write` copies the chunk into the send ring (through the Network's staging
 *   buffer) and calls back at once when the ring took all of it. When the ring is full the
 *   rest of the chunk waits here and the callback waits with it, so the Writable's own queue
 *   grows and `write()` returns false past `writableHighWaterMark`, with `'drain'` when the
 *   ring has taken it: the send ring plays the part of the kernel's send buffer.
 * - Reading: octets are copied out of the receive ring only while the Readable wants more
 *   (`_read`); when `push()` says stop, they stay in the ring, the advertised window closes,
 *   and a slow reader slows the peer. Nothing is dropped.
 * - `end()` sends a FIN after the queued data. `destroy()` gives the connection back as close(2)
 *   does on Linux: what is queued goes out, then a FIN, or a RST at once when received data was
 *   left unread. `resetAndDestroy()` always sends a RST (node:net's, for the same purpose).
 * - Errors carry Node's codes: ECONNREFUSED, ECONNRESET, ETIMEDOUT (connect and read),
 *   ENOBUFS when the socket table is full, ENOTFOUND for a host that is not an IPv4 address.
 *
 * Where it differs from node:net: there is no name lookup (`host` must be an IPv4 address) and no IPv6;
 * `setKeepAlive`'s initial delay is the stack's keepalive idle time; `ref()`/`unref()` do
 * nothing (the host loop keeps the process alive); `onread` and `fd` are not supported.
 */
import { Duplex } from 'node:stream';
import { NEVER } from '../../time.ts';
import { formatIpv4 } from '../../wire/ipv4.ts';
import { codeOf, netError } from './errors.ts';
import { resolveNetwork, type Network, type Pumped } from './network.ts';
import * as B from './tcp-binding.ts';

export interface SocketConstructorOptions {
  /** Keep the writable side open after the peer's FIN (node:net's option). Defaults to false. */
  allowHalfOpen?: boolean;
  /** The network to use; defaults to the default network. */
  network?: Network;
  /** Readable high-water mark, octets. Defaults to Node's. */
  readableHighWaterMark?: number;
  /** Writable high-water mark, octets. Defaults to Node's. */
  writableHighWaterMark?: number;
}

export interface SocketConnectOptions {
  port: number;
  /** An IPv4 address (no name lookup). Defaults to the interface's peer-less default, '192.0.2.1'. */
  host?: string;
  localPort?: number;
  /** Idle timeout, ms (as `setTimeout`). */
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
}

/** @internal How a Server hands over an accepted connection. */
export interface AcceptedHandle {
  handle: B.TcpSocket;
  onClose: (socket: Socket) => void;
  pauseOnConnect: boolean;
}

const DEFAULT_HOST = '192.0.2.1';

function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  let a = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return null;
    a = (a << 8) | part;
  }
  return a | 0;
}

export class Socket extends Duplex implements Pumped {
  /** Octets received. */
  bytesRead = 0;
  /** True from `connect()` until the connection is established. */
  connecting = false;
  /** The idle timeout set with `setTimeout`, ms (undefined when none). */
  timeout: number | undefined = undefined;

  private net: Network | null;
  private handle: B.TcpSocket | null = null;
  private onServerClose: ((socket: Socket) => void) | null = null;
  /** Octets handed to `_write` (all of each chunk, taken by the ring or not). */
  private handed = 0;
  private pendingChunk: Uint8Array | null = null;
  private pendingOff = 0;
  private pendingCb: ((error?: Error | null) => void) | null = null;
  private wantRead = false;
  private eofPushed = false;
  private closedSeen = false;
  private resetOnDestroy = false;
  private timeoutAt = NEVER;
  private everConnected = false;
  private peer: { address: string; port: number } | null = null;
  private local: { address: string; port: number } | null = null;

  constructor(options: SocketConstructorOptions = {}, accepted?: AcceptedHandle) {
    const duplexOptions: ConstructorParameters<typeof Duplex>[0] = {
      allowHalfOpen: options.allowHalfOpen === true,
      // As net.Socket: 'close' is emitted by hand, with hadError, after the handle is gone.
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
    };
    if (options.readableHighWaterMark !== undefined) duplexOptions.readableHighWaterMark = options.readableHighWaterMark;
    if (options.writableHighWaterMark !== undefined) duplexOptions.writableHighWaterMark = options.writableHighWaterMark;
    super(duplexOptions);
    this.net = options.network ?? null;
    if (accepted !== undefined) {
      this.net = resolveNetwork(options.network);
      this.handle = accepted.handle;
      this.onServerClose = accepted.onClose;
      this.everConnected = true;
      this.noteAddresses();
      // node:net starts reading at once (into the Readable's buffer, up to its high-water mark).
      this.wantRead = !accepted.pauseOnConnect;
      if (accepted.pauseOnConnect) this.pause();
      this.net.add(this);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // node:net's surface

  /**
   * Opens a connection (node:net's `socket.connect(options[, cb])` and `(port[, host][, cb])`).
   * 'connect' and 'ready' follow when it is established.
   */
  connect(options: SocketConnectOptions | number, hostOrCb?: string | (() => void), cb?: () => void): this {
    let opts: SocketConnectOptions;
    let listener: (() => void) | undefined;
    if (typeof options === 'number') {
      opts = { port: options };
      if (typeof hostOrCb === 'string') opts.host = hostOrCb;
      listener = typeof hostOrCb === 'function' ? hostOrCb : cb;
    } else {
      opts = options;
      listener = typeof hostOrCb === 'function' ? hostOrCb : cb;
    }
    if (this.handle !== null || this.connecting) throw new Error('slipstack/net: socket is already connected or connecting');
    const port = opts.port;
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
      const e = new RangeError(`Port should be > 0 and < 65536. Received ${String(port)}.`) as RangeError & { code: string };
      e.code = 'ERR_SOCKET_BAD_PORT';
      throw e;
    }
    const net = resolveNetwork(this.net ?? undefined);
    this.net = net;
    if (listener !== undefined) this.once('connect', listener);
    if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
    const host = opts.host ?? DEFAULT_HOST;
    this.peer = { address: host, port };
    this.connecting = true;
    const addr = parseIpv4(host);
    if (addr === null) {
      process.nextTick(() => this.destroy(netError('ENOTFOUND', 'getaddrinfo', host)));
      return this;
    }
    const handle = B.openConnection(net.tcp, net.now(), addr, port, opts.localPort ?? 0);
    if (handle === null) {
      process.nextTick(() => this.destroy(netError('ENOBUFS', 'connect', host, port)));
      return this;
    }
    this.handle = handle;
    if (opts.noDelay === true) B.setNagle(handle, false);
    if (opts.keepAlive === true) B.setKeepalive(handle, true);
    this.local = { address: formatIpv4(B.localAddr(handle)), port: B.localPort(handle) };
    this.wantRead = true;
    net.add(this);
    return this;
  }

  get remoteAddress(): string | undefined {
    return this.everConnected || this.handle !== null ? this.peer?.address : undefined;
  }

  get remotePort(): number | undefined {
    return this.everConnected || this.handle !== null ? this.peer?.port : undefined;
  }

  get remoteFamily(): string | undefined {
    return this.remoteAddress !== undefined ? 'IPv4' : undefined;
  }

  get localAddress(): string | undefined {
    return this.local?.address;
  }

  get localPort(): number | undefined {
    return this.local?.port;
  }

  get localFamily(): string | undefined {
    return this.local !== null ? 'IPv4' : undefined;
  }

  /** Octets written: handed to the stack plus still queued (node:net counts the same way). */
  get bytesWritten(): number {
    const inFlight = this.pendingChunk !== null ? this.pendingChunk.length : 0;
    return this.handed + this.writableLength - inFlight;
  }

  /** True until the connection is established. */
  get pending(): boolean {
    return !this.everConnected;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    return this.local !== null ? { address: this.local.address, family: 'IPv4', port: this.local.port } : {};
  }

  /** Nagle off (true, the default argument) or on. */
  setNoDelay(noDelay = true): this {
    if (this.handle !== null) B.setNagle(this.handle, !noDelay);
    return this;
  }

  /** Keepalive probes after the stack's idle time (the initial delay is not per socket here). */
  setKeepAlive(enable = false, _initialDelay = 0): this {
    if (this.handle !== null) B.setKeepalive(this.handle, enable);
    return this;
  }

  /**
   * 'timeout' after `ms` of no activity (octets read or written), once, until there is activity
   * again; 0 turns it off. The socket stays open: the application decides.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`The value of "timeout" is out of range. Received ${ms}`);
    this.timeout = ms;
    if (ms === 0) {
      this.timeoutAt = NEVER;
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    if (callback !== undefined) this.once('timeout', callback);
    if (this.net !== null) {
      this.timeoutAt = this.net.now() + Math.floor(ms);
      this.net.wake();
    }
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Ends the writable side, then destroys once it has finished (as node:net). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes with a RST, whatever state the connection is in. */
  resetAndDestroy(): this {
    this.resetOnDestroy = true;
    this.destroy();
    return this;
  }

  // ---------------------------------------------------------------------------------------------
  // stream.Duplex

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.handle === null) {
      callback(netError('EPIPE', 'write'));
      return;
    }
    if (chunk.length === 0) {
      // node:http ends a message with an empty write and waits for its callback.
      callback();
      return;
    }
    this.handed += chunk.length;
    this.pendingChunk = chunk;
    this.pendingOff = 0;
    this.pendingCb = callback;
    this.flushPending();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.handle !== null) {
      B.shutdown(this.handle);
      this.net!.wake();
    }
    callback();
  }

  override _read(_size: number): void {
    if (this.wantRead) return;
    this.wantRead = true;
    this.net?.wake();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.timeoutAt = NEVER;
    const h = this.handle;
    this.handle = null;
    this.connecting = false;
    if (h !== null) {
      // As close(2) on Linux: the core sends what is queued, then a FIN; a RST instead when received
      // data is left unread. resetAndDestroy(): a RST now.
      if (this.resetOnDestroy && !B.isClosed(h)) B.abort(h);
      B.close(h);
      this.net?.wake();
    }
    const pending = this.pendingCb;
    this.pendingChunk = null;
    this.pendingCb = null;
    if (this.net !== null) this.net.remove(this);
    const onClose = this.onServerClose;
    this.onServerClose = null;
    if (pending !== null) pending(error ?? netError('ECANCELED', 'write'));
    callback(error);
    // After 'error' (emitted on the next tick), as net.Socket does once its handle has closed.
    setImmediate(() => {
      this.emit('close', error !== null);
      if (onClose !== null) onClose(this);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Pumped by the Network

  /** @internal */
  pump(now: number): boolean {
    let h = this.handle;
    if (h === null) return false;
    let progress = false;
    if (this.connecting && B.isEstablishedOrLater(h)) {
      this.connecting = false;
      this.everConnected = true;
      this.noteAddresses();
      progress = true;
      this.emit('connect');
      this.emit('ready');
      h = this.handle;
      if (h === null) return true;
    }
    if (this.pendingChunk !== null && this.flushPending()) progress = true;
    if (this.readSome(now)) progress = true;
    h = this.handle;
    if (h === null) return true;
    if (!this.eofPushed && B.remoteClosed(h) && B.recvQueue(h) === 0 && !this.connecting) {
      this.eofPushed = true;
      progress = true;
      this.push(null);
      // As net.Socket: with nothing buffered, 'end' comes now even if nobody reads.
      this.read(0);
      h = this.handle;
      if (h === null) return true;
    }
    if (!this.closedSeen && B.isClosed(h)) {
      this.closedSeen = true;
      progress = true;
      const code = B.error(h);
      if (code !== 0) {
        const syscall = this.connecting || !this.everConnected ? 'connect' : 'read';
        const withPeer = syscall === 'connect';
        this.destroy(netError(codeOf(code), syscall, withPeer ? this.peer?.address : undefined, withPeer ? this.peer?.port : undefined));
        return true;
      }
      if (!this.eofPushed) {
        // Closed with no error and no FIN seen in order (our own abort, or TIME-WAIT ended): end of stream.
        this.eofPushed = true;
        this.push(null);
      }
    }
    if (now >= this.timeoutAt) {
      this.timeoutAt = NEVER;
      progress = true;
      this.emit('timeout');
    }
    return progress;
  }

  /** @internal */
  pumpAt(now: number): number {
    const h = this.handle;
    if (h === null) return NEVER;
    if (this.connecting && B.isEstablishedOrLater(h)) return now;
    if (!this.closedSeen && B.isClosed(h)) return now;
    if (this.pendingChunk !== null && B.sendSpace(h) > 0) return now;
    if (this.wantRead && B.recvQueue(h) > 0) return now;
    if (!this.eofPushed && !this.connecting && B.remoteClosed(h) && B.recvQueue(h) === 0) return now;
    return this.timeoutAt;
  }

  /** @internal */
  shutdownNow(): void {
    this.destroy();
  }

  /** Moves what the ring takes of the waiting chunk; calls its callback when all is taken. */
  private flushPending(): boolean {
    const h = this.handle;
    const chunk = this.pendingChunk;
    if (h === null || chunk === null) return false;
    const net = this.net!;
    const staging = net.staging;
    let off = this.pendingOff;
    let moved = false;
    while (off < chunk.length) {
      const space = B.sendSpace(h);
      if (space <= 0) break;
      let n = chunk.length - off;
      if (n > space) n = space;
      if (n > staging.length) n = staging.length;
      staging.set(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n), 0);
      const taken = B.send(h, staging, 0, n);
      if (taken <= 0) break;
      off += taken;
      moved = true;
    }
    this.pendingOff = off;
    if (!moved) return false;
    if (this.timeout !== undefined && this.timeout > 0) this.timeoutAt = net.now() + this.timeout;
    net.wake();
    if (off === chunk.length) {
      const cb = this.pendingCb!;
      this.pendingChunk = null;
      this.pendingCb = null;
      cb();
    }
    return true;
  }

  /** Copies received octets into Buffers and pushes them while the reader wants more. */
  private readSome(now: number): boolean {
    let progress = false;
    while (this.wantRead) {
      const h = this.handle;
      if (h === null) break;
      const queued = B.recvQueue(h);
      if (queued === 0) break;
      const staging = this.net!.staging;
      const n = B.recv(h, staging, 0, queued < staging.length ? queued : staging.length);
      if (n <= 0) break;
      const chunk = Buffer.allocUnsafe(n);
      chunk.set(n === staging.length ? staging : new Uint8Array(staging.buffer, staging.byteOffset, n), 0);
      this.bytesRead += n;
      if (this.timeout !== undefined && this.timeout > 0) this.timeoutAt = now + this.timeout;
      progress = true;
      this.wantRead = this.push(chunk);
    }
    return progress;
  }

  private noteAddresses(): void {
    const h = this.handle;
    if (h === null) return;
    this.local = { address: formatIpv4(B.localAddr(h)), port: B.localPort(h) };
    this.peer = { address: formatIpv4(B.remoteAddr(h)), port: B.remotePort(h) };
  }
}
