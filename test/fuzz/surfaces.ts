/**
 * Fuzzing surfaces: seeded, reproducible streams of random and mutated inputs into the real
 * firmware code, each checked for the same three things (the contract): no exception
 * escapes, every packet pool slot and TCP socket comes back once the stack has been left to
 * time out, and the stack still answers a ping afterwards.
 *
 *   slip    octets on the serial line into the whole Board (SLIP decoder, IPv4 and up, services)
 *   ipv4    whole IPv4 frames (ICMP, UDP, TCP, fragments) SLIP-framed into the whole Board
 *   telnet  the telnet protocol and the shell line, octets into a TelnetSession of the Board's
 *           telnet server (negotiation, Synch, line editing, every command, ping, xfer, Ctrl-C)
 *   cslip   the RFC 1144 (Van Jacobson) decompressor of a Board run with --proto cslip:
 *           UNCOMPRESSED_TCP and COMPRESSED_TCP frames, random and from a real compressing peer
 *           (test/fuzz/cslip.ts)
 *   http    the request line and headers of the Board's web console (node:http over
 *           slipstack/net), octets on TCP connections to port 80 from a peer stack, in virtual
 *           time on Node's event loop (test/fuzz/http.ts)
 *
 * "random" inputs are random octets (for ipv4 three quarters get a valid IPv4 header around
 * random contents); "mutated" inputs are valid ones (seeds) with 1..4 random edits: an octet
 * replaced, a bit flipped, cut short, lengthened, a header field changed (and for ipv4 half get
 * their checksums fixed up so they reach the layer above). Half of the ipv4 mutated inputs are
 * segments of real TCP connections to echo, discard, chargen and telnet (a handshake, in-window
 * data, FIN, RST, a third of them mutated), so the fuzz reaches ESTABLISHED and the services. Everything comes from Xorshift32(seed): the
 * same seed gives the same inputs, and a failure names the seed and the input's index.
 *
 * Used by test/iface/fuzz.test.ts (a short slice on every run) and scripts/fuzz.ts
 * (`npm run fuzz -- --iterations N`).
 */
import type { TelnetSession } from '../../firmware-bridge/telnet/session.ts';
import { Xorshift32 } from '../../src/random.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { echoRequest, fragment, ipv4, udp } from '../helpers/packets.ts';
import {
  ACK, FIN, FeedLink, FuzzFailure, PASSWORD, PSH, RST, SYN, endSession as endFuzzSession, followBoard, fixHeaders, fuzzBoard, mutate,
  randomOctets, slipFrame, tcpSegment, type FuzzMode, type FuzzResult, type FuzzSession, type FuzzSurface,
} from './common.ts';
import { fuzzCslip } from './cslip.ts';
import { fuzzHttp } from './http.ts';

export { FUZZ_SURFACES, FuzzFailure, type FuzzMode, type FuzzResult, type FuzzSurface } from './common.ts';

/** The surfaces that run without Node's event loop (all but http). */
export type SyncSurface = Exclude<FuzzSurface, 'http'>;

function ipv4Seeds(): Uint8Array[] {
  const seeds: Uint8Array[] = [
    echoRequest(new Uint8Array(56).fill(7)),
    echoRequest(new Uint8Array(1200).fill(9), 2),
    ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 7, new TextEncoder().encode('udp echo me'))),
    ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 99, new Uint8Array(10))),
    ...fragment(echoRequest(new Uint8Array(2500).fill(3), 3, 0x7777), 800),
  ];
  for (const port of [7, 9, 19, 23, 80]) {
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1000, 0, SYN, new Uint8Array(0))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, ACK | PSH, new TextEncoder().encode('data\r\n'))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, ACK | FIN, new Uint8Array(0))));
    seeds.push(ipv4({ protocol: 6 }, tcpSegment(40000 + port, port, 1001, 1, RST, new Uint8Array(0))));
  }
  return seeds;
}

