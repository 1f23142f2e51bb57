/**
 * The traffic of `npm run soak`, run inside the rig's network namespace (so 192.0.2.2, the
 * device, is reachable through host connect and the Linux kernel's own TCP/UDP/ICMP). Runs
 * `--seconds S` of mixed traffic from `--workers N` concurrent loops and one steady ping, and
 * writes JSON lines to stdout: `{"t":"rtt","ms":..}` per ping reply, `{"t":"error","what":..}`
 * per failure, and at the end `{"t":"done",...counters}`.
 *
 * Operations (picked at random, seeded): echo (port 7, random octets, SHA-256 of what came back
 * compared), discard (port 9), chargen (port 19, each line checked against RFC 864), UDP echo
 * (each datagram compared), a connection opened and reset, a refused connection, a telnet
 * session (login, stats, pool, ping, exit) and a ping with fragments (-s 1600).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { CHARGEN_LINE_LEN, chargenLine } from '../firmware-bridge/services/chargen.ts';
import { Xorshift32 } from '../src/random.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, workers: { type: 'string' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds ?? 60);
const workers = Number(values.workers ?? 4);
const rng = new Xorshift32(Number(values.seed ?? 1) || 1);
const DEVICE = '192.0.2.2';
// The telnet password is the first line of stdin (never argv).
const password = await new Promise<string>((resolve) => {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) resolve(buf.slice(0, nl));
  });
  process.stdin.on('end', () => resolve(buf));
});
const OP_TIMEOUT_MS = 90_000;

const c = { octetsMoved: 0, octetsVerified: 0, opened: 0, closed: 0, resets: 0, refused: 0, udpSent: 0, udpVerified: 0, telnetSessions: 0, pings: 0, pingReplies: 0, ops: 0, errors: 0 };
function emit(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}
function error(what: string): void {
  c.errors++;
  emit({ t: 'error', what });
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no progress in ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e as Error); });
  });
}

/** Connects, writes `data`, half-closes, collects everything until the device's FIN. */
function tcpExchange(port: number, data: Buffer, keep: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: DEVICE, port, allowHalfOpen: true });
    sock.on('connect', () => {
      c.opened++;
      sock.end(data);
    });
    sock.on('data', (d: Buffer) => { if (keep) chunks.push(d); });
    sock.on('error', reject);
    sock.on('end', () => sock.end());
    sock.on('close', (hadError) => {
      if (hadError) return;
      c.closed++;
      resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * Where two buffers differ, for an error message: the first and last differing offsets, how
 * many octets differ, and 16 octets of each from the first difference (hex), so a failure tells
 * a flipped bit from a shifted or misplaced run of data.
 */
function describeDiff(sent: Buffer, got: Buffer): string {
  const n = Math.min(sent.length, got.length);
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (sent[i] === got[i]) continue;
    if (first < 0) first = i;
    last = i;
    count++;
  }
  if (first < 0) return `the first ${n} octets agree`;
  const from = first;
  return `${count} octets differ, offsets ${first}..${last}; sent ${sent.subarray(from, from + 16).toString('hex')}, got ${got.subarray(from, from + 16).toString('hex')}`;
}

async function echo(): Promise<void> {
  const data = randomBytes(4096 + rng.below(60_000));
  const back = await withTimeout(tcpExchange(7, data, true), 'echo');
  c.octetsMoved += data.length + back.length;
  if (createHash('sha256').update(back).digest('hex') !== createHash('sha256').update(data).digest('hex')) {
    error(`echo: sent ${data.length} octets, got back ${back.length} with another SHA-256 (${describeDiff(data, back)})`);
  } else c.octetsVerified += data.length + back.length;
}

async function discard(): Promise<void> {
  const data = randomBytes(4096 + rng.below(60_000));
  const back = await withTimeout(tcpExchange(9, data, true), 'discard');
  c.octetsMoved += data.length;
  if (back.length !== 0) error(`discard answered ${back.length} octets`);
}

async function chargen(): Promise<void> {
  const want = 2000 + rng.below(30_000);
  const got = await withTimeout(new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const sock = net.connect({ host: DEVICE, port: 19 });
    sock.on('connect', () => { c.opened++; });
    // chargen goes on after our FIN (RFC 864: until the caller terminates the connection, as
    // inetd's does), so a reader that has enough closes the socket, as `nc | head -c` does:
    // the device's next segment then meets a RST.
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= want) {
        sock.destroy();
        c.closed++;
        resolve(Buffer.concat(chunks));
      }
    });
    sock.on('error', reject);
    sock.on('close', (hadError) => {
      if (hadError || n >= want) return;
      reject(new Error(`closed by the device after ${n} of ${want} octets`));
    });
  }), 'chargen');
  c.octetsMoved += got.length;
  const line = new Uint8Array(CHARGEN_LINE_LEN);
  for (let off = 0, i = 0; off < got.length; off += CHARGEN_LINE_LEN, i++) {
    chargenLine(i, line, 0);
    const part = got.subarray(off, Math.min(got.length, off + CHARGEN_LINE_LEN));
    if (!Buffer.from(line.subarray(0, part.length)).equals(part)) {
      error(`chargen: line ${i} is not RFC 864's`);
      return;
    }
  }
  c.octetsVerified += got.length;
}

