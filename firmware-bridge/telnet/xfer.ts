/**
 * The shell's `xfer <ip> <port> <octets>`: the device connects out. It opens a TCP connection to
 * ip:port, sends `octets` of a deterministic pattern, half-closes (FIN after the data), reads
 * everything the peer sends until its FIN, and prints what went each way with its SHA-256:
 *
 *   xfer: connecting to 192.0.2.1 port 5555, sending 5242880 octets
 *   sent 5242880 octets sha256 <64 hex digits>
 *   received 5242880 octets sha256 <64 hex digits>
 *   xfer: 10485760 octets in 1.234 s
 *
 * "sent" is printed only once the peer has acknowledged everything including our FIN (the
 * socket reached TIME-WAIT, or CLOSED without error after LAST-ACK). A reset, refusal or
 * timeout prints `xfer: <reason> after N octets sent, M received`; Ctrl-C aborts the connection
 * (RST) and prints `^C` and `xfer: interrupted after N octets sent, M received`. There N counts
 * only the octets the peer acknowledged. A run still going after XFER_MAX_DURATION_MS (limits.ts,
 * an hour) is reset the same way and prints `xfer: time limit of S s reached after ...`.
 *
 * The pattern (XFER_SEED, `xferPattern`): the words of xorshift32 (x ^= x << 13; x ^= x >>> 17;
 * x ^= x << 5, each step's x is the next word) started from x = 0x5eed, each word written
 * little-endian (src/random.ts `Xorshift32.fillWords`); N octets are the first N octets of that
 * stream (the last word cut short when N is not a multiple of 4). A peer can regenerate it to
 * check what arrived.
 *
 * Like `ping`, it runs across polls: `poll(now)` moves what it can and `pollAt(now)` says when it
 * can move again. One XferRun (and its two small buffers) belongs to one session and is reused
 * for every transfer it runs; the hashing uses node:crypto (the shell is an application above
 * the core, so it may allocate).
 */
import { createHash, type Hash } from 'node:crypto';
import { Xorshift32 } from '../../src/random.ts';
import { SocketError } from '../../src/socket/error.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { NEVER } from '../../src/time.ts';
import { formatIpv4 } from '../../src/wire/ipv4.ts';
import { XFER_CHUNK_LEN, XFER_MAX_DURATION_MS, XFER_RX_LEN } from '../limits.ts';
import type { TextSink } from './ping.ts';

/** The xorshift32 state the pattern starts from. */
export const XFER_SEED = 0x5eed;

/** The first `len` octets of the transfer pattern (for tests and peers that check). */
export function xferPattern(len: number): Uint8Array {
  const words = (len + 3) >>> 2;
  const out = new Uint8Array(words * 4);
  new Xorshift32(XFER_SEED).fillWords(out, 0, words);
  return out.subarray(0, len);
}

function reason(code: number): string {
  switch (code) {
    case SocketError.ConnectionRefused: return 'connection refused';
    case SocketError.ConnectionReset: return 'connection reset by peer';
    case SocketError.TimedOut: return 'connection timed out';
    default: return `connection failed (error ${code})`;
  }
}

export class XferRun {
  running = false;
  /** Runs ended at the time limit. */
  timeLimited = 0;
  private readonly tcp: TcpStack;
  private readonly chunk = new Uint8Array(XFER_CHUNK_LEN);
  private readonly rxBuf = new Uint8Array(XFER_RX_LEN);
  private sock: TcpSocket | null = null;
  private total = 0;
  private sent = 0;
  private received = 0;
  private readonly pattern = new Xorshift32(XFER_SEED);
  private chunkPos = XFER_CHUNK_LEN;
  private eof = false;
  private startedAt = 0;
  private txHash: Hash | null = null;
  private rxHash: Hash | null = null;

  private readonly maxDurationMs: number;

  /** @param maxDurationMs longest run, ms (defaults to XFER_MAX_DURATION_MS) */
  constructor(tcp: TcpStack, maxDurationMs = XFER_MAX_DURATION_MS) {
    this.tcp = tcp;
    this.maxDurationMs = maxDurationMs;
  }

  /**
   * Connects to address:port to send `octets`. Prints the first line; returns false (printing
   * why) when no TCP socket is free.
   */
  start(now: number, address: number, port: number, octets: number, out: TextSink): boolean {
    this.stop();
    const sock = this.tcp.connect(now, address, port);
    if (sock === null) {
      out.writeText('xfer: no free TCP socket on this device, try again later\n');
      return false;
    }
    this.sock = sock;
    this.total = octets;
    this.sent = 0;
    this.received = 0;
    this.pattern.reset(XFER_SEED);
    this.chunkPos = XFER_CHUNK_LEN;
    this.eof = false;
    this.startedAt = now;
    this.txHash = createHash('sha256');
    this.rxHash = createHash('sha256');
    this.running = true;
    out.writeText(`xfer: connecting to ${formatIpv4(address)} port ${port}, sending ${octets} octets\n`);
    return true;
  }

