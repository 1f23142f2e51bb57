/**
 * UDP sockets: whole datagrams in fixed rings, no allocation.
 *
 * A socket is bound to a local port. Received datagrams wait in its receive ring with the
 * sender's address and port; `sendTo` queues a datagram in the send ring and the interface
 * emits it on its next `poll`. A datagram that does not fit a ring is refused (send) or dropped
 * and counted (receive): UDP promises nothing more (RFC 768). `UdpSocketSet` is the fixed
 * table the interface demultiplexes into, one socket per local port.
 */
import { DatagramRing } from './datagram-ring.ts';
import { DatagramSocketSet } from './datagram-set.ts';
import { SocketError } from './error.ts';

export interface UdpSocketOptions {
  /** Receive ring storage; its size bounds the datagrams waiting to be read (8 octets of metadata each). */
  rxBuffer: Uint8Array;
  /** Send ring storage. */
  txBuffer: Uint8Array;
}

export interface UdpSocketStats {
  /** Datagrams delivered to the receive ring. */
  recv: number;
  /** Datagrams dropped because the receive ring was full. */
  rxDropFull: number;
  /** Datagrams queued by sendTo. */
  queued: number;
  /** Datagrams handed to the interface for transmission. */
  sent: number;
  /** Datagrams the interface could not send (no slot, too big with DF): counted and dropped. */
  txDrop: number;
}

export class UdpSocket {
  /** Local port, 0 when unbound. */
  port = 0;
  /** Set the DF bit on sent datagrams (larger ones are then refused instead of fragmented). */
  dontFragment = false;
  /** Time to live for sent datagrams. Defaults to 64. */
  ttl = 64;
  readonly rx: DatagramRing;
  readonly tx: DatagramRing;
  readonly stats: UdpSocketStats = { recv: 0, rxDropFull: 0, queued: 0, sent: 0, txDrop: 0 };
  /** Sender of the datagram returned by the last `recvFrom`. */
  remoteAddress = 0;
  remotePort = 0;

  constructor(options: UdpSocketOptions) {
    this.rx = new DatagramRing(options.rxBuffer);
    this.tx = new DatagramRing(options.txBuffer);
  }

  /** Binds to a local port (1..65535). `UdpSocketSet.add` refuses a port already taken. */
  bind(port: number): number {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return SocketError.Invalid;
    this.port = port;
    return 0;
  }

  /** Unbinds and drops everything queued. */
  close(): void {
    this.port = 0;
    this.rx.clear();
    this.tx.clear();
  }

  /** True if a datagram is waiting. */
  canRecv(): boolean {
    return this.rx.count > 0;
  }

  /** True if a datagram of `len` octets can be queued now. */
  canSend(len: number): boolean {
    return this.tx.fits(len);
  }

  /**
   * Takes the next datagram: copies up to `len` octets of it into `dst[off..]` (the rest of a
   * longer datagram is discarded, as recvfrom(2) does), sets remoteAddress/remotePort, and
   * returns the datagram's full length, or SocketError.WouldBlock if none is waiting.
   */
  recvFrom(dst: Uint8Array, off: number, len: number): number {
    const rx = this.rx;
    if (!rx.peek()) return SocketError.WouldBlock;
    rx.readPayload(dst, off, len);
    const full = rx.headLen;
    this.remoteAddress = rx.headAddress;
    this.remotePort = rx.headPort;
    rx.pop();
    return full;
  }

  /**
   * Queues `src[off..off+len)` for `address:port`. Returns `len`, SocketError.WouldBlock when
   * the send ring is full now, MessageTooBig when it could never fit, NotBound when unbound.
   */
  sendTo(src: Uint8Array, off: number, len: number, address: number, port: number): number {
    if (this.port === 0) return SocketError.NotBound;
    if (port < 1 || port > 0xffff || len < 0) return SocketError.Invalid;
    if (len > this.tx.maxPayload || len > 65507) return SocketError.MessageTooBig;
    if (!this.tx.push(address, port, src, off, len)) return SocketError.WouldBlock;
    this.stats.queued++;
    return len;
  }

  /** Interface side: stores a received datagram; false (counted) when the ring is full. */
  deliver(src: Uint8Array, off: number, len: number, fromAddress: number, fromPort: number): boolean {
    if (!this.rx.push(fromAddress, fromPort, src, off, len)) {
      this.stats.rxDropFull++;
      return false;
    }
    this.stats.recv++;
    return true;
  }
}

/** The UDP socket table: one socket per local port, sized once. */
export class UdpSocketSet extends DatagramSocketSet<UdpSocket> {
  protected keyOf(socket: UdpSocket): number {
    return socket.port;
  }
}
