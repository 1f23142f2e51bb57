/**
 * What the telnet shell prints, as pure functions of plain data: no sockets, no session state,
 * no clock. Lines end in "\n"; the session turns every "\n" into CR LF on the way out (NVT).
 * This is the UI path, so building strings here is fine.
 */
import { formatIpv4 } from '../../src/wire/ipv4.ts';
import { PING_INTERVAL_MS, PING_MAX_COUNT, PING_MAX_DATA_LEN, XFER_MAX_OCTETS } from '../limits.ts';

/** One command line split into the command word and its arguments. */
export interface CommandLine {
  /** The first word ('' for an empty line). */
  command: string;
  /** The remaining words. */
  args: string[];
  /** Everything after the command word and the blanks that follow it, as typed. */
  rest: string;
}

/** Splits a command line at blanks (spaces and tabs). */
export function parseCommandLine(line: string): CommandLine {
  const trimmed = line.replace(/^[ \t]+/, '');
  const m = /^(\S*)[ \t]*(.*)$/s.exec(trimmed)!;
  const command = m[1]!;
  const rest = m[2]!;
  const args = rest.split(/[ \t]+/).filter((w) => w.length > 0);
  return { command, args, rest: rest.replace(/[ \t]+$/, '') };
}

export const HELP_TEXT =
  'commands:\n' +
  '  help                 this list\n' +
  '  version              firmware version and image SHA-256\n' +
  '  uptime               time since the device started\n' +
  '  ifconfig             address, peer, MTU and link counters\n' +
  '  netstat              TCP sockets with their state and queues\n' +
  '  stats                counters of every layer\n' +
  '  pool                 packet pool and reassembly buffer usage\n' +
  '  ping <ip> [-c n] [-s size] [-i secs]  ICMP echo from the device (Ctrl-C stops it)\n' +
  '  xfer <ip> <port> <n> connect out, send n pattern octets, read to EOF, print SHA-256s\n' +
  '  echo <text>          print the text\n' +
  '  exit, logout         end the session\n';

export function formatHelp(): string {
  return HELP_TEXT;
}

export function formatUnknownCommand(command: string): string {
  return `unknown command: ${command} (try help)\n`;
}

export function formatVersion(version: string, imageSha256: string): string {
  return `slipstack firmware ${version}\nimage sha256 ${imageSha256}\n`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** "up 2 days, 03:04:05, 1 session" from milliseconds since start. */
export function formatUptime(uptimeMs: number, sessions: number): string {
  const total = Math.max(0, Math.floor(uptimeMs / 1000));
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const d = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : '';
  return `up ${d}${pad2(h)}:${pad2(m)}:${pad2(s)}, ${sessions} session${sessions === 1 ? '' : 's'}\n`;
}

/** Counters as "name value" pairs: every numeric field, nested objects flattened as "outer.inner". */
export function flattenCounters(counters: object, prefix = '', out: [string, number][] = []): [string, number][] {
  for (const [key, value] of Object.entries(counters)) {
    if (typeof value === 'number') out.push([prefix + key, value]);
    else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) flattenCounters(value as object, `${prefix}${key}.`, out);
  }
  return out;
}

/**
 * A block of counters: "title:" then "name value" pairs, two blanks apart, wrapped so no line
 * is longer than `width` characters.
 */
export function formatCounters(title: string, counters: object, width = 78): string {
  const pairs = flattenCounters(counters);
  let text = `${title}:\n`;
  let line = '';
  for (const [name, value] of pairs) {
    const item = `  ${name} ${value}`;
    if (line.length > 0 && line.length + item.length > width) {
      text += `${line}\n`;
      line = '';
    }
    line += item;
  }
  if (line.length > 0) text += `${line}\n`;
  return text;
}

