/**
 * Two whole stacks (Interface + TcpStack) over a chosen link, and a bulk-transfer app that
 * moves deterministic data both ways at once and hashes what arrives. Virtual time throughout.
 */
import { Interface } from '../../src/iface/interface.ts';
import type { Device } from '../../src/phy/device.ts';
import { TcpStack, type TcpStackOptions } from '../../src/socket/tcp-stack.ts';
import { TcpState, type TcpSocket } from '../../src/socket/tcp.ts';
import { NEVER, type Pollable } from '../../src/time.ts';
import { HOST_A, HOST_B } from './packets.ts';

export interface StackPair {
  a: Interface;
  b: Interface;
  tcpA: TcpStack;
  tcpB: TcpStack;
}

export function stackPair(devA: Device, devB: Device, tcp: Partial<TcpStackOptions> = {}): StackPair {
  const tcpA = new TcpStack({ sockets: 8, isnKey: [0x11111111, 2, 3, 4], ...tcp });
  const tcpB = new TcpStack({ sockets: 8, isnKey: [0x22222222, 6, 7, 8], ...tcp });
  const a = new Interface({ device: devA, address: HOST_A, tcp: tcpA });
  const b = new Interface({ device: devB, address: HOST_B, tcp: tcpB });
  return { a, b, tcpA, tcpB };
}

/**
 * One endpoint's application: sends `data` (in writes of at most `writeLen`), reads everything
 * the peer sends into `received`, and closes its socket once both are done.
 */
export class BulkEndpoint implements Pollable {
  sock: TcpSocket | null;
  sent = 0;
  readonly received: Uint8Array;
  receivedLen = 0;
  eof = false;
  closed = false;
  error = 0;

  readonly data: Uint8Array;
  readonly writeLen: number;
  private readonly acceptFrom: (() => TcpSocket | null) | null;

  constructor(sock: TcpSocket | null, data: Uint8Array, expectLen: number, writeLen = 65536,
              acceptFrom: (() => TcpSocket | null) | null = null) {
    this.sock = sock;
    this.data = data;
    this.writeLen = writeLen;
    this.acceptFrom = acceptFrom;
    this.received = new Uint8Array(expectLen);
  }

  get done(): boolean {
    return this.closed;
  }

  poll(_now: number): boolean {
    if (this.sock === null && this.acceptFrom !== null) this.sock = this.acceptFrom();
    const s = this.sock;
    if (s === null || this.closed) return false;
    let progress = false;
    while (this.sent < this.data.length) {
      const n = s.send(this.data, this.sent, Math.min(this.writeLen, this.data.length - this.sent));
      if (n <= 0) {
        if (n < 0 && s.state === TcpState.Closed) this.error = s.error;
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
      const room = this.received.length - this.receivedLen;
      const n = s.recv(this.received, this.receivedLen, room > 0 ? room : 0);
      if (n > 0) {
        this.receivedLen += n;
        progress = true;
        continue;
      }
      if (n === 0 && room > 0 && (s.remoteClosed || s.state === TcpState.Closed)) this.eof = true;
      if (n === 0 && room === 0 && s.remoteClosed) this.eof = true;
      if (n < 0 && s.state === TcpState.Closed) {
        this.error = s.error !== 0 ? s.error : n;
        this.eof = true;
      }
      break;
    }
    if (this.eof && (this.sent === this.data.length || this.error !== 0) && !this.closed) {
      s.close();
      this.closed = true;
      progress = true;
    }
    return progress;
  }

  pollAt(_now: number): number {
    return NEVER;
  }

  receivedBytes(): Uint8Array {
    return this.received.subarray(0, this.receivedLen);
  }
}
