/**
 * The `http` fuzzing surface: the request line and headers of the board's web console
 * (firmware-bridge/web/console.ts: Node's own http server fed the board's TCP connections
 * through slipstack/net). The board runs with a password and the console on port 80; a peer
 * stack (192.0.2.1, raw TcpSockets, no streams) sits on the other end of an in-memory SLIP line,
 * and a VirtualLoop drives both on a virtual clock, yielding to Node's event loop so node:http's
 * parser and callbacks run, as the web console tests do (test/net/web-console.test.ts).
 *
 * - random: random octets (0..1500) sent on a TCP connection to port 80, most on a fresh one.
 * - mutated: valid requests (GET / with and without gzip, GET /api/stats with the right
 *   `Authorization: Basic`, a wrong one and none, HEAD, 404s, keep-alive pipelines, POST and
 *   PUT (405), unknown methods, HTTP/1.0, absolute URLs, long and too long headers, many
 *   headers, chunked and Content-Length bodies, Expect: 100-continue), three in four with 1..4
 *   random edits (octet edits as the other surfaces make, or HTTP-shaped ones: CR, LF, colons,
 *   spaces, header lines inserted, repeated or cut, two requests spliced), one in four as they
 *   are; two in three reuse the connection (keep-alive), the rest open a fresh one, closing the
 *   old one with a FIN or a RST.
 * In both modes the peer half-closes (a FIN after the input, reading on) one time in eight, and
 * leaves the answers unread for a step one time in four.
 *
 * After each input the loop runs 1.1 s of virtual time (a wrong password is answered after the
 * 1 s login pause). The status line of every response the peer receives is counted. The checks
 * beyond the common ones (no throw, no unhandled error or rejection, every pool slot and TCP
 * socket back, a ping answered): no slipstack/net Socket left registered, and once the
 * device-wide login back-off the fuzz's wrong passwords earned has passed, a fresh connection
 * gets a 200 with the JSON document for an authorized GET /api/stats (the device carries on).
 */
import type { Board } from '../../firmware-bridge/board.ts';
import { Interface } from '../../src/iface/interface.ts';
import { VirtualLoop } from '../../src/drivers/net/virtual-loop.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { Xorshift32 } from '../../src/random.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { PacketPool } from '../../src/storage/packet-pool.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { echoRequest } from '../helpers/packets.ts';
import { FeedLink, FuzzFailure, PASSWORD, concat, fuzzBoard, mutate, randomOctets, slipFrame, type FuzzMode, type FuzzResult } from './common.ts';

/** Virtual ms each input is given: the 1 s pause before a wrong password's 401, and some. */
const STEP_MS = 1100;

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

