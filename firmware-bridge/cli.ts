/**
 * Command-line flags for the firmware and for host connect: parsed with node:util parseArgs,
 * validated into plain config objects, and every mistake reported as one clear line
 * (`CliError`), never a stack trace.
 */
import { parseArgs } from 'node:util';
import { SLIP_PROTOS, type SlipProto } from '../src/phy/cslip-device.ts';
import { formatIpv4, ipv4Address } from '../src/wire/ipv4.ts';

/** A user mistake on the command line: print `message` and exit 2. */
export class CliError extends Error {}

export interface FirmwareConfig {
  /** Serial port path (a UART, a USB-serial adapter or a pty slave). */
  port: string;
  baud: number;
  rtscts: boolean;
  /** This device's address (int32). */
  ip: number;
  /** The host on the other end of the line (int32). */
  peer: number;
  mtu: number;
  /** Link protocol, as `slattach -p` names it: header compression (RFC 1144) or not. */
  proto: SlipProto;
  /** Telnet password, or null when none was given. */
  password: string | null;
  insecureNoLogin: boolean;
  pcap: string | null;
  verbose: boolean;
  /** Pace writes to baud/10 octets per second (a pty has no baud of its own). */
  uartTiming: boolean;
  /** FaultInjector at the device (percent), for tests. */
  dropPct: number;
  reorderPct: number;
  seed: number;
  /** TCP sockets in the table. */
  sockets: number;
}

export interface HostConnectConfig {
  /** Serial port path, or null with `pty` (host connect makes the pty pair itself). */
  port: string | null;
  pty: boolean;
  baud: number;
  rtscts: boolean;
  tun: string;
  hostIp: number;
  deviceIp: number;
  mtu: number;
  /** Link protocol, as `slattach -p` names it. */
  proto: SlipProto;
  pcap: string | null;
  verbose: boolean;
  uartTiming: boolean;
}

export const FIRMWARE_USAGE = `usage: npm run firmware -- --port PATH [options]

The slipstack firmware: the TCP/IP stack and its services (ping, telnet 23, echo 7 TCP/UDP,
discard 9, chargen 19) on one SLIP serial line.

  --port PATH            serial port: /dev/ttyUSB0, /dev/ttymxc1, or a pty such as /dev/pts/3
  --baud N               line speed, 8N1 (default 115200)
  --rtscts               RTS/CTS hardware flow control (default off)
  --ip A.B.C.D           this device's address (default 192.0.2.2)
  --peer A.B.C.D         the host at the other end of the line (default 192.0.2.1)
  --mtu N                link MTU, 68..65535 (default 1006; Linux SLIP defaults to 296)
  --proto P              slip, cslip (VJ header compression, RFC 1144) or adaptive (default:
                         plain SLIP until the peer compresses, then cslip), as slattach -p
  --password P           telnet password (or set SLIPSTACK_PASSWORD); without one telnet is off
  --insecure-no-login    run telnet without a password (only on a bench you trust)
  --pcap FILE            write every frame in and out to FILE (libpcap, raw IPv4)
  --verbose              print TCP state transitions and segments
  --uart-timing          pace output to baud/10 octets per second (for a pty, which has no baud)
  --drop PCT             drop PCT % of frames at the device (testing)
  --reorder PCT          reorder PCT % of frames at the device (testing)
  --seed N               seed for --drop/--reorder (default 1)
  --sockets N            TCP sockets (default 64)
  --help                 this text
`;

