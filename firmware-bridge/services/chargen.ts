/**
 * TCP character generator (RFC 864) on port 19: a stream of 72-character lines, each CR LF
 * terminated, cut from the 95 printable ASCII characters (0x20 space .. 0x7e tilde); line n
 * starts with the character after the one line n-1 started with, wrapping after tilde.
 *
 * The stream repeats every 95 lines (95 x 74 = 7030 octets), so the whole period is built once at
 * construction and each connection keeps only its offset into it: sending is one copy from that
 * table into the send ring, as much as `sendSpace` allows on every poll. Anything the peer sends
 * is read and thrown away (RFC 864). The peer closing its side (a FIN, as `nc < /dev/null`
 * sends at once) does not stop the stream: RFC 864 sends "until the calling user terminates the
 * connection", and inetd's chargen goes on too. It stops when the peer resets the connection
 * (its reader went away) or a send fails.
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { NEVER } from '../../src/time.ts';
import { CHARGEN_SCRATCH_LEN } from '../limits.ts';
import { TcpServer, type TcpServerOptions } from './tcp-server.ts';

/** Characters of text per line. */
export const CHARGEN_LINE_CHARS = 72;
/** Octets per line, CR LF included. */
export const CHARGEN_LINE_LEN = CHARGEN_LINE_CHARS + 2;
/** Printable ASCII characters, 0x20 .. 0x7e. */
const PRINTABLE = 95;
/** Octets after which the stream repeats. */
export const CHARGEN_PERIOD = PRINTABLE * CHARGEN_LINE_LEN;

/**
 * Writes line `line` (0-based; only `line mod 95` matters) of the RFC 864 stream, CR LF included,
 * into `dst[off .. off + 74)`.
 */
export function chargenLine(line: number, dst: Uint8Array, off: number): void {
  const first = line % PRINTABLE;
  for (let i = 0; i < CHARGEN_LINE_CHARS; i++) dst[off + i] = 0x20 + ((first + i) % PRINTABLE);
  dst[off + CHARGEN_LINE_CHARS] = 0x0d;
  dst[off + CHARGEN_LINE_CHARS + 1] = 0x0a;
}

export type ChargenOptions = TcpServerOptions;

export class ChargenService extends TcpServer {
  /** Octets queued for sending, all connections since start. */
  generated = 0;
  /** One period of the stream. */
  private readonly period: Uint8Array;
  /** Per connection slot: offset in `period` of the next octet to send. */
  private readonly offsets: Int32Array;
  private readonly scratch = new Uint8Array(CHARGEN_SCRATCH_LEN);

  /** Listens on `options.port` (default 19). */
  constructor(iface: Interface, tcp: TcpStack, options: ChargenOptions = {}) {
    super('chargen', iface, tcp, 19, options);
    this.period = new Uint8Array(CHARGEN_PERIOD);
    for (let line = 0; line < PRINTABLE; line++) chargenLine(line, this.period, line * CHARGEN_LINE_LEN);
    this.offsets = new Int32Array(this.connections.length);
  }

  protected override opened(_now: number, index: number, _sock: TcpSocket): void {
    this.offsets[index] = 0;
  }

  protected serve(_now: number, index: number, sock: TcpSocket): boolean {
    let progress = false;
    // RFC 864: "Any data received is thrown away."
    while (sock.recvQueue > 0) {
      if (sock.recv(this.scratch, 0, this.scratch.length) <= 0) break;
      progress = true;
    }
    // A FIN from the peer only closes its direction: keep generating (RFC 864).
    let at = this.offsets[index]!;
    for (;;) {
      const space = sock.sendSpace;
      if (space === 0) break;
      const run = CHARGEN_PERIOD - at;
      const n = sock.send(this.period, at, space < run ? space : run);
      if (n < 0) {
        // The connection can no longer send (closed, reset): done with it.
        this.release(index);
        return true;
      }
      if (n === 0) break;
      this.generated += n;
      at += n;
      if (at === CHARGEN_PERIOD) at = 0;
      progress = true;
    }
    this.offsets[index] = at;
    return progress;
  }

  protected connectionPollAt(now: number, _index: number, sock: TcpSocket): number {
    return sock.recvQueue > 0 || sock.sendSpace > 0 ? now : NEVER;
  }
}
