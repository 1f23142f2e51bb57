/**
 * The web console on port 80: Node's own `http` server, fed the device's TCP connections
 * through slipstack/net (node:http's 'connection' event takes any stream.Duplex), serving one
 * page (web/page.ts) and its JSON (/api/stats, web/status.ts). HTTP/1.1 with keep-alive; no
 * HTTP parser of ours.
 *
 * Read-only: GET and HEAD only, and no route runs a command. Every request needs the device
 * password by HTTP Basic authentication (any user name): a request without credentials is
 * answered 401 at once (that is how a browser learns to ask); a wrong password is counted and
 * answered 401 only after the same pause as telnet's, and a connection that has used up its
 * attempts is closed (firmware-bridge/login.ts, shared with telnet). The pause is a deadline on
 * the clock handed in: `poll(now)` sends the answers that are due.
 *
 *   GET /            the page (gzip when the browser accepts it; ETag = image SHA-256)
 *   GET /api/stats   the JSON document (see status.ts), never cached
 *   anything else    404; other methods 405; a malformed request 400, and the device carries on
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { createServer, type Network, type Server, type Socket } from '../../src/drivers/net/index.ts';
import { NEVER } from '../../src/time.ts';
import type { LoginLimiter } from '../login-limiter.ts';
import { LoginAttempts, newLoginStats, type LoginPolicy, type LoginStats } from '../login.ts';
import { CONSOLE_PAGE } from './page.ts';
import { statusDocument, type StatusSources } from './status.ts';

export interface WebConsoleOptions {
  network: Network;
  /** The device password (HTTP Basic). Required: the console is never open without one. */
  password: string;
  /** What the page shows. */
  status: StatusSources;
  /** TCP port. Defaults to 80. */
  port?: number;
  /** Pause before answering a wrong password, ms. Defaults to 1000 (as telnet). */
  loginDelayMs?: number;
  /** Wrong passwords before the connection is closed. Defaults to 3 (as telnet). */
  maxLoginAttempts?: number;
  /** The device-wide budget of failed logins, shared with telnet (login-limiter.ts); none when absent. */
  loginLimiter?: LoginLimiter;
}

/** The console's own counters (shown under "http" in /api/stats). */
export interface WebConsoleStats extends LoginStats {
  requests: number;
  /** Answered 401 (no or wrong credentials). */
  unauthorized: number;
  notFound: number;
  /** Malformed requests answered 400. */
  badRequests: number;
}

interface Delayed {
  at: number;
  res: http.ServerResponse;
  attempts: LoginAttempts;
}

const REALM = 'Basic realm="slipstack", charset="UTF-8"';

export class WebConsole {
  readonly port: number;
  readonly stats: WebConsoleStats = { requests: 0, unauthorized: 0, notFound: 0, badRequests: 0, ...newLoginStats() };
  readonly server: Server;
  readonly http: http.Server;
  private readonly network: Network;
  private readonly status: StatusSources;
  private readonly policy: LoginPolicy;
  private readonly limiter: LoginLimiter | null;
  private readonly page: Buffer;
  private readonly pageGzip: Buffer;
  private readonly etag: string;
  private readonly attempts = new WeakMap<object, LoginAttempts>();
  /** Authorization header accepted on each connection (a keep-alive connection is not re-counted). */
  private readonly accepted = new WeakMap<object, string>();
  private readonly delayed: Delayed[] = [];

