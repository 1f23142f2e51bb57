/**
 * TCP echo (RFC 862) on port 7: every octet received goes back to the sender.
 *
 * Per poll and connection, the service moves at most `sendSpace` octets from the receive ring
 * to the send ring through one scratch buffer shared by all connections, so it never holds data
 * of its own and allocates nothing. When the peer has closed and everything received has been
 * echoed, the connection is closed: our FIN follows the last echoed octet.
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { NEVER } from '../../src/time.ts';
import { SERVICE_SCRATCH_LEN } from '../limits.ts';
import { TcpServer, type TcpServerOptions } from './tcp-server.ts';

export interface TcpEchoOptions extends TcpServerOptions {
  /** Octets of the scratch buffer (the most moved per call). Defaults to 4096. */
  scratchLen?: number;
}

export class TcpEchoService extends TcpServer {
  /** Octets echoed, all connections. */
  echoed = 0;
  private readonly scratch: Uint8Array;

  /** Listens on `options.port` (default 7). */
  constructor(iface: Interface, tcp: TcpStack, options: TcpEchoOptions = {}) {
    super('tcp echo', iface, tcp, 7, options);
    this.scratch = new Uint8Array(options.scratchLen ?? SERVICE_SCRATCH_LEN);
  }

  protected serve(_now: number, index: number, sock: TcpSocket): boolean {
    const scratch = this.scratch;
    let progress = false;
    while (sock.recvQueue > 0) {
      // Take only what can be queued again at once, so nothing waits here.
      const space = sock.sendSpace;
      if (space === 0) return progress;
      const n = sock.recv(scratch, 0, space < scratch.length ? space : scratch.length);
      if (n <= 0) return progress;
      sock.send(scratch, 0, n);
      this.echoed += n;
      progress = true;
    }
    // RFC 862: the connection ends when the peer closes; everything received has been echoed.
    if (sock.remoteClosed) {
      this.release(index);
      return true;
    }
    return progress;
  }

  protected connectionPollAt(now: number, _index: number, sock: TcpSocket): number {
    if (sock.recvQueue > 0) return sock.sendSpace > 0 ? now : NEVER;
    return sock.remoteClosed ? now : NEVER;
  }
}
