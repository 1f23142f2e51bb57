/**
 * The two-stack suite's machinery: a serial line with slipstack's TCP/IP on this machine's end
 * (the "host" stack, 192.0.2.1) and a board on the other (192.0.2.2), and the applications run
 * across it: ping, TCP bulk both ways, TCP echo (port 7), a telnet session.
 *
 * Three kinds of line, same checks:
 * - virtual: a pty pair; the Board (the whole firmware stack, as firmware-bridge/firmware.ts
 *   builds it, with --uart-timing) on the master, the host stack on a SerialLink on the slave,
 *   paced by a UartTimedLink. Both ends run in this process, on one HostLoop.
 * - two ports (TEST_PORT_A, TEST_PORT_B wired to each other): the host stack on A, a Board on B.
 * - a board running the firmware (TEST_PORT_A, TEST_PEER=firmware): the host stack on A only;
 *   the checks talk to the firmware's own services.
 */
import { createHash, getRandomValues, type Hash } from 'node:crypto';
import type { Steppable } from '../src/drivers/host-loop.ts';
import { PtyPair } from '../src/drivers/pty.ts';
import { SerialLink } from '../src/drivers/serial-link.ts';
import { Interface } from '../src/iface/interface.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import { socketErrorName, SocketError } from '../src/socket/error.ts';
import { TcpStack } from '../src/socket/tcp-stack.ts';
import { TcpState, type TcpSocket } from '../src/socket/tcp.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER } from '../src/time.ts';
import { formatIpv4 } from '../src/wire/ipv4.ts';
import { Board } from '../firmware-bridge/board.ts';
import type { FirmwareConfig } from '../firmware-bridge/cli.ts';
import type { HwConfig } from './config.ts';
import { HardwareProblem, peerProblem, portProblem } from './diagnosis.ts';
import { patternBytes, PtyEcho, type EchoFault } from './loopback.ts';
import { Progress } from './progress.ts';
import { Rig } from './rig.ts';

/** The password of an in-process Board when TEST_PASSWORD is not set. */
export const DEFAULT_BOARD_PASSWORD = 'hw-test-password';
/** The port of the in-process Board's bulk sender (not a firmware service: only for in-process boards). */
export const BULK_PORT = 5001;

/** slipstack on this machine's end of the line: SLIP device, Interface, TCP. */
export class HostStack implements Steppable {
  readonly pool: PacketPool;
  readonly slip: SlipDevice;
  readonly tcp: TcpStack;
  readonly iface: Interface;

  constructor(link: ByteLink, address: number, mtu: number) {
    this.pool = new PacketPool({ slots: 64, mtu, name: 'host' });
    this.slip = new SlipDevice(link, this.pool, { txQueue: 16, rxQueue: 16 });
    this.tcp = new TcpStack({ sockets: 8, txBufferLen: 32 * 1024, rxBufferLen: 32 * 1024, isnKey: getRandomValues(new Uint32Array(4)) });
    this.iface = new Interface({ device: this.slip, address, tcp: this.tcp });
  }

  poll(now: number): boolean {
    return this.iface.poll(now);
  }

  pollAt(now: number): number {
    return this.iface.pollAt(now);
  }
}

/** The line between the host stack and a board. */
export interface StackLine {
  /** For messages: "/dev/ttyUSB0" or "/dev/pts/4 (virtual pty pair)". */
  readonly port: string;
  /** For the report. */
  readonly where: string;
  readonly hardware: boolean;
  readonly baud: number;
  readonly rtscts: boolean;
  readonly mtu: number;
  readonly rig: Rig;
  readonly host: HostStack;
  /** The in-process board, or null when the firmware runs on real hardware. */
  readonly board: Board | null;
  /** For messages: who is on the far end. */
  readonly peerName: string;
  readonly deviceIp: number;
  /** The telnet password, or null when unknown (firmware without TEST_PASSWORD). */
  readonly password: string | null;
  close(): Promise<void>;
}