export interface IfconfigInfo {
  /** Interface name, e.g. "sl0". */
  name: string;
  address: number;
  /** Peer address, or null when not configured. */
  peer: number | null;
  mtu: number;
  mss: number;
  /** Frames and datagrams counted by IPv4. */
  ip: { recv: number; xmit: number; drop: number; memerr: number };
  /** The link device's own counters, when it keeps any. */
  device: object | null;
  /** Lines about the link (mode, hints), each ending in "\n", shown indented at the end. */
  notes?: string;
}

export function formatIfconfig(info: IfconfigInfo): string {
  const peer = info.peer === null ? '-' : formatIpv4(info.peer);
  let text = `${info.name}: flags=UP,POINTOPOINT,RUNNING  mtu ${info.mtu}\n`;
  text += `        inet ${formatIpv4(info.address)}  peer ${peer}  mss ${info.mss}\n`;
  text += `        RX packets ${info.ip.recv}  dropped ${info.ip.drop}\n`;
  text += `        TX packets ${info.ip.xmit}  no buffer ${info.ip.memerr}\n`;
  if (info.device !== null) {
    // The link's counters, wrapped under "link:" like the lines above.
    let line = '        link: ';
    let items = 0;
    for (const [name, value] of flattenCounters(info.device)) {
      const item = `${name} ${value}`;
      if (items > 0 && line.length + 2 + item.length > 78) {
        text += `${line}\n`;
        line = '              ';
        items = 0;
      }
      line += items > 0 ? `  ${item}` : item;
      items++;
    }
    text += `${line}\n`;
  }
  for (const note of (info.notes ?? '').split('\n')) if (note !== '') text += `        ${note}\n`;
  return text;
}

/** What netstat needs of a TCP socket (a TcpSocket has all of it). */
export interface NetstatSocket {
  readonly inUse: boolean;
  readonly stateName: string;
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly recvQueue: number;
  readonly sendQueue: number;
}