function telnetSeeds(): Uint8Array[] {
  const t = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) & 0xff);
  const IAC = 255;
  const lines = [
    `${PASSWORD}\r\n`, 'help\r\n', 'stats\r\n', 'pool\r\n', 'netstat\r\n', 'ifconfig\r\n', 'uptime\r\n', 'version\r\n',
    'ping 192.0.2.1 -c 2\r\n', 'ping 192.0.2.1 -s 300 -i 0.2\r\n', 'xfer 192.0.2.1 5555 1000\r\n', 'echo hello\r\n',
    'wrong password\r\n', 'exit\r\n', '\x03', 'abc\x08\x7f\x15def\r\0',
  ];
  const seeds = lines.map((l) => Uint8Array.from(t(l)));
  seeds.push(Uint8Array.from([IAC, 253, 1, IAC, 251, 31, IAC, 250, 31, 0, 80, 0, 24, IAC, 240]));
  seeds.push(Uint8Array.from([IAC, 244, IAC, 246, IAC, 247, IAC, 248, IAC, 242, IAC, IAC]));
  seeds.push(Uint8Array.from([IAC, 250, 24, ...new Array(100).fill(1), IAC, 240]));
  return seeds;
}


/** A socket for a TelnetSession that reads the fuzz input and takes all output (sent nowhere). */
class FeedSocket {
  input: Uint8Array = new Uint8Array(0);
  pos = 0;
  remoteClosed = false;
  urgentMark = 0;
  sendSpace = 1 << 20;
  state = 4;
  get readable(): boolean {
    return this.pos < this.input.length;
  }
  get recvQueue(): number {
    return this.input.length - this.pos;
  }
  recv(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.input.length - this.pos);
    if (n <= 0) return this.remoteClosed ? 0 : -1;
    dst.set(this.input.subarray(this.pos, this.pos + n), off);
    this.pos += n;
    return n;
  }
  send(_src: Uint8Array, _off: number, len: number): number {
    return len;
  }
  close(): void {}
  abort(): void {}
  shutdown(): void {}
}

/**
 * Feeds `iterations` inputs of one synchronous surface and mode into a fresh board, then checks
 * it. (`runFuzz` runs any surface, http included, which needs Node's event loop.)
 */
