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
import { getRandomValues } from 'node:crypto';
import { PtyPair } from '../src/drivers/pty.ts';
import { SerialLink } from '../src/drivers/serial-link.ts';
import { Interface } from '../src/iface/interface.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartTimedLink } from '../src/phy/uart.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import { socketErrorName, SocketError } from '../src/socket/error.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../src/time.ts';
import { formatIpv4 } from '../src/wire/ipv4.ts';
import { BulkEndpoint } from '../support/bulk.ts';
import { randomBytes, sha256 } from '../support/pattern.ts';
import { TelnetClient } from '../support/telnet-client.ts';
import { Board } from '../firmware-bridge/board.ts';
import type { FirmwareConfig } from '../firmware-bridge/cli.ts';
import type { HwConfig } from './config.ts';
import { HardwareProblem, peerProblem, portProblem } from './diagnosis.ts';
import { PtyEcho, type EchoFault } from './loopback.ts';
import { Progress } from './progress.ts';
import { Rig } from './rig.ts';

/** The password of an in-process Board when TEST_PASSWORD is not set. */
export const DEFAULT_BOARD_PASSWORD = 'hw-test-password';
/** The port of the in-process Board's bulk sender (not a firmware service: only for in-process boards). */
export const BULK_PORT = 5001;

/** slipstack on this machine's end of the line: SLIP device, Interface, TCP. */
export class HostStack implements Pollable {
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
export class Pinger implements Pollable {
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
    this.payload = randomBytes(dataLen, 0x1ce);
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

function socketStateText(end: BulkEndpoint): string {
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
  const hostData = randomBytes(octets, 0xa11ce);
  const boardData = randomBytes(octets, 0xb0b);
  const listener = board.tcp.listen(BULK_PORT, 1);
  if (listener < 0) throw new Error(`hw: the board cannot listen on ${BULK_PORT}: ${socketErrorName(listener)}`);
  const progress = new Progress(label, 2 * octets, 'octets');
  let hostEnd: BulkEndpoint;
  const boardEnd = new BulkEndpoint(null, boardData, {
    accept: () => board.tcp.accept(listener), onProgress: () => progress.update(hostEnd.receivedLen + boardEnd.receivedLen),
  });
  const sock = line.host.tcp.connect(rig.now(), line.deviceIp, BULK_PORT);
  if (sock === null) throw new Error('hw: the host stack has no free socket');
  hostEnd = new BulkEndpoint(sock, hostData, { onProgress: () => progress.update(hostEnd.receivedLen + boardEnd.receivedLen) });
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
        `received ${hostEnd.receivedLen} of ${octets} (socket ${socketStateText(hostEnd)}), the board sent ${boardEnd.sent} and ` +
        `received ${boardEnd.receivedLen} (socket ${socketStateText(boardEnd)}). Likely cause: a line that loses or garbles ` +
        'frames faster than TCP recovers (run the loopback suite on each port), or a stalled flow control line.');
    }
    const want = { host: sha256(boardData), board: sha256(hostData) };
    const got = { host: hostEnd.receivedSha256(), board: boardEnd.receivedSha256() };
    if (hostEnd.error !== 0 || boardEnd.error !== 0) {
      throw new Error(`TCP bulk both ways ended with an error: host ${socketStateText(hostEnd)}, board ${socketStateText(boardEnd)}`);
    }
    if (got.host !== want.host || got.board !== want.board || hostEnd.receivedLen !== octets || boardEnd.receivedLen !== octets) {
      throw new HardwareProblem('corrupt',
        `TCP bulk both ways delivered different data on ${line.port}: the host received ${hostEnd.receivedLen} octets with ` +
        `SHA-256 ${got.host} (expected ${want.host}), the board ${boardEnd.receivedLen} with ${got.board} (expected ` +
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
  const data = randomBytes(octets, 0xec40);
  const progress = new Progress(label, 2 * octets, 'octets');
  const sock = line.host.tcp.connect(rig.now(), line.deviceIp, 7);
  if (sock === null) throw new Error('hw: the host stack has no free socket');
  const end = new BulkEndpoint(sock, data, { onProgress: () => progress.update(end.sent - sock.sendQueue + end.receivedLen) });
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
        `${end.sent} of ${octets}, ${end.receivedLen} came back (socket ${socketStateText(end)}). ` +
        (refused
          ? 'Likely cause: nothing listens on port 7: is the far end the slipstack firmware?'
          : 'Likely cause: a line that loses or garbles frames faster than TCP recovers (run the loopback suite on the ' +
            'port), or the firmware stopped (check its console).'));
    }
    const want = sha256(data);
    const got = end.receivedSha256();
    if (got !== want || end.receivedLen !== octets) {
      throw new HardwareProblem('corrupt',
        `TCP echo (port 7) returned different data on ${line.port}: ${end.receivedLen} of ${octets} octets, SHA-256 ${got} ` +
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

export interface TelnetResult {
  /** The `version` command's output (without the echoed command line). */
  version: string;
  /** From connect to logout, ms. */
  elapsedMs: number;
}

/** Logs in with `password`, runs `version`, then `exit`; expects "logout" and the connection closed. */
export async function checkTelnet(line: StackLine, password: string, timeoutMs = 30_000): Promise<TelnetResult> {
  const rig = line.rig;
  const sock = line.host.tcp.connect(rig.now(), line.deviceIp, 23);
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
