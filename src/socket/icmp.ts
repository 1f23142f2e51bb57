/**
 * ICMP echo sockets: send echo requests and collect the replies (what `ping` needs).
 *
 * A socket owns one echo identifier. `sendEcho` queues a request (the payload is the caller's,
 * for example a send timestamp); replies carrying the identifier land in the receive ring with
 * the sender and sequence number. Requests addressed to this host are answered by the interface
 * itself and never reach a socket. `IcmpSocketSet` is the fixed table the interface hands
 * replies to, one socket per identifier.
 */
import { DatagramRing } from './datagram-ring.ts';
import { DatagramSocketSet } from './datagram-set.ts';
import { SocketError } from './error.ts';

export interface IcmpSocketOptions {
  rxBuffer: Uint8Array;
  txBuffer: Uint8Array;
}

export class IcmpSocket {
  /** Echo identifier this socket owns (1..65535); 0 when unbound. */
  ident = 0;
  readonly rx: DatagramRing;
  readonly tx: DatagramRing;
  /** Sender and sequence number of the reply returned by the last `recvEcho`. */
  remoteAddress = 0;
  seqNo = 0;
  readonly stats = { sent: 0, recv: 0, rxDropFull: 0, txDrop: 0 };

  constructor(options: IcmpSocketOptions) {
    this.rx = new DatagramRing(options.rxBuffer);
    this.tx = new DatagramRing(options.txBuffer);
  }

  bind(ident: number): number {
    if (!Number.isInteger(ident) || ident < 1 || ident > 0xffff) return SocketError.Invalid;
    this.ident = ident;
    return 0;
  }

  close(): void {
    this.ident = 0;
    this.rx.clear();
    this.tx.clear();
  }

  canRecv(): boolean {
    return this.rx.count > 0;
  }

  /** Queues an echo request with sequence number `seqNo` and payload `src[off..off+len)`. Returns len or a SocketError. */
  sendEcho(address: number, seqNo: number, src: Uint8Array, off: number, len: number): number {
    if (this.ident === 0) return SocketError.NotBound;
    if (len > this.tx.maxPayload || len > 65507 - 8) return SocketError.MessageTooBig;
    if (!this.tx.push(address, seqNo & 0xffff, src, off, len)) return SocketError.WouldBlock;
    return len;
  }

  /** Takes the next reply: copies up to `len` payload octets, sets remoteAddress/seqNo, returns the payload length or WouldBlock. */
  recvEcho(dst: Uint8Array, off: number, len: number): number {
    const rx = this.rx;
    if (!rx.peek()) return SocketError.WouldBlock;
    rx.readPayload(dst, off, len);
    const full = rx.headLen;
    this.remoteAddress = rx.headAddress;
    this.seqNo = rx.headPort;
    rx.pop();
    return full;
  }

  /** Interface side: stores a received echo reply. */
  deliver(src: Uint8Array, off: number, len: number, fromAddress: number, seqNo: number): boolean {
    if (!this.rx.push(fromAddress, seqNo, src, off, len)) {
      this.stats.rxDropFull++;
      return false;
    }
    this.stats.recv++;
    return true;
  }
}

/** The ICMP echo socket table: one socket per echo identifier, sized once. */
export class IcmpSocketSet extends DatagramSocketSet<IcmpSocket> {
  protected keyOf(socket: IcmpSocket): number {
    return socket.ident;
  }
}
