/**
 * The shell's `ping`: ICMP echo requests from the device, one per interval, through an
 * IcmpSocket, with replies printed as they arrive and a summary at the end, worded like Linux
 * iputils ping. It runs across polls: `poll(now)` sends what is due and prints what arrived,
 * `pollAt(now)` gives the next send or the end of the wait for the last reply.
 *
 * Like iputils, each request carries its send time in its first 8 payload octets, so a reply's
 * round-trip time needs no table. One PingRun (socket, rings, buffers) belongs to one session
 * and is reused for every ping it runs; its socket is in the interface's ICMP table only while
 * a ping runs.
 */
import type { Interface } from '../../src/iface/interface.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import { NEVER } from '../../src/time.ts';
import { PING_MAX_COUNT, PING_MAX_DATA_LEN, PING_SEEN_WINDOW } from '../limits.ts';
import { formatPingReply, formatPingStart, formatPingSummary, type PingSummary } from './format.ts';

/** Where output goes (the session). */
export interface TextSink {
  writeText(text: string): void;
}

export interface PingSettings {
  /** Between requests, ms (iputils: 1000). */
  intervalMs: number;
  /** How long to wait for replies after the last request of a counted ping, ms. */
  lingerMs: number;
  /** Payload octets per request (iputils: 56). At least 8. */
  dataLen: number;
}

export const DEFAULT_PING_SETTINGS: Readonly<PingSettings> = Object.freeze({ intervalMs: 1000, lingerMs: 2000, dataLen: 56 });


export class PingRun {
  readonly socket: IcmpSocket;
  running = false;
  private readonly iface: Interface;
  private readonly settings: PingSettings;
  private readonly ident: number;
  private readonly payload: Uint8Array;
  private readonly payloadView: DataView;
  private readonly reply: Uint8Array;
  private readonly replyView: DataView;
  /** 1 when the reply to sequence number (index mod PING_SEEN_WINDOW) has been seen. */
  private readonly seen = new Uint8Array(PING_SEEN_WINDOW);
  private readonly summary: PingSummary = {
    address: 0, transmitted: 0, received: 0, duplicates: 0, errors: 0, elapsedMs: 0,
    rttMinMs: 0, rttMaxMs: 0, rttSumMs: 0, rttSumSquaresMs: 0,
  };
  private count = 0;
  /** This run's payload octets and interval (-s, -i; the settings' unless given). */
  private dataLen = 0;
  private intervalMs = 0;
  private startedAt = 0;
  private nextSendAt = NEVER;
  private lastSentAt = 0;

  /** @param ident the ICMP echo identifier this run's socket owns (1..65535, unique on the interface) */
  constructor(iface: Interface, ident: number, settings: PingSettings = DEFAULT_PING_SETTINGS) {
    this.iface = iface;
    this.settings = settings;
    this.ident = ident;
    // Room for the largest -s: the buffers are made once, here.
    const dataLen = Math.max(8, settings.dataLen, PING_MAX_DATA_LEN);
    const ring = Math.max(8 * (Math.max(8, settings.dataLen) + 16), 4 * (dataLen + 16));
    this.socket = new IcmpSocket({ rxBuffer: new Uint8Array(ring), txBuffer: new Uint8Array(ring) });
    this.payload = new Uint8Array(dataLen);
    // iputils fills the rest of the payload with 0x08, 0x09, ...; so does this.
    for (let i = 8; i < dataLen; i++) this.payload[i] = i & 0xff;
    this.payloadView = new DataView(this.payload.buffer);
    this.reply = new Uint8Array(dataLen);
    this.replyView = new DataView(this.reply.buffer);
  }

