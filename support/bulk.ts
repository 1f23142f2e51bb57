/**
 * BulkEndpoint: one end of a TCP bulk transfer, written as an application on the socket API.
 * It sends `data` (in writes of at most `writeLen`) and then a FIN, takes everything the peer
 * sends (counting it, hashing it with SHA-256 and keeping the first `keep` octets), and closes
 * its socket once both directions are done. It is an active opener (a socket given) or the
 * accepting end (`accept` polled until it yields a socket).
 *
 * One definition for the virtual-time tests (network simulation, services, xfer) and the
 * hardware suite (real lines); harness code, so it may allocate and use node:crypto.
 */
import { createHash, type Hash } from 'node:crypto';
import { SocketError } from '../src/socket/error.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { TcpState } from '../src/socket/tcp/state.ts';
import { NEVER, type Pollable } from '../src/time.ts';

export interface BulkEndpointOptions {
  /** Octets of what arrives kept in `received`, from the start; the rest is counted and hashed only. Defaults to 0. */
  keep?: number;
  /** Most octets offered to one `send` call. Defaults to 65536. */
  writeLen?: number;
  /** For the accepting end (no socket yet): polled until it returns one, e.g. a listener's accept. Defaults to none. */
  accept?: (() => TcpSocket | null) | null;
  /** Called after every poll that moved something (progress reports). Defaults to none. */
  onProgress?: (() => void) | null;
}

/** Octets read per `recv` once the kept prefix is full. */
const SCRATCH_LEN = 16 * 1024;

export class BulkEndpoint implements Pollable {
  /** The connection, or null until `accept` yields one. */
  sock: TcpSocket | null;
  /** Octets of `data` the socket has taken. */
  sent = 0;
  /** Octets received in all. */
  receivedLen = 0;
  /** The first `keep` octets received (see `receivedBytes`). */
  readonly received: Uint8Array;
  /** The peer closed its direction (or the connection ended). */
  eof = false;
  /** This end has closed its socket: the transfer is over. */
  closed = false;
  /** The socket error that ended the transfer, or 0. */
  error = 0;
  readonly data: Uint8Array;
  readonly writeLen: number;

  private readonly accept: (() => TcpSocket | null) | null;
  private readonly onProgress: (() => void) | null;
  private readonly hash: Hash = createHash('sha256');
  private digest: string | null = null;
  private readonly scratch = new Uint8Array(SCRATCH_LEN);

  constructor(sock: TcpSocket | null, data: Uint8Array, options: BulkEndpointOptions = {}) {
    this.sock = sock;
    this.data = data;
    this.received = new Uint8Array(options.keep ?? 0);
    this.writeLen = options.writeLen ?? 65536;
    this.accept = options.accept ?? null;
    this.onProgress = options.onProgress ?? null;
  }

  /** True once the socket is closed: everything sent, and the peer's data read to its end (or an error). */
  get done(): boolean {
    return this.closed;
  }

  /** The kept prefix of what arrived: the first min(receivedLen, keep) octets. A view, not a copy. */
  receivedBytes(): Uint8Array {
    return this.received.subarray(0, Math.min(this.receivedLen, this.received.length));
  }

  /** SHA-256 (hex) of everything received; final once `done`. */
  receivedSha256(): string {
    if (this.digest === null) this.digest = this.hash.digest('hex');
    return this.digest;
  }

  poll(_now: number): boolean {
    if (this.sock === null && this.accept !== null) this.sock = this.accept();
    const s = this.sock;
    if (s === null || this.closed) return false;
    let progress = false;
    while (this.sent < this.data.length) {
      const n = s.send(this.data, this.sent, Math.min(this.writeLen, this.data.length - this.sent));
      if (n <= 0) {
        if (n < 0 && n !== SocketError.WouldBlock && s.state === TcpState.Closed) this.error = s.error || n;
        break;
      }
      this.sent += n;
      progress = true;
    }
    if (this.sent === this.data.length && !s.finQueued && s.state !== TcpState.Closed) {
      s.shutdown();
      progress = true;
    }
    for (;;) {
      const kept = this.receivedLen < this.received.length;
      const dst = kept ? this.received : this.scratch;
      const off = kept ? this.receivedLen : 0;
      const n = s.recv(dst, off, dst.length - off);
      if (n > 0) {
        this.hash.update(dst.subarray(off, off + n));
        this.receivedLen += n;
        progress = true;
        continue;
      }
      // 0: the peer's FIN, everything read; WouldBlock: nothing yet; anything else: the error that ended it.
      if (n === 0) this.eof = true;
      else if (n !== SocketError.WouldBlock) {
        this.error = n;
        this.eof = true;
      }
      break;
    }
    if (this.eof && (this.sent === this.data.length || this.error !== 0) && !this.closed) {
      s.close();
      this.closed = true;
      progress = true;
    }
    if (progress) this.onProgress?.();
    return progress;
  }

  /** Driven by the socket alone: the stack's own deadlines wake it. */
  pollAt(_now: number): number {
    return NEVER;
  }
}