async function udpEcho(): Promise<void> {
  const sock = dgram.createSocket('udp4');
  const sent = new Map<string, number>();
  let verified = 0;
  await new Promise<void>((resolve) => {
    sock.on('message', (m: Buffer) => {
      const key = createHash('sha256').update(m).digest('hex');
      if (sent.has(key)) {
        verified++;
        c.udpVerified++;
        c.octetsVerified += 2 * m.length;
        sent.delete(key);
      } else error(`udp echo: a datagram of ${m.length} octets that was not sent`);
    });
    sock.bind(0, () => resolve());
  });
  const count = 5 + rng.below(20);
  for (let i = 0; i < count; i++) {
    const d = randomBytes(1 + rng.below(1400));
    sent.set(createHash('sha256').update(d).digest('hex'), d.length);
    c.udpSent++;
    c.octetsMoved += d.length;
    sock.send(d, 7, DEVICE);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 1500));
  sock.close();
  // UDP may be lost (the loss phase): only a wrong datagram is an error.
  void verified;
}

async function resetOne(): Promise<void> {
  await withTimeout(new Promise<void>((resolve, reject) => {
    const sock = net.connect({ host: DEVICE, port: 7 });
    sock.on('connect', () => {
      c.opened++;
      sock.write(randomBytes(100 + rng.below(2000)));
      setTimeout(() => {
        sock.resetAndDestroy();
        c.resets++;
        resolve();
      }, rng.below(200));
    });
    sock.on('error', reject);
  }), 'reset');
  // A port nobody listens on: refused at once.
  await withTimeout(new Promise<void>((resolve) => {
    const sock = net.connect({ host: DEVICE, port: 4444 });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') c.refused++;
      else error(`port 4444: ${e.code} instead of ECONNREFUSED`);
      resolve();
    });
    sock.on('connect', () => {
      error('port 4444 accepted a connection');
      sock.destroy();
      resolve();
    });
  }), 'refused');
}

/** A telnet session with a minimal client: every option refused, login, a few commands, exit. */
async function telnet(): Promise<void> {
  const script = ['stats', 'pool', 'ping 192.0.2.1 -c 2 -i 0.2', 'netstat', 'exit'];
  await withTimeout(new Promise<void>((resolve, reject) => {
    const sock = net.connect({ host: DEVICE, port: 23 });
    let text = '';
    let step = -1;
    sock.on('connect', () => { c.opened++; });
    sock.on('data', (d: Buffer) => {
      const plain: number[] = [];
      for (let i = 0; i < d.length; i++) {
        if (d[i] === 255 && i + 2 < d.length + 1 && d[i + 1]! >= 251 && d[i + 1]! <= 254) {
          // WILL/WONT -> DONT, DO/DONT -> WONT.
          const verb = d[i + 1]!;
          sock.write(Buffer.from([255, verb === 251 || verb === 252 ? 254 : 252, d[i + 2]!]));
          i += 2;
        } else plain.push(d[i]!);
      }
      text += Buffer.from(plain).toString('latin1');
      if (step === -1 && text.includes('Password: ')) {
        step = 0;
        text = '';
        sock.write(`${password}\r\n`);
      } else if (step >= 0 && text.includes('slipstack> ')) {
        if (step > 0 && /refused|incorrect/.test(text)) error(`telnet: ${text.slice(0, 80)}`);
        text = '';
        if (step < script.length) sock.write(`${script[step++]}\r\n`);
      } else if (step === 0 && /Login (incorrect|refused)/.test(text)) {
        error(`telnet login: ${text.trim()}`);
        sock.destroy();
        resolve();
      }
    });
    sock.on('error', reject);
    sock.on('end', () => sock.end());
    sock.on('close', (hadError) => {
      if (hadError) return;
      c.closed++;
      if (step < script.length) error(`telnet: closed at step ${step}`);
      else c.telnetSessions++;
      resolve();
    });
  }), 'telnet');
}

function runPing(args: string[], onRtt: (ms: number) => void): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn('ping', [...args, DEVICE], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /time=([\d.]+) ms/.exec(line);
        if (m) onRtt(Number(m[1]));
      }
    });
    p.on('close', () => resolve());
  });
}

async function fragmentedPing(): Promise<void> {
  c.pings += 5;
  await runPing(['-c', '5', '-i', '0.2', '-W', '2', '-s', '1600'], () => { c.pingReplies++; });
}

const OPS: [string, () => Promise<void>][] = [
  ['echo', echo], ['echo', echo], ['discard', discard], ['chargen', chargen], ['udp', udpEcho], ['reset', resetOne],
  ['telnet', telnet], ['ping', fragmentedPing],
];

const deadline = Date.now() + seconds * 1000;
async function worker(): Promise<void> {
  while (Date.now() < deadline) {
    const [name, op] = OPS[rng.below(OPS.length)]!;
    c.ops++;
    try {
      await op();
    } catch (e) {
      error(`${name}: ${(e as Error).message}`);
    }
  }
}

// The steady ping behind the per-minute RTT figures (56 octets, every 0.5 s).
const steady = spawn('ping', ['-i', '0.5', '-W', '2', DEVICE], { stdio: ['ignore', 'pipe', 'ignore'] });
let sbuf = '';
steady.stdout.setEncoding('utf8');
steady.stdout.on('data', (d: string) => {
  sbuf += d;
  let nl: number;
  while ((nl = sbuf.indexOf('\n')) >= 0) {
    const m = /time=([\d.]+) ms/.exec(sbuf.slice(0, nl));
    sbuf = sbuf.slice(nl + 1);
    if (m) emit({ t: 'rtt', ms: Number(m[1]) });
  }
});
await Promise.all(Array.from({ length: workers }, () => worker()));
steady.kill('SIGINT');
emit({ t: 'done', ...c });
process.exit(0);