function httpSeeds(): Uint8Array[] {
  const host = 'Host: 192.0.2.2\r\n';
  const auth = `Authorization: Basic ${b64(`admin:${PASSWORD}`)}\r\n`;
  const wrong = `Authorization: Basic ${b64('admin:guess')}\r\n`;
  const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\n${host}${auth}${extra}\r\n`;
  const texts = [
    `GET / HTTP/1.1\r\n${host}\r\n`,
    get('/', 'Accept-Encoding: gzip, deflate\r\n'),
    get('/index.html', 'If-None-Match: "0000000000000000-1"\r\n'),
    get('/api/stats'),
    get('/api/stats?x=1', 'Accept-Encoding: gzip\r\n'),
    `GET /api/stats HTTP/1.1\r\n${host}\r\n`,
    `GET /api/stats HTTP/1.1\r\n${host}${wrong}\r\n`,
    `GET /api/stats HTTP/1.1\r\n${host}Authorization: Basic\r\n\r\n`,
    `GET / HTTP/1.1\r\n${host}Authorization: Bearer abc\r\n\r\n`,
    `HEAD / HTTP/1.1\r\n${host}${auth}\r\n`,
    `HEAD /api/stats HTTP/1.1\r\n${host}\r\n`,
    get('/nope'),
    get('/api/stats', 'Connection: keep-alive\r\n') + get('/') + `HEAD /nope HTTP/1.1\r\n${host}${auth}\r\n`,
    get('/', 'Connection: close\r\n'),
    `GET / HTTP/1.0\r\n${auth}\r\n`,
    `GET http://192.0.2.2/api/stats HTTP/1.1\r\n${auth}\r\n`,
    `POST / HTTP/1.1\r\n${host}${auth}Content-Length: 11\r\n\r\nhello world`,
    `POST /api/stats HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    `POST / HTTP/1.1\r\n${host}${auth}Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc`,
    `PUT /api/stats HTTP/1.1\r\n${host}${auth}Content-Length: 0\r\n\r\n`,
    `BREW / HTTP/1.1\r\n${host}\r\n`,
    `OPTIONS * HTTP/1.1\r\n${host}\r\n`,
    get('/api/stats', `X-Long: ${'a'.repeat(4000)}\r\n`),
    `GET / HTTP/1.1\r\n${host}X-Huge: ${'b'.repeat(17000)}\r\n\r\n`,
    get('/', Array.from({ length: 120 }, (_, i) => `X-H${i}: v\r\n`).join('')),
  ];
  return texts.map(latin1);
}

/** Pieces an HTTP-shaped edit inserts. */
const TOKENS = [
  '\r\n', '\n', '\r', ' ', ':', '\r\n\r\n', '\0', '\t', '/', '%00', '/../', '?', 'HTTP/1.1', 'HTTP/9.9', '0', '-1', '99999999999',
  'Transfer-Encoding: chunked\r\n', 'Content-Length: 5\r\n', 'Content-Length: -1\r\n', 'Connection: close\r\n',
  'Expect: 100-continue\r\n', 'Authorization: Basic =\r\n', '\u00ff\u00fe', 'GET / HTTP/1.1\r\n\r\n', 'ffffffff\r\n',
].map(latin1);

/**
 * `seed` as it is one time in four (so kept-alive connections and pipelines carry on past a
 * valid request), else with 1..4 random edits: octet-level (as the other surfaces make them) one
 * time in three, HTTP-shaped otherwise.
 */
function mutateHttp(rng: Xorshift32, seed: Uint8Array, seeds: Uint8Array[]): Uint8Array {
  const kind = rng.below(4);
  if (kind === 0) return seed;
  if (kind === 1) return mutate(rng, seed, 20_000);
  let out = seed;
  const edits = 1 + rng.below(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(out.length + 1);
    const kind = rng.below(5);
    let insert: Uint8Array;
    let cut = 0;
    if (kind === 0) insert = TOKENS[rng.below(TOKENS.length)]!;
    else if (kind === 1) {
      insert = new Uint8Array(0);
      cut = 1 + rng.below(16);
    } else if (kind === 2) {
      // A stretch repeated (a header line, part of the request line).
      const from = rng.below(out.length + 1);
      insert = out.slice(from, from + 1 + rng.below(40));
      if (rng.below(4) === 0) insert = concat(Array.from({ length: 2 + rng.below(30) }, () => insert));
    } else if (kind === 3) {
      insert = Uint8Array.of(rng.below(256));
      cut = 1;
    } else {
      // Two requests spliced: this one's start, another's end.
      const other = seeds[rng.below(seeds.length)]!;
      out = concat([out.subarray(0, at), other.subarray(rng.below(other.length + 1))]);
      continue;
    }
    out = concat([out.subarray(0, at), insert, out.subarray(Math.min(out.length, at + cut))]);
  }
  return out;
}

/** A connection of the peer to port 80, and what it received not yet scanned for status lines. */
interface Conn {
  sock: TcpSocket;
  text: string;
  /** The peer has sent its FIN (a request, then the end of what it sends, as `nc -N` does). */
  halfClosed: boolean;
}

const STATUS_LINE = /HTTP\/1\.[01] (\d{3}) /g;

/** The board, its peer and the loop that drives them, with the peer's connections and what they saw. */
class HttpRig {
  readonly link = new FeedLink();
  readonly pair = new MemoryLinkPair();
  readonly board: Board;
  readonly peerTcp: TcpStack;
  readonly peer: Interface;
  readonly loop: VirtualLoop;
  /** Responses by status code, as the peer read them. */
  readonly statuses = new Map<number, number>();
  connects = 0;
  /** Connections that had ended with an error (reset, refused) when the peer moved on. */
  reset = 0;
  private readonly buf = new Uint8Array(65536);

  constructor() {
    this.link.relay = this.pair.a;
    this.board = fuzzBoard(this.link, { http: true, httpPort: 80 });
    this.peerTcp = new TcpStack({ sockets: 16, txBufferLen: 32768, rxBufferLen: 32768, isnKey: [5, 6, 7, 8] });
    const pool = new PacketPool({ slots: 64, mtu: this.board.config.mtu, name: 'http peer' });
    this.peer = new Interface({ device: new SlipDevice(this.pair.b, pool), address: HOST_A, tcp: this.peerTcp });
    this.loop = new VirtualLoop([this.board, this.peer], 1000);
    this.board.network!.attach(this.loop);
  }

  /** A fresh connection to port 80 (its SYN goes at the next poll), or null when the peer's table is full. */
  connect(): Conn | null {
    const sock = this.peerTcp.connect(this.loop.time, HOST_B, 80);
    if (sock === null) return null;
    this.connects++;
    return { sock, text: '', halfClosed: false };
  }

  /** True while data can still be sent on `c` and the board has not closed it. */
  open(c: Conn): boolean {
    const s = c.sock.state;
    return (s === TcpState.SynSent || s === TcpState.Established) && !c.sock.remoteClosed && !c.halfClosed;
  }

  /** Reads what arrived on `c` and counts the status lines in it. */
  drain(c: Conn): void {
    for (;;) {
      const n = c.sock.recv(this.buf, 0, this.buf.length);
      if (n <= 0) break;
      c.text += Buffer.from(this.buf.buffer, 0, n).toString('latin1');
    }
    STATUS_LINE.lastIndex = 0;
    let last = 0;
    for (let m = STATUS_LINE.exec(c.text); m !== null; m = STATUS_LINE.exec(c.text)) {
      const code = Number(m[1]);
      this.statuses.set(code, (this.statuses.get(code) ?? 0) + 1);
      last = STATUS_LINE.lastIndex;
    }
    // Keep only what could be the start of a status line split across reads.
    c.text = c.text.slice(Math.max(last, c.text.length - 15));
  }

  /** Ends `c`: a FIN (close; a RST if data is left unread) or a RST (abort). */
  end(c: Conn, reset: boolean): void {
    this.drain(c);
    if (c.sock.state === TcpState.Closed && c.sock.error !== 0) this.reset++;
    if (reset) c.sock.abort();
    c.sock.close();
  }

  /**
   * Sends all of `data` on `c` while running the loop, then (with `halfClose`) a FIN, then runs
   * for `ms` more and reads what came back, unless told not to `read` (the board's answers then
   * wait in its send ring behind a closing window).
   */
  async send(c: Conn, data: Uint8Array, ms: number, halfClose: boolean, read: boolean): Promise<void> {
    let sent = 0;
    for (let rounds = 0; sent < data.length && rounds < 64; rounds++) {
      const n = c.sock.send(data, sent, data.length - sent);
      if (n < 0) break;
      sent += n;
      if (sent < data.length) await this.loop.runUntil(() => c.sock.sendSpace > 0 || !this.open(c), ms);
    }
    if (halfClose) {
      c.sock.shutdown();
      c.halfClosed = true;
    }
    await this.loop.runFor(ms);
    if (read) this.drain(c);
  }
}

/** Feeds `iterations` inputs to the web console, then checks the board. */
export async function fuzzHttp(mode: FuzzMode, iterations: number, seed: number): Promise<FuzzResult> {
  // Anything thrown where no one catches it (a stream callback, a timer) fails the run too, with the seed.
  let escaped: unknown = null;
  const onEscape = (e: unknown): void => {
    escaped ??= e;
  };
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  try {
    const r = await fuzzHttpRun(mode, iterations, seed, () => escaped);
    if (escaped !== null) throw new FuzzFailure('http', mode, seed, iterations, new Uint8Array(0), escaped);
    return r;
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  }
}

async function fuzzHttpRun(mode: FuzzMode, iterations: number, seed: number, escaped: () => unknown): Promise<FuzzResult> {
  const rng = new Xorshift32(seed === 0 ? 1 : seed);
  const rig = new HttpRig();
  const { board, loop } = rig;
  const seeds = httpSeeds();
  let conn: Conn | null = null;
  let input: Uint8Array = new Uint8Array(0);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    try {
      input = mode === 'random' ? randomOctets(rng, rng.below(4) === 0 ? rng.below(32) : rng.below(1500))
        : mutateHttp(rng, seeds[rng.below(seeds.length)]!, seeds);
      // Random octets mostly on a fresh connection (the board answers most with 400 and a FIN);
      // mutated requests two in three on the same one (keep-alive), whatever the last left half-sent.
      const fresh = mode === 'random' ? rng.below(8) !== 0 : rng.below(3) === 0;
      if (conn === null || !rig.open(conn) || fresh) {
        if (conn !== null) rig.end(conn, rng.below(4) === 0);
        conn = rig.connect();
      }
      // Now and then the peer ends its side after the input, or leaves the answers unread a while.
      const halfClose = rng.below(8) === 0;
      const read = rng.below(4) !== 0;
      if (conn !== null) await rig.send(conn, input, STEP_MS, halfClose, read);
      else await loop.runFor(STEP_MS);
      if (escaped() !== null) throw escaped();
    } catch (e) {
      throw new FuzzFailure('http', mode, seed, i, input, e);
    }
  }
  const ms = performance.now() - started;
  const problems: string[] = [];
  const counters: Record<string, number> = {};
  const fail = (what: string, e: unknown): never => {
    throw new FuzzFailure('http', mode, seed, iterations, new Uint8Array(0), new Error(what, { cause: e }));
  };

  // Everything ends and times out: keep-alive timeouts, FIN-WAIT, TIME-WAIT, the login back-off.
  try {
    if (conn !== null) rig.end(conn, false);
    await loop.runFor(10 * 60_000);
    const backoff = board.loginLimiter.backoffLeft(board.network!.now());
    if (backoff > 0) await loop.runFor(backoff + 1000);
  } catch (e) {
    fail('winding down after the fuzz threw', e);
  }

  // The ping (its leading END also ends a frame a board write left half-sent, never the case here).
  const before = board.iface.stats.icmp.echoReplied;
  rig.link.input = slipFrame(echoRequest(new Uint8Array(32), 9, 0x4321));
  rig.link.pos = 0;
  await loop.runFor(100);
  const answersPing = board.iface.stats.icmp.echoReplied === before + 1;
  const leakedSlots = board.pool.stats.used;
  const leakedSockets = board.tcp.used;
  for (const [code, n] of [...rig.statuses].sort((a, b) => a[0] - b[0])) counters[`status_${code}`] = n;
  const requests = { ...board.web!.stats };
  const throttled = board.loginLimiter.stats.throttled;
  // The server itself stays registered with the board's Network; no Socket may.
  if (board.network!.size !== 1) problems.push(`${board.network!.size - 1} slipstack/net Sockets still registered after every connection ended`);

  // The device carries on: an authorized GET /api/stats on a fresh connection.
  const check = rig.connect();
  if (check === null) problems.push('no peer socket for the check');
  else {
    const request = latin1(`GET /api/stats HTTP/1.1\r\nHost: 192.0.2.2\r\nAuthorization: Basic ${b64(`admin:${PASSWORD}`)}\r\n` +
      'Connection: close\r\n\r\n');
    let text = '';
    const buf = new Uint8Array(65536);
    check.sock.send(request, 0, request.length);
    await loop.runUntil(() => {
      for (let n = check.sock.recv(buf, 0, buf.length); n > 0; n = check.sock.recv(buf, 0, buf.length)) {
        text += Buffer.from(buf.buffer, 0, n).toString('latin1');
      }
      return check.sock.remoteClosed || check.sock.state === TcpState.Closed;
    }, 30_000);
    check.sock.close();
    const head = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    let doc: { stats?: unknown } | null = null;
    try {
      doc = JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as { stats?: unknown };
    } catch {
      doc = null;
    }
    if (head === null || head[1] !== '200' || doc === null || typeof doc.stats !== 'object') {
      problems.push(`authorized GET /api/stats after the fuzz: ${JSON.stringify(text.slice(0, 200))}`);
    }
    await loop.runFor(10 * 60_000);
    if (board.pool.stats.used !== 0 || board.tcp.used !== 0) {
      problems.push(`after the check: ${board.pool.stats.used} pool slots and ${board.tcp.used} TCP sockets in use`);
    }
  }
  board.shutdown();
  await loop.runFor(1000);
  Object.assign(counters, {
    connections: rig.connects, connections_reset: rig.reset, board_requests: requests.requests, board_unauthorized: requests.unauthorized,
    board_not_found: requests.notFound, board_bad_requests: requests.badRequests, logins: requests.logins,
    login_failures: requests.failures, lockouts: requests.lockouts, throttled,
    virtual_s: Math.round(loop.time / 1000),
  });
  return {
    surface: 'http', mode, seed, inputs: iterations, ms, leakedSlots, leakedSockets, answersPing, framesOut: board.iface.stats.ip.xmit,
    echoedOctets: board.tcpEcho.echoed, problems, counters,
  };
}
