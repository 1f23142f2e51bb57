/**
 * TcpServer: what every small TCP service has in common. It listens on one port, accepts
 * connections into a fixed table of slots (by default as many as the TCP socket table holds),
 * and lets a subclass serve each connection from `poll(now)`.
 *
 * A connection whose peer reset it or that timed out is closed and its slot reused; a service
 * that finishes with a connection calls `release(i)`, which `close()`s the socket (a FIN after
 * whatever is still queued) and gives the socket back to the table once the connection is over.
 * Nothing here allocates after construction.
 */
import type { Interface } from '../../src/iface/interface.ts';
import { socketErrorName } from '../../src/socket/error.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpOwner } from '../../src/socket/tcp/connection.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { NEVER } from '../../src/time.ts';

export interface TcpServerOptions {
  /** Port to listen on. Each service has its own default. */
  port?: number;
  /** Connections served at once. Defaults to the size of the TCP socket table. */
  maxConnections?: number;
  /** Connections the listener holds before they are accepted. Defaults to `maxConnections`. */
  backlog?: number;
}

/** Counters every TCP service keeps. */
export interface TcpServerStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections that ended (closed by either side, reset or timed out). */
  closed: number;
  /** Connections that ended with an error (reset or timeout) rather than a close. */
  errors: number;
}

export abstract class TcpServer {
  readonly iface: Interface;
  readonly tcp: TcpStack;
  readonly port: number;
  /** Listener handle in the TCP stack, or -1 after `close()`. */
  listener: number;
  /** Connection slots; null when free. */
  readonly connections: (TcpSocket | null)[];
  readonly stats: TcpServerStats = { accepted: 0, closed: 0, errors: 0 };

  /**
   * @throws Error when the port cannot be listened on (in use, no listener slot): a start-up failure.
   */
  constructor(name: string, iface: Interface, tcp: TcpStack, defaultPort: number, options: TcpServerOptions) {
    this.iface = iface;
    this.tcp = tcp;
    this.port = options.port ?? defaultPort;
    const slots = options.maxConnections ?? tcp.sockets.length;
    // A burst of SYNs up to the number of slots waits for accept() rather than being reset.
    const handle = tcp.listen(this.port, options.backlog ?? slots);
    if (handle < 0) throw new Error(`${name}: cannot listen on TCP port ${this.port} (${socketErrorName(handle)})`);
    this.listener = handle;
    this.connections = new Array<TcpSocket | null>(slots).fill(null);
  }

  /** Connections open now. */
  get active(): number {
    let n = 0;
    for (let i = 0; i < this.connections.length; i++) if (this.connections[i] !== null) n++;
    return n;
  }

  /** Accepts what waits, serves every connection; true if anything moved. */
  poll(now: number): boolean {
    let progress = this.acceptPending(now);
    const conns = this.connections;
    for (let i = 0; i < conns.length; i++) {
      const sock = conns[i];
      if (sock === null || sock === undefined) continue;
      if (sock.state === TcpState.Closed) {
        // Reset by the peer or timed out: nothing more can move.
        this.stats.errors++;
        this.release(i);
        progress = true;
        continue;
      }
      if (this.serve(now, i, sock)) progress = true;
    }
    return progress;
  }

  /** `now` when `poll` would make progress, else the earliest deadline of a connection, or NEVER. */
  pollAt(now: number): number {
    if (this.listener >= 0 && this.freeSlot() >= 0 && this.hasAcceptable()) return now;
    let t = NEVER;
    const conns = this.connections;
    for (let i = 0; i < conns.length; i++) {
      const sock = conns[i];
      if (sock === null || sock === undefined) continue;
      if (sock.state === TcpState.Closed) return now;
      const at = this.connectionPollAt(now, i, sock);
      if (at < t) t = at;
    }
    return t;
  }

  /** Stops listening and closes every connection (each gets a FIN after its queued data). */
  close(): void {
    if (this.listener >= 0) {
      this.tcp.unlisten(this.listener);
      this.listener = -1;
    }
    for (let i = 0; i < this.connections.length; i++) if (this.connections[i] !== null) this.release(i);
  }

  /** Serves one connection; true if anything moved. */
  protected abstract serve(now: number, index: number, sock: TcpSocket): boolean;

  /** `now` when `serve` would make progress on this connection, else its next deadline or NEVER. */
  protected abstract connectionPollAt(now: number, index: number, sock: TcpSocket): number;

  /** Called when a connection is accepted into slot `index`. */
  protected opened(_now: number, _index: number, _sock: TcpSocket): void {}

  /** Closes slot `index`'s socket (it is the table's again once the connection is over) and frees the slot. */
  protected release(index: number): void {
    const sock = this.connections[index];
    if (sock === null || sock === undefined) return;
    this.connections[index] = null;
    this.stats.closed++;
    sock.close();
  }

  private acceptPending(now: number): boolean {
    if (this.listener < 0) return false;
    let progress = false;
    for (;;) {
      const slot = this.freeSlot();
      if (slot < 0) return progress;
      const sock = this.tcp.accept(this.listener);
      if (sock === null) return progress;
      this.connections[slot] = sock;
      this.stats.accepted++;
      this.opened(now, slot, sock);
      progress = true;
    }
  }

  private freeSlot(): number {
    for (let i = 0; i < this.connections.length; i++) if (this.connections[i] === null) return i;
    return -1;
  }

  private hasAcceptable(): boolean {
    const sockets = this.tcp.sockets;
    for (let i = 0; i < sockets.length; i++) {
      const s = sockets[i]!;
      if (s.owner === TcpOwner.AcceptQueue && s.listener === this.listener) return true;
    }
    return false;
  }
}