function boardConfig(cfg: HwConfig, port: string, uartTiming: boolean): FirmwareConfig {
  return {
    port, baud: cfg.baud, rtscts: cfg.rtscts, ip: cfg.deviceIp, peer: cfg.hostIp, mtu: cfg.mtu, proto: 'adaptive',
    password: cfg.password ?? DEFAULT_BOARD_PASSWORD, insecureNoLogin: false, pcap: null, verbose: false, uartTiming,
    dropPct: 0, reorderPct: 0, seed: 1, sockets: 8,
  };
}

function newBoard(link: ByteLink, config: FirmwareConfig): Board {
  return new Board({
    link, config, isnKey: getRandomValues(new Uint32Array(4)), version: 'hw-test', imageSha256: 'in-process (hw test rig)',
  });
}

async function openSerial(path: string, cfg: HwConfig, role: string): Promise<SerialLink> {
  try {
    return await SerialLink.open(path, { baud: cfg.baud, rtscts: cfg.rtscts });
  } catch (error) {
    throw portProblem(path, error, role);
  }
}

/**
 * A pty pair: a Board on the master (UART timing on), the host stack on the slave (paced too).
 * With `far` other than 'board', the master has no board: a PtyEcho with that fault instead
 * ('none': nobody there, 'echo': our own frames come back as a mis-wired loop), for the diagnosis tests.
 */
export async function openVirtualStacks(cfg: HwConfig, far: 'board' | EchoFault = 'board'): Promise<StackLine> {
  const pair = await PtyPair.open({ slave: 'serial', baud: cfg.baud });
  const rig = new Rig();
  rig.watch(pair.master);
  rig.watch(pair.slave);
  const board = far === 'board' ? newBoard(pair.master, boardConfig(cfg, 'pty master', true)) : null;
  const host = new HostStack(new UartTimedLink(pair.slave, cfg.baud), cfg.hostIp, cfg.mtu);
  rig.add(board ?? new PtyEcho(pair.master, far as EchoFault));
  rig.add(host);
  return {
    port: `${pair.slavePath} (virtual pty pair)`, where: 'virtual pty (NO HARDWARE)', hardware: false,
    baud: cfg.baud, rtscts: false, mtu: cfg.mtu, rig, host, board,
    peerName: board !== null ? 'the Board on the pty master' : 'the far end of the pty',
    deviceIp: cfg.deviceIp, password: cfg.password ?? DEFAULT_BOARD_PASSWORD,
    async close() {
      await rig.stop();
      board?.slip.close();
      host.slip.close();
      await pair.close();
    },
  };
}

/** TEST_PORT_A and TEST_PORT_B wired to each other: the host stack on A, a Board on B. */
export async function openHardwareStacks(cfg: HwConfig, pathA: string, pathB: string): Promise<StackLine> {
  const a = await openSerial(pathA, cfg, 'port A (TEST_PORT_A)');
  let b: SerialLink;
  try {
    b = await openSerial(pathB, cfg, 'port B (TEST_PORT_B)');
  } catch (error) {
    await a.close();
    throw error;
  }
  const rig = new Rig();
  rig.watch(a);
  rig.watch(b);
  const board = newBoard(b, boardConfig(cfg, pathB, false));
  const host = new HostStack(a, cfg.hostIp, cfg.mtu);
  rig.add(board);
  rig.add(host);
  return {
    port: `${pathA} <-> ${pathB}`, where: `${pathA} <-> ${pathB}`, hardware: true, baud: cfg.baud, rtscts: cfg.rtscts,
    mtu: cfg.mtu, rig, host, board, peerName: `the Board on ${pathB}`, deviceIp: cfg.deviceIp,
    password: cfg.password ?? DEFAULT_BOARD_PASSWORD,
    async close() {
      await rig.stop();
      board.slip.close();
      host.slip.close();
      await a.close();
      await b.close();
    },
  };
}