function column(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

function rightColumn(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/**
 * netstat -tan: listeners first, then every socket in use with its state and the octets waiting
 * in its receive and send rings.
 */
export function formatNetstat(listenPorts: readonly number[], sockets: readonly NetstatSocket[], socketsTotal: number): string {
  let text = 'Proto Recv-Q Send-Q Local Address          Foreign Address        State\n';
  for (const port of listenPorts) {
    text += `tcp   ${rightColumn('0', 6)} ${rightColumn('0', 6)} ${column(`0.0.0.0:${port}`, 22)} ${column('0.0.0.0:*', 22)} LISTEN\n`;
  }
  let used = 0;
  for (const s of sockets) {
    if (!s.inUse) continue;
    used++;
    const local = `${formatIpv4(s.localAddr)}:${s.localPort}`;
    const remote = `${formatIpv4(s.remoteAddr)}:${s.remotePort}`;
    text += `tcp   ${rightColumn(`${s.recvQueue}`, 6)} ${rightColumn(`${s.sendQueue}`, 6)} ${column(local, 22)} ${column(remote, 22)} ${s.stateName}\n`;
  }
  text += `${used} of ${socketsTotal} TCP sockets in use\n`;
  return text;
}

export interface PoolInfo {
  name: string;
  slots: number;
  mtu: number;
  stats: { used: number; max: number; err: number };
  reassembly: { buffers: number; used: number; size: number; stats: object };
  tcp: { sockets: number; used: number; ringBytes: number } | null;
  /** The board's memory against its --profile budget (octets; allocated -1 when not measured). */
  memory: { profile: string; allocated: number; budget: number | null } | null;
}

/** lwIP `stats_display_memp` style: used / max / err per pool, then the reassembly buffers. */
export function formatPool(info: PoolInfo): string {
  let text = `${info.name}: used ${info.stats.used} / max ${info.stats.max} / size ${info.slots}  err ${info.stats.err}  (${info.mtu} octets each)\n`;
  text += `reassembly: used ${info.reassembly.used} / size ${info.reassembly.buffers}  (${info.reassembly.size} octets each)\n`;
  text += formatCounters('reassembly stats', info.reassembly.stats);
  if (info.tcp !== null) {
    text += `tcp sockets: used ${info.tcp.used} / size ${info.tcp.sockets}  (rings ${info.tcp.ringBytes} octets)\n`;
  }
  return text + formatMemory(info.memory);
}

/** The board's memory against its --profile budget, one line (empty when unknown). */
function formatMemory(m: PoolInfo['memory']): string {
  if (m === null) return '';
  const allocated = m.allocated >= 0 ? `${m.allocated} octets allocated at start` : 'allocation not measured';
  return `memory: ${allocated} / budget ${m.budget === null ? 'none' : `${m.budget} octets`}  (profile ${m.profile})\n`;
}

export interface StatsInfo {
  ip: object;
  icmp: object;
  udp: object;
  tcp: object | null;
  device: object | null;
  telnet: object | null;
  /** The board's memory against its budget; absent or null prints nothing. */
  memory?: PoolInfo['memory'];
  /** Packet pool high-water mark against its size; absent prints nothing. */
  pool?: { name: string; max: number; slots: number; err: number };
  /** Lines about the link (mode, hints), each ending in "\n", shown after the link's counters. */
  notes?: string;
}

export function formatStats(info: StatsInfo): string {
  let text = formatCounters('ip', info.ip) + formatCounters('icmp', info.icmp) + formatCounters('udp', info.udp);
  if (info.tcp !== null) text += formatCounters('tcp', info.tcp);
  if (info.device !== null) text += formatCounters('link', info.device);
  if (info.notes !== undefined) text += info.notes;
  if (info.telnet !== null) text += formatCounters('telnet', info.telnet);
  if (info.pool !== undefined) text += `${info.pool.name}: max ${info.pool.max} / size ${info.pool.slots}  err ${info.pool.err}\n`;
  return text + formatMemory(info.memory ?? null);
}

// ---------------------------------------------------------------------------------------------
// ping, worded like Linux iputils ping (times are whole milliseconds: the clock's resolution).

export interface PingArgs {
  address: number;
  /** Requests to send; 0 means until interrupted (at most PING_MAX_COUNT). */
  count: number;
  /** -s: payload octets, when given. */
  dataLen?: number;
  /** -i: interval between requests, ms, when given. */
  intervalMs?: number;
}

const PING_USAGE = 'usage: ping <ip> [-c n] [-s size] [-i secs]\n';

/** Parses "ping" arguments: an address and optionally "-c n". Returns the arguments or an error line. */
export function parsePingArgs(args: readonly string[]): PingArgs | string {
  let address: number | null = null;
  let count = 0;
  let dataLen: number | undefined;
  let intervalMs: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c') {
      const v = args[++i];
      if (v === undefined || !/^[0-9]{1,9}$/.test(v) || Number(v) < 1 || Number(v) > PING_MAX_COUNT) {
        return `ping: invalid count: use -c 1..${PING_MAX_COUNT}\n`;
      }
      count = Number(v);
    } else if (a === '-s') {
      const v = args[++i];
      if (v === undefined || !/^[0-9]{1,9}$/.test(v) || Number(v) < 8 || Number(v) > PING_MAX_DATA_LEN) {
        return `ping: invalid size: use -s 8..${PING_MAX_DATA_LEN} octets\n`;
      }
      dataLen = Number(v);
    } else if (a === '-i') {
      const v = args[++i];
      const ms = v !== undefined && /^[0-9]{1,5}(\.[0-9]{1,3})?$/.test(v) ? Math.round(Number(v) * 1000) : -1;
      if (ms < PING_INTERVAL_MS.min || ms > PING_INTERVAL_MS.max) {
        return `ping: invalid interval: use -i ${PING_INTERVAL_MS.min / 1000}..${PING_INTERVAL_MS.max / 1000} seconds\n`;
      }
      intervalMs = ms;
    } else if (a.startsWith('-')) {
      return `ping: unknown option ${a} (${PING_USAGE.slice(0, -1)})\n`;
    } else if (address === null) {
      const parsed = parseIpv4(a);
      if (parsed === null) return `ping: ${a}: not an IPv4 address\n`;
      address = parsed;
    } else {
      return PING_USAGE;
    }
  }
  if (address === null) return PING_USAGE;
  const parsed: PingArgs = { address, count };
  if (dataLen !== undefined) parsed.dataLen = dataLen;
  if (intervalMs !== undefined) parsed.intervalMs = intervalMs;
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// xfer

export interface XferArgs {
  address: number;
  port: number;
  /** Octets of pattern to send. */
  octets: number;
}

const XFER_USAGE = 'usage: xfer <ip> <port> <octets>\n';

/** Parses "xfer" arguments: an address, a port 1..65535 and a decimal octet count. Returns them or an error line. */
export function parseXferArgs(args: readonly string[]): XferArgs | string {
  if (args.length !== 3) return XFER_USAGE;
  const address = parseIpv4(args[0]!);
  if (address === null) return `xfer: ${args[0]}: not an IPv4 address\n`;
  const p = args[1]!;
  if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) return `xfer: invalid port ${p}: use 1..65535\n`;
  const n = args[2]!;
  if (!/^[0-9]{1,13}$/.test(n) || Number(n) > XFER_MAX_OCTETS) return `xfer: invalid size ${n}: use 0..${XFER_MAX_OCTETS} octets\n`;
  return { address, port: Number(p), octets: Number(n) };
}