export function fuzz(surface: SyncSurface, mode: FuzzMode, iterations: number, seed: number): FuzzResult {
  if (surface === 'cslip') return fuzzCslip(mode, iterations, seed);
  const rng = new Xorshift32(seed === 0 ? 1 : seed);
  const link = new FeedLink();
  const board = fuzzBoard(link);
  let now = 1;
  const step = (): void => {
    for (let spins = 0; spins < 64 && board.poll(now); spins++) { /* until quiet */ }
  };
  const ipSeeds = ipv4Seeds();
  const tSeeds = telnetSeeds();
  const slipSeeds = ipSeeds.map(slipFrame);
  let tcpSession: FuzzSession | null = null;
  const endSession = (s: FuzzSession): void => endFuzzSession(link, step, s);
  let nextPort = 30000;
  let session: TelnetSession | null = null;
  let sock: FeedSocket | null = null;
  const passwordLine = new TextEncoder().encode(`${PASSWORD}\r\n`);
  const openSession = (): void => {
    session = board.telnet!.sessions[0]!;
    sock = new FeedSocket();
    session.open(now, sock as unknown as TcpSocket);
    // Most sessions log in first, so the fuzz reaches the shell, not only the password prompt.
    if (rng.below(4) !== 0) {
      sock.input = passwordLine;
      session.poll(now);
    }
  };
  if (surface === 'telnet') openSession();

  let input: Uint8Array = new Uint8Array(0);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    try {
      if (surface === 'slip') {
        input = mode === 'random' ? randomOctets(rng, rng.below(4) === 0 ? rng.below(16) : rng.below(1600))
          : mutate(rng, slipSeeds[rng.below(slipSeeds.length)]!, 3200);
        link.input = input;
        link.pos = 0;
      } else if (surface === 'ipv4') {
        let frame: Uint8Array;
        if (mode === 'random') {
          frame = randomOctets(rng, rng.below(4) === 0 ? rng.below(28) : rng.below(1500));
          if (frame.length >= 20 && rng.below(4) !== 0) {
            frame[0] = 0x45;
            frame[2] = frame.length >> 8;
            frame[3] = frame.length & 0xff;
            frame[6] = frame[6]! & 0x40;
            frame[7] = 0;
            frame[9] = [1, 6, 17][rng.below(3)]!;
            frame.set([192, 0, 2, 1, 192, 0, 2, 2], 12);
            fixHeaders(frame);
          }
        } else if (rng.below(2) === 0) {
          frame = mutate(rng, ipSeeds[rng.below(ipSeeds.length)]!, 1500);
          if (rng.below(2) === 0) fixHeaders(frame);
        } else {
          // A segment of a real connection, valid or mutated.
          const s = tcpSession as FuzzSession | null;
          if (s !== null) followBoard(s, link.takeOutput());
          if (s === null || s.ack === -2 || (s.ack === -1 && rng.below(2) === 0) || rng.below(64) === 0) {
            nextPort = nextPort >= 60000 ? 30000 : nextPort + 1;
            const fresh: FuzzSession = { srcPort: nextPort, dstPort: [7, 9, 19, 23][rng.below(4)]!, seq: rng.next(), ack: -1, boardAck: -1 };
            tcpSession = fresh;
            frame = ipv4({ protocol: 6 }, tcpSegment(fresh.srcPort, fresh.dstPort, fresh.seq, 0, SYN, new Uint8Array(0)));
            fresh.seq = (fresh.seq + 1) >>> 0;
            if (s !== null) endSession(s);
          } else {
            const kind = rng.below(16);
            const flags = kind === 0 ? RST : kind === 1 ? ACK | FIN : ACK | PSH;
            const data = kind <= 1 ? new Uint8Array(0) : randomOctets(rng, rng.below(4) === 0 ? 0 : 1 + rng.below(900));
            frame = ipv4({ protocol: 6 }, tcpSegment(s.srcPort, s.dstPort, s.seq, s.ack < 0 ? 0 : s.ack, flags, data));
            s.seq = (s.seq + data.length + (kind === 1 ? 1 : 0)) >>> 0;
            if (kind === 0) s.ack = -2;
            if (rng.below(3) === 0) {
              frame = mutate(rng, frame, 1500);
              if (rng.below(2) === 0) fixHeaders(frame);
            }
          }
        }
        if (frame.length > 0) {
          input = slipFrame(frame);
          link.input = input;
          link.pos = 0;
        }
      } else {
        input = mode === 'random' ? randomOctets(rng, rng.below(96)) : mutate(rng, tSeeds[rng.below(tSeeds.length)]!, 512);
        const s = sock!;
        s.input = input;
        s.pos = 0;
        // Now and then the peer closes.
        if (rng.below(512) === 0) s.remoteClosed = true;
        session!.poll(now);
        if (session!.done) {
          session!.reset();
          openSession();
        }
      }
      step();
      // Time moves by a little, and now and then by a lot (so timers, back-offs and timeouts fire).
      now += rng.below(64) === 0 ? 1 + rng.below(120_000) : 1 + rng.below(20);
    } catch (e) {
      throw new FuzzFailure(surface, mode, seed, i, input, e);
    }
  }
  const ms = performance.now() - started;

  // Let everything time out, then check.
  if (session !== null) (session as TelnetSession).reset();
  link.input = new Uint8Array(0);
  if (tcpSession !== null) {
    step();
    followBoard(tcpSession, link.takeOutput());
    endSession(tcpSession);
  }
  for (let t = 0; t < 40; t++) {
    now += 60_000;
    step();
  }
  // The ping's leading END also ends a frame the fuzz left half-decoded (which holds its slot).
  const before = board.iface.stats.icmp.echoReplied;
  link.input = slipFrame(echoRequest(new Uint8Array(32), 9, 0x4321));
  link.pos = 0;
  step();
  const answersPing = board.iface.stats.icmp.echoReplied === before + 1;
  const leakedSlots = board.pool.stats.used;
  const leakedSockets = board.tcp.used;
  board.shutdown();
  return {
    surface, mode, seed, inputs: iterations, ms, leakedSlots, leakedSockets, answersPing, framesOut: board.iface.stats.ip.xmit,
    echoedOctets: board.tcpEcho.echoed, problems: [], counters: {},
  };
}

/** Runs any surface: the synchronous ones at once, http on Node's event loop (virtual time). */
export async function runFuzz(surface: FuzzSurface, mode: FuzzMode, iterations: number, seed: number): Promise<FuzzResult> {
  return surface === 'http' ? fuzzHttp(mode, iterations, seed) : fuzz(surface, mode, iterations, seed);
}