/** TEST_PORT_A wired to a board running the firmware: only the host stack is ours. */
export async function openFirmwarePeer(cfg: HwConfig, pathA: string): Promise<StackLine> {
  const a = await openSerial(pathA, cfg, 'port A (TEST_PORT_A)');
  const rig = new Rig();
  rig.watch(a);
  const host = new HostStack(a, cfg.hostIp, cfg.mtu);
  rig.add(host);
  return {
    port: pathA, where: `${pathA} -> firmware`, hardware: true, baud: cfg.baud, rtscts: cfg.rtscts, mtu: cfg.mtu, rig, host,
    board: null, peerName: 'the firmware on the board', deviceIp: cfg.deviceIp, password: cfg.password,
    async close() {
      await rig.stop();
      host.slip.close();
      await a.close();
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Ping

export interface PingResult {
  transmitted: number;
  received: number;
  rttMinMs: number;
  rttAvgMs: number;
  rttMaxMs: number;
  /** Replies whose payload differed from the request's. */
  corrupted: number;
}

/** ICMP echo from the host stack, one request at a time (the next as soon as a reply is in, or after a timeout). */
export class Pinger implements Steppable {
  readonly socket = new IcmpSocket({ rxBuffer: new Uint8Array(4096), txBuffer: new Uint8Array(4096) });
  transmitted = 0;
  received = 0;
  corrupted = 0;
  readonly rtts: number[] = [];
  private readonly payload: Uint8Array;
  private readonly reply: Uint8Array;
  private readonly iface: Interface;
  private readonly address: number;
  private readonly count: number;
  private readonly timeoutMs: number;
  private seq = 0;
  private sentAt = 0;
  private waiting = false;
  private readonly progress: Progress | null;

  constructor(iface: Interface, address: number, count: number, timeoutMs: number, dataLen = 56, progress: Progress | null = null) {
    this.iface = iface;
    this.address = address;
    this.count = count;
    this.timeoutMs = timeoutMs;
    this.payload = patternBytes(dataLen, 0x1ce);
    this.reply = new Uint8Array(dataLen + 64);
    this.progress = progress;
    this.socket.bind(0x4857);
    const handle = iface.addIcmpSocket(this.socket);
    if (handle < 0) throw new Error(`hw: cannot add the ping socket: ${socketErrorName(handle)}`);
  }

  get done(): boolean {
    return this.transmitted >= this.count && !this.waiting;
  }

  poll(now: number): boolean {
    let progress = false;
    for (;;) {
      const n = this.socket.recvEcho(this.reply, 0, this.reply.length);
      if (n < 0) break;
      progress = true;
      if (!this.waiting || this.socket.seqNo !== this.seq || this.socket.remoteAddress !== this.address) continue;
      this.waiting = false;
      this.received++;
      this.rtts.push(now - this.sentAt);
      if (n !== this.payload.length || this.payload.some((b, i) => b !== this.reply[i])) this.corrupted++;
      this.progress?.update(this.transmitted);
    }
    if (this.waiting && now - this.sentAt >= this.timeoutMs) {
      this.waiting = false; // lost
      progress = true;
    }
    if (!this.waiting && this.transmitted < this.count) {
      this.seq = (this.seq + 1) & 0xffff;
      if (this.socket.sendEcho(this.address, this.seq, this.payload, 0, this.payload.length) > 0) {
        this.transmitted++;
        this.sentAt = now;
        this.waiting = true;
        progress = true;
      }
    }
    return progress;
  }

  pollAt(now: number): number {
    if (this.waiting) return this.sentAt + this.timeoutMs;
    return this.transmitted < this.count ? now : NEVER;
  }

  result(): PingResult {
    const r = this.rtts;
    return {
      transmitted: this.transmitted,
      received: this.received,
      rttMinMs: r.length ? Math.min(...r) : 0,
      rttAvgMs: r.length ? r.reduce((a, b) => a + b, 0) / r.length : 0,
      rttMaxMs: r.length ? Math.max(...r) : 0,
      corrupted: this.corrupted,
    };
  }

  close(): void {
    this.iface.removeIcmpSocket(this.socket);
    this.socket.close();
  }
}

/**
 * Waits for the far end to answer one ping (a request a second for `waitMs`); on silence, explains
 * by how far the octets got (nothing at all, garbage, frames but no reply).
 */
export async function checkPeerAnswers(line: StackLine, waitMs: number): Promise<number> {
  const rig = line.rig;
  const pinger = new Pinger(line.host.iface, line.deviceIp, Math.ceil(waitMs / 1000), 1000);
  rig.add(pinger);
  const started = rig.now();
  try {
    const end = await rig.until(() => pinger.received > 0 || pinger.done, { timeoutMs: waitMs + 500 });
    if (end === 'done' && pinger.received > 0) return rig.now() - started;
    const s = line.host.slip.stats;
    const d = s.decoder;
    throw peerProblem({
      port: line.port, baud: line.baud, rtscts: line.rtscts, peer: line.peerName, address: formatIpv4(line.deviceIp),
      waitedMs: waitMs, rxBytes: s.rxBytes, rxFrames: s.rxFrames, badFrames: d.runt + d.oversize + d.badEscape,
      notForUs: line.host.iface.stats.ip.badDst + line.host.iface.stats.ip.badSrc,
    });
  } finally {
    rig.remove(pinger);
    pinger.close();
  }
}

// -------------------------------------------------------------------------------------------------
// TCP

/**
 * One end of a TCP transfer: sends `data` (then a FIN), reads everything the other end sends
 * into a SHA-256, and closes once both are done. Works for an active opener (`sock` given) or a
 * listener (`accept` polled until it yields a socket).
 */
export class BulkEnd implements Steppable {
  sock: TcpSocket | null;
  sent = 0;
  received = 0;
  eof = false;
  closed = false;
  /** A socket error that ended the transfer, or 0. */
  error = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest: string | null = null;
  private readonly data: Uint8Array;
  private readonly buffer = new Uint8Array(16 * 1024);
  private readonly accept: (() => TcpSocket | null) | null;
  private readonly onProgress: (() => void) | null;

  constructor(sock: TcpSocket | null, data: Uint8Array, accept: (() => TcpSocket | null) | null, onProgress: (() => void) | null = null) {
    this.sock = sock;
    this.data = data;
    this.accept = accept;
    this.onProgress = onProgress;
  }

  get done(): boolean {
    return this.closed;
  }

  /** SHA-256 (hex) of everything received; valid once done. */
  receivedSha256(): string {
    if (this.digest === null) this.digest = this.hash.digest('hex');
    return this.digest;
  }

  poll(_now: number): boolean {
    if (this.sock === null && this.accept !== null) this.sock = this.accept();
    const s = this.sock;
    if (s === null || this.closed) return false;
    let progress = false;
    while (this.sent < this.data.length) {
      const n = s.send(this.data, this.sent, this.data.length - this.sent);
      if (n <= 0) {
        if (n < 0 && n !== SocketError.WouldBlock && s.state === TcpState.Closed) this.error = s.error || n;
        break;
      }
      this.sent += n;
      progress = true;
    }
    if (this.sent === this.data.length && !s.finQueued && s.state !== TcpState.Closed && s.state !== TcpState.SynSent) {
      s.shutdown();
      progress = true;
    }
    for (;;) {
      const n = s.recv(this.buffer, 0, this.buffer.length);
      if (n > 0) {
        this.hash.update(this.buffer.subarray(0, n));
        this.received += n;
        progress = true;
        continue;
      }
      if (n === 0) this.eof = true;
      else if (n !== SocketError.WouldBlock) {
        this.error = n;
        this.eof = true;
      }
      break;
    }
    if (this.eof && (this.sent === this.data.length || this.error !== 0) && !this.closed) {
      s.close();
      this.closed = true;
      progress = true;
    }
    if (progress) this.onProgress?.();
    return progress;
  }

  pollAt(_now: number): number {
    return NEVER;
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BulkResult {
  /** Octets each way. */
  octets: number;
  seconds: number;
  /** Octets per second, each direction (they run at once). */
  hostToBoard: number;
  boardToHost: number;
  retransmits: number;
}

/** Timeout for moving `octets` each way at `rate` octets/s: three times the ideal, plus slack. */
export function transferTimeoutMs(octets: number, rate: number): number {
  return Math.ceil((3 * octets * 1000) / rate) + 20_000;
}

function socketStateText(end: BulkEnd): string {
  const s = end.sock;
  if (s === null) return 'never connected';
  return `${s.stateName}${end.error !== 0 ? `, ${socketErrorName(end.error)}` : ''}`;
}

/**
 * Both stacks send `octets` of their own pseudo-random data to each other at once; each checks
 * the SHA-256 of what it received. Needs an in-process board (it runs the board's side).
 */
export async function checkBulkBothWays(line: StackLine, octets: number, label: string): Promise<BulkResult> {
  const board = line.board;
  if (board === null) throw new Error('hw: the both-ways bulk check needs an in-process board');
  const rig = line.rig;
  const hostData = patternBytes(octets, 0xa11ce);
  const boardData = patternBytes(octets, 0xb0b);
  const listener = board.tcp.listen(BULK_PORT, 1);
  if (listener < 0) throw new Error(`hw: the board cannot listen on ${BULK_PORT}: ${socketErrorName(listener)}`);
  const progress = new Progress(label, 2 * octets, 'octets');
  let hostEnd: BulkEnd;
  const boardEnd = new BulkEnd(null, boardData, () => board.tcp.accept(listener), () => progress.update(hostEnd.received + boardEnd.received));
  const sock = line.host.tcp.connect(rig.now(), line.host.iface.address, line.host.iface.mss, line.deviceIp, BULK_PORT);
  if (sock === null) throw new Error('hw: the host stack has no free socket');
  hostEnd = new BulkEnd(sock, hostData, null, () => progress.update(hostEnd.received + boardEnd.received));
  const retransmitsBefore = line.host.tcp.stats.retransSegs + board.tcp.stats.retransSegs;
  const started = performance.now();
  rig.add(hostEnd);
  rig.add(boardEnd);
  try {
    const end = await rig.until(() => hostEnd.done && boardEnd.done, { timeoutMs: transferTimeoutMs(octets, line.baud / 10) });
    const seconds = (performance.now() - started) / 1000;
    progress.done();
    if (end !== 'done') {
      throw new HardwareProblem('lost',
        `TCP bulk both ways did not finish in ${seconds.toFixed(0)} s on ${line.port}: the host sent ${hostEnd.sent} and ` +
        `received ${hostEnd.received} of ${octets} (socket ${socketStateText(hostEnd)}), the board sent ${boardEnd.sent} and ` +
        `received ${boardEnd.received} (socket ${socketStateText(boardEnd)}). Likely cause: a line that loses or garbles ` +
        'frames faster than TCP recovers (run the loopback suite on each port), or a stalled flow control line.');
    }
    const want = { host: sha256(boardData), board: sha256(hostData) };
    const got = { host: hostEnd.receivedSha256(), board: boardEnd.receivedSha256() };
    if (hostEnd.error !== 0 || boardEnd.error !== 0) {
      throw new Error(`TCP bulk both ways ended with an error: host ${socketStateText(hostEnd)}, board ${socketStateText(boardEnd)}`);
    }
    if (got.host !== want.host || got.board !== want.board || hostEnd.received !== octets || boardEnd.received !== octets) {
      throw new HardwareProblem('corrupt',
        `TCP bulk both ways delivered different data on ${line.port}: the host received ${hostEnd.received} octets with ` +
        `SHA-256 ${got.host} (expected ${want.host}), the board ${boardEnd.received} with ${got.board} (expected ` +
        `${want.board}). TCP and IPv4 checksums should have caught corruption on the line; this points at the stack. ` +
        'Keep the output and report it.');
    }
    return {
      octets, seconds, hostToBoard: octets / seconds, boardToHost: octets / seconds,
      retransmits: line.host.tcp.stats.retransSegs + board.tcp.stats.retransSegs - retransmitsBefore,
    };
  } finally {
    progress.done();
    rig.remove(hostEnd);
    rig.remove(boardEnd);
    board.tcp.unlisten(listener);
  }
}

/** Sends `octets` to the board's echo service (port 7) and checks the SHA-256 of what comes back. */
export async function checkEcho7(line: StackLine, octets: number, label: string): Promise<BulkResult> {
  const rig = line.rig;
  const data = patternBytes(octets, 0xec40);
  const progress = new Progress(label, 2 * octets, 'octets');
  const sock = line.host.tcp.connect(rig.now(), line.host.iface.address, line.host.iface.mss, line.deviceIp, 7);
  if (sock === null) throw new Error('hw: the host stack has no free socket');
  const end = new BulkEnd(sock, data, null, () => progress.update(end.sent - sock.sendQueue + end.received));
  const retransmitsBefore = line.host.tcp.stats.retransSegs;
  const started = performance.now();
  rig.add(end);
  try {
    const how = await rig.until(() => end.done, { timeoutMs: transferTimeoutMs(octets, line.baud / 10) });
    const seconds = (performance.now() - started) / 1000;
    progress.done();
    if (how !== 'done' || end.error !== 0) {
      const refused = end.error === SocketError.ConnectionRefused;
      throw new HardwareProblem('lost',
        `TCP echo (port 7) on ${line.peerName} did not finish in ${seconds.toFixed(0)} s on ${line.port}: sent ` +
        `${end.sent} of ${octets}, ${end.received} came back (socket ${socketStateText(end)}). ` +
        (refused
          ? 'Likely cause: nothing listens on port 7: is the far end the slipstack firmware?'
          : 'Likely cause: a line that loses or garbles frames faster than TCP recovers (run the loopback suite on the ' +
            'port), or the firmware stopped (check its console).'));
    }
    const want = sha256(data);
    const got = end.receivedSha256();
    if (got !== want || end.received !== octets) {
      throw new HardwareProblem('corrupt',
        `TCP echo (port 7) returned different data on ${line.port}: ${end.received} of ${octets} octets, SHA-256 ${got} ` +
        `(expected ${want}). TCP and IPv4 checksums should have caught corruption on the line; this points at a stack. ` +
        'Keep the output and report it.');
    }
    return {
      octets, seconds, hostToBoard: octets / seconds, boardToHost: octets / seconds,
      retransmits: line.host.tcp.stats.retransSegs - retransmitsBefore,
    };
  } finally {
    progress.done();
    rig.remove(end);
  }
}

// -------------------------------------------------------------------------------------------------
// Telnet

const IAC = 255, WILL = 251, WONT = 252, DO = 253, DONT = 254, SB = 250, SE = 240;
const ECHO = 1, SGA = 3, NAWS = 31;

/** A small telnet client on the host stack: answers negotiation as netkit telnet does, collects the text. */
export class TelnetClient implements Steppable {
  readonly sock: TcpSocket;
  text = '';
  eof = false;
  private cursor = 0;
  private out: number[] = [];
  private readonly buffer = new Uint8Array(4096);
  private state = 0;
  private verb = 0;
  private readonly answered = new Set<string>();

  constructor(sock: TcpSocket) {
    this.sock = sock;
  }

  line(text: string): void {
    for (let i = 0; i < text.length; i++) this.out.push(text.charCodeAt(i) & 0xff);
    this.out.push(13, 10);
  }

  /** True when `pattern` is in the text not yet taken. */
  has(pattern: string): boolean {
    return this.text.indexOf(pattern, this.cursor) >= 0;
  }

  /** The text up to and including `pattern`, and moves past it. */
  take(pattern: string): string {
    const at = this.text.indexOf(pattern, this.cursor);
    if (at < 0) return '';
    const chunk = this.text.slice(this.cursor, at + pattern.length);
    this.cursor = at + pattern.length;
    return chunk;
  }

  get unread(): string {
    return this.text.slice(this.cursor);
  }

  poll(_now: number): boolean {
    const s = this.sock;
    let progress = false;
    if (this.out.length > 0 && s.state !== TcpState.SynSent) {
      const chunk = Uint8Array.from(this.out.slice(0, 1024));
      const n = s.send(chunk, 0, chunk.length);
      if (n > 0) {
        this.out = this.out.slice(n);
        progress = true;
      }
    }
    for (;;) {
      const n = s.recv(this.buffer, 0, this.buffer.length);
      if (n > 0) {
        for (let i = 0; i < n; i++) this.decode(this.buffer[i]!);
        progress = true;
        continue;
      }
      if (n !== SocketError.WouldBlock && !this.eof) {
        this.eof = true;
        s.close();
        progress = true;
      }
      break;
    }
    return progress;
  }

  pollAt(now: number): number {
    return this.out.length > 0 && this.sock.state !== TcpState.SynSent && this.sock.sendSpace > 0 ? now : NEVER;
  }

  private decode(b: number): void {
    switch (this.state) {
      case 0:
        if (b === IAC) this.state = 1;
        else if (b !== 0) this.text += String.fromCharCode(b);
        return;
      case 1:
        if (b === WILL || b === WONT || b === DO || b === DONT) {
          this.verb = b;
          this.state = 2;
        } else if (b === SB) this.state = 3;
        else {
          if (b === IAC) this.text += '\xff';
          this.state = 0;
        }
        return;
      case 2:
        this.state = 0;
        this.negotiate(this.verb, b);
        return;
      case 3:
        if (b === IAC) this.state = 4;
        return;
      default:
        this.state = b === SE ? 0 : 3;
    }
  }

  private negotiate(verb: number, option: number): void {
    const key = `${verb} ${option}`;
    if (this.answered.has(key)) return;
    this.answered.add(key);
    if (verb === WILL) this.out.push(IAC, option === ECHO || option === SGA ? DO : DONT, option);
    else if (verb === DO && option === NAWS) this.out.push(IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE);
    else if (verb === DO) this.out.push(IAC, WONT, option);
  }
}

export interface TelnetResult {
  /** The `version` command's output (without the echoed command line). */
  version: string;
  /** From connect to logout, ms. */
  elapsedMs: number;
}

/** Logs in with `password`, runs `version`, then `exit`; expects "logout" and the connection closed. */
export async function checkTelnet(line: StackLine, password: string, timeoutMs = 30_000): Promise<TelnetResult> {
  const rig = line.rig;
  const sock = line.host.tcp.connect(rig.now(), line.host.iface.address, line.host.iface.mss, line.deviceIp, 23);
  if (sock === null) throw new Error('hw: the host stack has no free socket');
  const client = new TelnetClient(sock);
  const started = rig.now();
  rig.add(client);
  const expect = async (pattern: string, what: string): Promise<string> => {
    const end = await rig.until(() => client.has(pattern) || client.eof, { timeoutMs });
    if (client.has(pattern)) return client.take(pattern);
    throw new HardwareProblem('peer-no-reply',
      `Telnet to ${line.peerName} (${formatIpv4(line.deviceIp)}:23) on ${line.port}: waited ${end === 'timeout' ? `${timeoutMs / 1000} s` : 'until the connection closed'} ` +
      `for ${what} (${JSON.stringify(pattern)}) and got ${JSON.stringify(client.unread.slice(-200))} ` +
      `(socket ${sock.stateName}${sock.error !== 0 ? `, ${socketErrorName(sock.error)}` : ''}). ` +
      (sock.error === SocketError.ConnectionRefused
        ? 'Likely cause: telnet is off on the board: the firmware runs telnet only with --password (or SLIPSTACK_PASSWORD).'
        : what === 'the shell prompt after the password'
          ? 'Likely cause: the password was refused: TEST_PASSWORD must be the firmware\'s --password.'
          : 'Likely cause: the far end stopped answering; check its console.'));
  };
  try {
    await expect('Password: ', 'the password prompt');
    client.line(password);
    const afterLogin = await expect('> ', 'the shell prompt after the password');
    if (afterLogin.includes('Login incorrect')) {
      throw new HardwareProblem('peer-no-reply', `Telnet login to ${line.peerName} failed: "Login incorrect". Check: TEST_PASSWORD must be the firmware's --password.`);
    }
    client.line('version');
    const output = await expect('> ', 'the output of version');
    const version = output.replace(/^version\r\n/, '').replace(/\r\n[^\r\n]*> $/, '');
    if (!/slipstack firmware /.test(version)) {
      throw new HardwareProblem('peer-no-reply', `Telnet: 'version' printed ${JSON.stringify(output)}, not "slipstack firmware …".`);
    }
    client.line('exit');
    await expect('logout', 'logout');
    const closed = await rig.until(() => client.eof, { timeoutMs });
    if (closed !== 'done') throw new HardwareProblem('peer-no-reply', `Telnet: after exit the board did not close the connection within ${timeoutMs / 1000} s.`);
    // The image hash is 64 hex digits: 12 are enough for the table.
    const shown = version.trim().split('\r\n').join('; ').replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/, '$1…');
    return { version: shown, elapsedMs: rig.now() - started };
  } finally {
    rig.remove(client);
    if (!client.eof) sock.abort();
  }
}