  /** Sends what fits, reads what arrived, ends the run when both directions are done; true if anything happened. */
  poll(now: number, out: TextSink): boolean {
    const sock = this.sock;
    if (!this.running || sock === null) return false;
    let progress = false;

    if (now - this.startedAt >= this.maxDurationMs) {
      this.timeLimited++;
      out.writeText(`xfer: time limit of ${Math.round(this.maxDurationMs / 1000)} s reached after ${this.acked()} octets sent, ` +
        `${this.received} received\n`);
      this.stop();
      return true;
    }

    // Send: the pattern, then a FIN once all of it is queued.
    while (this.sent < this.total) {
      if (this.chunkPos === XFER_CHUNK_LEN) {
        this.pattern.fillWords(this.chunk, 0, XFER_CHUNK_LEN >>> 2);
        this.chunkPos = 0;
      }
      const want = Math.min(XFER_CHUNK_LEN - this.chunkPos, this.total - this.sent);
      const n = sock.send(this.chunk, this.chunkPos, want);
      if (n <= 0) break;
      this.txHash!.update(this.chunk.subarray(this.chunkPos, this.chunkPos + n));
      this.chunkPos += n;
      this.sent += n;
      progress = true;
    }
    if (this.sent === this.total && !sock.finQueued && sock.state !== TcpState.Closed) {
      sock.shutdown();
      progress = true;
    }

    // Receive until the peer's FIN.
    while (!this.eof) {
      const n = sock.recv(this.rxBuf, 0, this.rxBuf.length);
      if (n > 0) {
        this.rxHash!.update(this.rxBuf.subarray(0, n));
        this.received += n;
        progress = true;
        continue;
      }
      if (n === 0 && sock.remoteClosed) {
        this.eof = true;
        progress = true;
      }
      break;
    }

    // The connection failed (refused, reset, timed out).
    if (sock.state === TcpState.Closed && sock.error !== 0) {
      out.writeText(`xfer: ${reason(sock.error)} after ${this.acked()} octets sent, ${this.received} received\n`);
      this.stop();
      return true;
    }
    // Done: everything sent and acknowledged (our FIN too), everything received.
    if (this.eof && this.sent === this.total &&
        (sock.state === TcpState.TimeWait || (sock.state === TcpState.Closed && sock.error === 0))) {
      this.finish(now, out);
      return true;
    }
    // The peer closed without its FIN in order and the socket is gone otherwise: nothing more can come.
    if (sock.state === TcpState.Closed) {
      out.writeText(`xfer: connection closed after ${this.acked()} octets sent, ${this.received} received\n`);
      this.stop();
      return true;
    }
    return progress;
  }

  pollAt(now: number): number {
    const sock = this.sock;
    if (!this.running || sock === null) return NEVER;
    if (sock.state === TcpState.Closed || sock.state === TcpState.TimeWait) return now;
    if (this.sent < this.total && sock.sendSpace > 0) return now;
    if (this.sent === this.total && !sock.finQueued) return now;
    if (!this.eof && sock.readable) return now;
    // Everything else waits for segments (which wake the host loop), the socket's own timers, or the time limit.
    return this.startedAt + this.maxDurationMs;
  }

  /** Ctrl-C: resets the connection and prints how far it got. */
  interrupt(_now: number, out: TextSink): void {
    if (!this.running) return;
    out.writeText(`^C\nxfer: interrupted after ${this.acked()} octets sent, ${this.received} received\n`);
    this.stop();
  }

  /** Ends the run without printing; a connection still open is reset. */
  stop(): void {
    const sock = this.sock;
    if (sock !== null) {
      const s = sock.state;
      if (s !== TcpState.Closed && s !== TcpState.TimeWait) sock.abort();
      // Back to the table (at once when CLOSED, after TIME-WAIT or the RST otherwise).
      sock.close();
    }
    this.sock = null;
    this.running = false;
    this.txHash = null;
    this.rxHash = null;
  }

  /** Octets of the pattern the peer has acknowledged (what left the send ring). */
  private acked(): number {
    const sock = this.sock;
    if (sock === null) return this.sent;
    const unacked = sock.sendQueue;
    return unacked < this.sent ? this.sent - unacked : 0;
  }

  private finish(now: number, out: TextSink): void {
    const secs = ((now - this.startedAt) / 1000).toFixed(3);
    out.writeText(`sent ${this.sent} octets sha256 ${this.txHash!.digest('hex')}\n`);
    out.writeText(`received ${this.received} octets sha256 ${this.rxHash!.digest('hex')}\n`);
    out.writeText(`xfer: ${this.sent + this.received} octets in ${secs} s\n`);
    this.stop();
  }
}