export const HOST_CONNECT_USAGE = `usage: npm run host-connect -- (--port PATH | --pty) [options]

Host connect: attaches a SLIP serial line to a TUN interface, so this host's own ping, telnet
and nc reach the device (for kernels without a SLIP driver). Needs root (or CAP_NET_ADMIN).

  --port PATH            serial port the device is on
  --pty                  make a fresh pty pair and print the device side's path
  --baud N               line speed, 8N1 (default 115200)
  --rtscts               RTS/CTS hardware flow control (default off)
  --tun NAME             TUN interface name (default slip0)
  --host-ip A.B.C.D      this host's address on the link (default 192.0.2.1)
  --device-ip A.B.C.D    the device's address (default 192.0.2.2)
  --mtu N                link MTU (default 1006)
  --proto P              slip, cslip (VJ header compression, RFC 1144; the default, as
                         slattach's) or adaptive (compress once the device does)
  --pcap FILE            capture the link to FILE (plain IPv4, above the compression)
  --uart-timing          pace output to baud/10 octets per second
  --verbose              log what is forwarded and dropped
  --help                 this text
`;

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliError(`--${name} wants a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function pct(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new CliError(`--${name} wants a percentage 0..100, got '${value}'`);
  return n;
}

function proto(value: string | undefined, fallback: SlipProto): SlipProto {
  if (value === undefined) return fallback;
  if (!(SLIP_PROTOS as readonly string[]).includes(value)) throw new CliError(`--proto wants slip, cslip or adaptive (as slattach -p), got '${value}'`);
  return value as SlipProto;
}

function address(name: string, value: string | undefined, fallback: string): number {
  try {
    return ipv4Address(value ?? fallback);
  } catch {
    throw new CliError(`--${name} wants an IPv4 address like ${fallback}, got '${value}'`);
  }
}

function parse(args: readonly string[], options: Record<string, { type: 'string' | 'boolean' }>): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    // parseArgs explains unknown flags and missing values well; keep its words, drop its code.
    throw new CliError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** Parses firmware flags. Returns null when `--help` was asked for. */
export function parseFirmwareArgs(args: readonly string[], env: Record<string, string | undefined>): FirmwareConfig | null {
  const v = parse(args, {
    port: { type: 'string' }, baud: { type: 'string' }, rtscts: { type: 'boolean' }, ip: { type: 'string' },
    peer: { type: 'string' }, mtu: { type: 'string' }, proto: { type: 'string' }, password: { type: 'string' },
    'insecure-no-login': { type: 'boolean' }, pcap: { type: 'string' }, verbose: { type: 'boolean' },
    'uart-timing': { type: 'boolean' }, drop: { type: 'string' }, reorder: { type: 'string' }, seed: { type: 'string' },
    sockets: { type: 'string' }, help: { type: 'boolean' },
  });
  if (v['help'] === true) return null;
  const port = v['port'];
  if (typeof port !== 'string' || port === '') throw new CliError('--port is required: the serial port the firmware talks SLIP on (try --help)');
  const ip = address('ip', v['ip'] as string | undefined, '192.0.2.2');
  const peer = address('peer', v['peer'] as string | undefined, '192.0.2.1');
  if (ip === peer) throw new CliError(`--ip and --peer are both ${formatIpv4(ip)}: the two ends need different addresses`);
  // An empty SLIPSTACK_PASSWORD counts as unset; an empty --password is a mistake.
  const fromEnv = env['SLIPSTACK_PASSWORD'];
  const password = (v['password'] as string | undefined) ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : null);
  if (password !== null && password.length === 0) throw new CliError('the telnet password is empty: give a real one, or --insecure-no-login');
  return {
    port,
    baud: int('baud', v['baud'] as string | undefined, 115200, 50, 20_000_000),
    rtscts: v['rtscts'] === true,
    ip,
    peer,
    mtu: int('mtu', v['mtu'] as string | undefined, 1006, 68, 65535),
    proto: proto(v['proto'] as string | undefined, 'adaptive'),
    password,
    insecureNoLogin: v['insecure-no-login'] === true,
    pcap: (v['pcap'] as string | undefined) ?? null,
    verbose: v['verbose'] === true,
    uartTiming: v['uart-timing'] === true,
    dropPct: pct('drop', v['drop'] as string | undefined),
    reorderPct: pct('reorder', v['reorder'] as string | undefined),
    seed: int('seed', v['seed'] as string | undefined, 1, 0, 0xffffffff),
    sockets: int('sockets', v['sockets'] as string | undefined, 64, 2, 1024),
  };
}

/** Parses host connect flags. Returns null when `--help` was asked for. */
export function parseHostConnectArgs(args: readonly string[]): HostConnectConfig | null {
  const v = parse(args, {
    port: { type: 'string' }, pty: { type: 'boolean' }, baud: { type: 'string' }, rtscts: { type: 'boolean' },
    tun: { type: 'string' }, 'host-ip': { type: 'string' }, 'device-ip': { type: 'string' }, mtu: { type: 'string' }, proto: { type: 'string' },
    pcap: { type: 'string' }, 'uart-timing': { type: 'boolean' }, verbose: { type: 'boolean' }, help: { type: 'boolean' },
  });
  if (v['help'] === true) return null;
  const port = (v['port'] as string | undefined) ?? null;
  const pty = v['pty'] === true;
  if ((port === null) === !pty) throw new CliError('give exactly one of --port PATH or --pty (try --help)');
  const tun = (v['tun'] as string | undefined) ?? 'slip0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tun)) throw new CliError(`--tun wants an interface name of 1..15 letters, digits, '_', '.', '-', got '${tun}'`);
  const hostIp = address('host-ip', v['host-ip'] as string | undefined, '192.0.2.1');
  const deviceIp = address('device-ip', v['device-ip'] as string | undefined, '192.0.2.2');
  if (hostIp === deviceIp) throw new CliError('--host-ip and --device-ip must differ');
  return {
    port,
    pty,
    baud: int('baud', v['baud'] as string | undefined, 115200, 50, 20_000_000),
    rtscts: v['rtscts'] === true,
    tun,
    hostIp,
    deviceIp,
    mtu: int('mtu', v['mtu'] as string | undefined, 1006, 68, 65535),
    proto: proto(v['proto'] as string | undefined, 'cslip'),
    pcap: (v['pcap'] as string | undefined) ?? null,
    verbose: v['verbose'] === true,
    uartTiming: v['uart-timing'] === true,
  };
}
