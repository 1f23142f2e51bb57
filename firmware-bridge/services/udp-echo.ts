/**
 * UDP echo (RFC 862) on port 7: every datagram goes back to its sender unchanged.
 *
 * A service is a poll step: it moves datagrams from the socket's receive ring to its send ring
 * through one scratch buffer and allocates nothing. A datagram that cannot be queued because the
 * send ring is full waits in the receive ring until the next poll.
 */
import type { Interface } from '../../src/iface/interface.ts';
import { UdpSocket } from '../../src/socket/udp.ts';
import { NEVER } from '../../src/time.ts';
import { UDP_ECHO_BUFFER_LEN } from '../limits.ts';

export interface UdpEchoOptions {
  /** Port to serve. Defaults to 7. */
  port?: number;
  /** Octets of each of the receive and send rings. Defaults to 16384. */
  bufferLen?: number;
}

export class UdpEchoService {
  readonly socket: UdpSocket;
  private readonly iface: Interface;
  /** Datagrams echoed. */
  echoed = 0;
  private readonly scratch: Uint8Array;

  constructor(iface: Interface, options: UdpEchoOptions = {}) {
    const len = options.bufferLen ?? UDP_ECHO_BUFFER_LEN;
    this.socket = new UdpSocket({ rxBuffer: new Uint8Array(len), txBuffer: new Uint8Array(len) });
    this.socket.bind(options.port ?? 7);
    this.iface = iface;
    const handle = iface.addUdpSocket(this.socket);
    if (handle < 0) throw new Error(`udp echo: cannot add a socket on port ${this.socket.port} (error ${handle})`);
    this.scratch = new Uint8Array(this.socket.rx.maxPayload);
  }

  /** Echoes whatever can be echoed now; true if anything moved. */
  poll(_now: number): boolean {
    const sock = this.socket;
    let progress = false;
    while (sock.rx.peek() && sock.canSend(sock.rx.headLen)) {
      const n = sock.recvFrom(this.scratch, 0, this.scratch.length);
      sock.sendTo(this.scratch, 0, n, sock.remoteAddress, sock.remotePort);
      this.echoed++;
      progress = true;
    }
    return progress;
  }

  /** Stops serving: the socket leaves the interface's table. */
  close(): void {
    this.iface.removeUdpSocket(this.socket);
    this.socket.close();
  }

  /** The service has no timers; it runs whenever the interface delivered something. */
  pollAt(_now: number): number {
    return this.socket.canRecv() ? _now : NEVER;
  }
}