  /**
   * Starts pinging `address`, `count` times (0: until interrupted, at most PING_MAX_COUNT), with
   * `dataLen` payload octets (8..PING_MAX_DATA_LEN) every `intervalMs` (the settings' by default).
   * Prints the PING line. Returns false, printing why, when the socket cannot join the
   * interface's ICMP table.
   */
  start(now: number, address: number, count: number, out: TextSink, dataLen = this.settings.dataLen,
    intervalMs = this.settings.intervalMs): boolean {
    this.stop();
    this.socket.bind(this.ident);
    const handle = this.iface.addIcmpSocket(this.socket);
    if (handle < 0) {
      this.socket.close();
      out.writeText('ping: no free ICMP socket on this device, try again later\n');
      return false;
    }
    const s = this.summary;
    s.address = address;
    s.transmitted = 0;
    s.received = 0;
    s.duplicates = 0;
    s.errors = 0;
    s.elapsedMs = 0;
    s.rttMinMs = 0;
    s.rttMaxMs = 0;
    s.rttSumMs = 0;
    s.rttSumSquaresMs = 0;
    this.seen.fill(0);
    this.count = count > 0 && count < PING_MAX_COUNT ? count : PING_MAX_COUNT;
    this.dataLen = Math.min(Math.max(8, dataLen), this.payload.length);
    this.intervalMs = intervalMs;
    this.startedAt = now;
    this.nextSendAt = now;
    this.running = true;
    out.writeText(formatPingStart(address, this.dataLen));
    return true;
  }

  /** Sends what is due, prints the replies that arrived, ends a counted ping; true if anything happened. */
  poll(now: number, out: TextSink): boolean {
    if (!this.running) return false;
    let progress = false;
    const s = this.summary;
    const sock = this.socket;
    // Replies.
    while (sock.canRecv()) {
      const len = sock.recvEcho(this.reply, 0, this.reply.length);
      progress = true;
      if (len !== this.dataLen || sock.remoteAddress !== s.address) continue;
      const seq = sock.seqNo;
      const sentAt = this.replyView.getFloat64(0);
      const rtt = now - sentAt;
      if (!(rtt >= 0 && rtt <= now - this.startedAt)) continue;
      const duplicate = this.seen[seq % PING_SEEN_WINDOW] === 1;
      if (duplicate) s.duplicates++;
      else {
        this.seen[seq % PING_SEEN_WINDOW] = 1;
        s.received++;
      }
      if (s.received + s.duplicates === 1 || rtt < s.rttMinMs) s.rttMinMs = rtt;
      if (rtt > s.rttMaxMs) s.rttMaxMs = rtt;
      s.rttSumMs += rtt;
      s.rttSumSquaresMs += rtt * rtt;
      out.writeText(formatPingReply(len + 8, sock.remoteAddress, seq, rtt, duplicate));
    }
    // Requests.
    if (now >= this.nextSendAt && (this.count === 0 || s.transmitted < this.count)) {
      const seq = (s.transmitted + 1) & 0xffff;
      this.payloadView.setFloat64(0, now);
      this.seen[seq % PING_SEEN_WINDOW] = 0;
      const r = sock.sendEcho(s.address, seq, this.payload, 0, this.dataLen);
      if (r < 0) {
        s.errors++;
        out.writeText('ping: sendmsg: No buffer space available\n');
      }
      s.transmitted++;
      this.lastSentAt = now;
      this.nextSendAt = s.transmitted >= this.count ? NEVER : now + this.intervalMs;
      progress = true;
    }
    // A counted ping ends when every reply is in, or the wait for the last one is over.
    if (s.transmitted >= this.count &&
        (s.received >= this.count || now >= this.lastSentAt + this.settings.lingerMs)) {
      this.finish(now, out);
      progress = true;
    }
    return progress;
  }

  pollAt(now: number): number {
    if (!this.running) return NEVER;
    if (this.socket.canRecv()) return now;
    if (this.summary.transmitted >= this.count) return this.lastSentAt + this.settings.lingerMs;
    return this.nextSendAt;
  }

  /** Ctrl-C: prints "^C" (what a terminal shows) and the summary, and stops. */
  interrupt(now: number, out: TextSink): void {
    if (!this.running) return;
    out.writeText('^C');
    this.finish(now, out);
  }

  /** Stops without printing anything (the session is going away). */
  stop(): void {
    if (this.socket.ident !== 0) this.iface.removeIcmpSocket(this.socket);
    this.socket.close();
    this.running = false;
    this.nextSendAt = NEVER;
  }

  private finish(now: number, out: TextSink): void {
    this.summary.elapsedMs = now - this.startedAt;
    out.writeText(formatPingSummary(this.summary));
    this.stop();
  }
}