  /** @throws Error when the password is empty. */
  constructor(options: WebConsoleOptions) {
    if (typeof options.password !== 'string' || options.password.length === 0) throw new RangeError('web console: a password is required');
    this.network = options.network;
    this.status = options.status;
    this.port = options.port ?? 80;
    this.limiter = options.loginLimiter ?? null;
    this.policy = {
      password: new TextEncoder().encode(options.password),
      loginDelayMs: options.loginDelayMs ?? 1000,
      maxLoginAttempts: options.maxLoginAttempts ?? 3,
    };
    this.page = Buffer.from(CONSOLE_PAGE, 'utf8');
    this.pageGzip = gzipSync(this.page, { level: 9 });
    this.etag = `"${options.status.imageSha256.slice(0, 16)}-${this.page.length}"`;
    this.http = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => this.handle(req, res));
    // A malformed request: 400 and close this connection (FIN after the answer); the device carries on.
    this.http.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      const s = socket as unknown as Socket;
      if (error.code === 'ECONNRESET') {
        s.destroy();
        return;
      }
      this.stats.badRequests++;
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      s.destroySoon();
    });
    // An idle keep-alive connection: close it with a FIN (node:http would destroy it).
    this.http.on('timeout', (socket: Socket) => socket.destroySoon());
    this.server = createServer({ network: this.network, noDelay: true }, (socket) => this.http.emit('connection', socket));
    this.server.on('error', (e) => {
      throw new Error(`web console: cannot listen on TCP port ${this.port}: ${(e as Error).message}`);
    });
    this.server.listen(this.port);
  }

  /** Sends the 401s whose pause is over; true if any went. */
  poll(now: number): boolean {
    let progress = false;
    for (let i = 0; i < this.delayed.length; i++) {
      const d = this.delayed[i]!;
      if (now < d.at) continue;
      this.delayed.splice(i--, 1);
      this.unauthorized(d.res, d.attempts.exhausted());
      progress = true;
    }
    return progress;
  }

  pollAt(_now: number): number {
    let t = NEVER;
    for (const d of this.delayed) if (d.at < t) t = d.at;
    return t;
  }

  /** Stops listening and ends every connection. */
  close(): void {
    this.server.close();
    this.http.close();
    this.http.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.requests++;
    const socket = req.socket;
    const auth = req.headers.authorization;
    if (auth === undefined) {
      this.unauthorized(res, false);
      return;
    }
    if (this.accepted.get(socket) !== auth) {
      let attempts = this.attempts.get(socket);
      if (attempts === undefined) {
        attempts = new LoginAttempts(this.policy, this.stats, this.limiter);
        this.attempts.set(socket, attempts);
      }
      const typed = basicPassword(auth);
      if (!attempts.attempt(this.network.now(), typed, typed.length)) {
        // Answered after the pause, as telnet does (poll sends it).
        this.delayed.push({ at: attempts.answerAt, res, attempts });
        this.network.wake();
        return;
      }
      this.accepted.set(socket, auth);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain', 'Content-Length': 19 });
      res.end('method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      if (req.headers['if-none-match'] === this.etag) {
        res.writeHead(304, { ETag: this.etag });
        res.end();
        return;
      }
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? this.pageGzip : this.page;
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, ETag: this.etag,
        'Cache-Control': 'no-cache', Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.end(body);
      return;
    }
    if (path === '/api/stats') {
      const json = Buffer.from(JSON.stringify(statusDocument(this.status, this.network.now())), 'utf8');
      const gzip = json.length > 512 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? gzipSync(json) : json;
      res.writeHead(200, {
        'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-store',
        Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.end(body);
      return;
    }
    this.stats.notFound++;
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
    res.end('not found\n');
  }

  private unauthorized(res: http.ServerResponse, close: boolean): void {
    this.stats.unauthorized++;
    if (res.destroyed || res.writableEnded) return;
    const body = 'password required\n';
    const headers: http.OutgoingHttpHeaders = { 'WWW-Authenticate': REALM, 'Content-Type': 'text/plain', 'Content-Length': body.length };
    if (close) headers['Connection'] = 'close';
    res.writeHead(401, headers);
    res.end(body);
  }
}

/** The password octets of an `Authorization: Basic base64(user:password)` header (empty when there is none). */
export function basicPassword(header: string): Buffer {
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return Buffer.alloc(0);
  const decoded = Buffer.from(m[1]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  return colon < 0 ? Buffer.alloc(0) : decoded.subarray(colon + 1);
}