/** Dotted quad to int32, or null. */
export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return null;
  let addr = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return null;
    addr = (addr << 8) | part;
  }
  return addr | 0;
}

/** "PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data." */
export function formatPingStart(address: number, dataLen: number): string {
  const a = formatIpv4(address);
  return `PING ${a} (${a}) ${dataLen}(${dataLen + 28}) bytes of data.\n`;
}

/** "64 bytes from 192.0.2.1: icmp_seq=1 time=3 ms" (with " (DUP!)" for a duplicate). */
export function formatPingReply(icmpLen: number, from: number, seq: number, rttMs: number, duplicate: boolean): string {
  return `${icmpLen} bytes from ${formatIpv4(from)}: icmp_seq=${seq} time=${rttMs} ms${duplicate ? ' (DUP!)' : ''}\n`;
}

export interface PingSummary {
  address: number;
  transmitted: number;
  received: number;
  duplicates: number;
  errors: number;
  /** From the first request to the end, ms. */
  elapsedMs: number;
  rttMinMs: number;
  rttMaxMs: number;
  /** Sum of the round-trip times, and of their squares, over the replies received. */
  rttSumMs: number;
  rttSumSquaresMs: number;
}

function fixed3(v: number): string {
  return v.toFixed(3);
}

/**
 * A blank line, "--- 192.0.2.1 ping statistics ---", the packet counts and loss, and the rtt line (mdev is the
 * population standard deviation, as iputils computes it).
 */
export function formatPingSummary(s: PingSummary): string {
  const loss = s.transmitted > 0 ? Math.floor(((s.transmitted - s.received) * 100) / s.transmitted) : 0;
  let text = `\n--- ${formatIpv4(s.address)} ping statistics ---\n`;
  text += `${s.transmitted} packets transmitted, ${s.received} received`;
  if (s.duplicates > 0) text += `, +${s.duplicates} duplicates`;
  if (s.errors > 0) text += `, +${s.errors} errors`;
  text += `, ${loss}% packet loss, time ${s.elapsedMs}ms\n`;
  const n = s.received + s.duplicates;
  if (n > 0) {
    const avg = s.rttSumMs / n;
    const variance = s.rttSumSquaresMs / n - avg * avg;
    const mdev = variance > 0 ? Math.sqrt(variance) : 0;
    text += `rtt min/avg/max/mdev = ${fixed3(s.rttMinMs)}/${fixed3(avg)}/${fixed3(s.rttMaxMs)}/${fixed3(mdev)} ms\n`;
  }
  return text;
}
