/**
 * TCP discard (RFC 863) on port 9: everything received is thrown away and counted.
 *
 * Received octets are read into one scratch buffer shared by all connections (so the window
 * reopens) and only counted. When the peer closes, the connection is closed too.
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { NEVER } from '../../src/time.ts';
import { SERVICE_SCRATCH_LEN } from '../limits.ts';
import { TcpServer, type TcpServerOptions } from './tcp-server.ts';

export interface DiscardOptions extends TcpServerOptions {
  /** Octets of the scratch buffer (the most read per call). Defaults to 4096. */
  scratchLen?: number;
}

export class DiscardService extends TcpServer {
  /** Octets discarded, all connections since start. */
  discarded = 0;
  private readonly scratch: Uint8Array;

  /** Listens on `options.port` (default 9). */
  constructor(iface: Interface, tcp: TcpStack, options: DiscardOptions = {}) {
    super('discard', iface, tcp, 9, options);
    this.scratch = new Uint8Array(options.scratchLen ?? SERVICE_SCRATCH_LEN);
  }

  protected serve(_now: number, index: number, sock: TcpSocket): boolean {
    const scratch = this.scratch;
    let progress = false;
    while (sock.recvQueue > 0) {
      const n = sock.recv(scratch, 0, scratch.length);
      if (n <= 0) break;
      this.discarded += n;
      progress = true;
    }
    // RFC 863: the connection lasts until the peer closes it.
    if (sock.remoteClosed && sock.recvQueue === 0) {
      this.release(index);
      return true;
    }
    return progress;
  }

  protected connectionPollAt(now: number, _index: number, sock: TcpSocket): number {
    return sock.recvQueue > 0 || sock.remoteClosed ? now : NEVER;
  }
}
