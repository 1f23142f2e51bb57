/**
 * DatagramSocketSet: a fixed table of datagram sockets, each owning one 16-bit key (a UDP
 * local port, an ICMP echo identifier).
 *
 * The table is sized once at construction; a handle is the index of an entry. `add` refuses an
 * unbound socket, a key already taken and a full table with a SocketError; `find` is the
 * demultiplexer the interface runs for every received datagram. Nothing allocates after
 * construction. Like TcpStack for TCP, the table belongs to the socket layer and knows nothing
 * of the interface that walks it.
 */
import type { DatagramRing } from './datagram-ring.ts';
import { SocketError } from './error.ts';

/** What a table needs of its sockets: the send ring the interface drains. */
export interface DatagramSocket {
  readonly tx: DatagramRing;
}

export abstract class DatagramSocketSet<T extends DatagramSocket> {
  private readonly table: (T | null)[];

  /** @param size  entries in the table, fixed for its lifetime */
  constructor(size: number) {
    this.table = new Array<T | null>(size).fill(null);
  }

  /** Entries in the table, used or not. */
  get size(): number {
    return this.table.length;
  }

  /** Entries in use. */
  get used(): number {
    let n = 0;
    for (let i = 0; i < this.table.length; i++) if (this.table[i] !== null) n++;
    return n;
  }

  /** The socket in entry `handle`, or null when the entry is free. */
  at(handle: number): T | null {
    return this.table[handle] ?? null;
  }

  /**
   * Puts a bound socket in the first free entry. Returns its handle, or SocketError.NotBound
   * (key 0), AddressInUse (the socket or its key is already in the table) or WouldBlock (full).
   */
  add(socket: T): number {
    const key = this.keyOf(socket);
    if (key === 0) return SocketError.NotBound;
    let free = -1;
    for (let i = 0; i < this.table.length; i++) {
      const s = this.table[i]!;
      if (s === null) {
        if (free < 0) free = i;
      } else if (s === socket || this.keyOf(s) === key) {
        return SocketError.AddressInUse;
      }
    }
    if (free < 0) return SocketError.WouldBlock;
    this.table[free] = socket;
    return free;
  }

  /** Takes `socket` out of the table (nothing happens if it is not there). */
  remove(socket: T): void {
    for (let i = 0; i < this.table.length; i++) if (this.table[i] === socket) this.table[i] = null;
  }

  /** The socket whose key is `key` now, or null. */
  find(key: number): T | null {
    for (let i = 0; i < this.table.length; i++) {
      const s = this.table[i]!;
      if (s !== null && this.keyOf(s) === key) return s;
    }
    return null;
  }

  /** True if any socket has a datagram queued in its send ring. */
  hasQueuedOutput(): boolean {
    for (let i = 0; i < this.table.length; i++) {
      const s = this.table[i]!;
      if (s !== null && s.tx.count > 0) return true;
    }
    return false;
  }

  /** The socket's key as it is now (0 when unbound). */
  protected abstract keyOf(socket: T): number;
}
