/**
 * Command-line flags for the firmware and for host connect: parsed with node:util parseArgs,
 * validated into plain config objects, and every mistake reported as one clear line
 * (`CliError`), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SLIP_PROTOS, type SlipProto } from '../src/phy/cslip-device.ts';
import { formatIpv4, ipv4Address } from '../src/wire/ipv4.ts';
import { BAUD_FLAG, HTTP_PORT_DEFAULT, IDLE_TIMEOUT_FLAG, KEEPALIVE_FLAG, KEEPALIVE_PROBES, MTU_FLAG, PROFILES, SERVICE_NAMES, SOCKETS_FLAG, USER_NET_BIND, USER_NET_FORWARDS } from './limits.ts';

/** A user mistake on the command line: print `message` and exit 2. */
export class CliError extends Error {}

/**
 * Runs a command's flag parser: the configuration, or the exit code when there is nothing more to
 * do (0 after printing `usage` for --help, which the parser answers with null; 2 after one line
 * `name: mistake (try --help)` for a CliError).
 */
export function parseCommand<T extends object>(name: string, argv: readonly string[], parse: (argv: readonly string[]) => T | null, usage: string): T | number {
  try {
    const config = parse(argv);
    if (config !== null) return config;
    process.stdout.write(usage);
    return 0;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    process.stderr.write(`${name}: ${e.message} (try --help)\n`);
    return 2;
  }
}

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
  /** The web console (on by default where a password is set; --no-http turns it off). Off when absent. */
  http?: boolean;
  /** The web console's TCP port. Defaults to 80. */
  httpPort?: number;
  /** The sizes the board is built with (limits.ts PROFILES); absent means 'default'. */
  profile?: string;
  /** A logged-in shell with no input for this long is closed, seconds; 0: never. Defaults to IDLE_TIMEOUT_FLAG.default. */
  idleTimeoutS?: number;
  /** Keepalive: probe a TCP connection idle this long, seconds; 0: off. Defaults to KEEPALIVE_FLAG.default. */
  keepaliveS?: number;
  /** Services that run (--services); defaults to all of SERVICE_NAMES. */
  services?: readonly string[];
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
  /** The userspace host side (host/user-net.ts) instead of a TUN interface: no root. */
  userNet: boolean;
  /** With userNet: host ports forwarded to device ports. */
  forwards: Forward[];
  /** With userNet: the address the forwards listen on. */
  bind: string;
}

/** A host port forwarded to a device port (--forward HOST:DEVICE). */
export interface Forward {
  hostPort: number;
  devicePort: number;
}

export const FIRMWARE_USAGE = `usage: npm run firmware -- --port PATH [options]

The slipstack firmware: the TCP/IP stack and its services (ping, telnet 23, echo 7 TCP/UDP,
discard 9, chargen 19) on one SLIP serial line.

  --port PATH            serial port: /dev/ttyUSB0, /dev/ttymxc1, or a pty such as /dev/pts/3
  --baud N               line speed, 8N1 (default ${BAUD_FLAG.default})
  --rtscts               RTS/CTS hardware flow control (default off)
  --ip A.B.C.D           this device's address (default 192.0.2.2)
  --peer A.B.C.D         the host at the other end of the line (default 192.0.2.1)
  --mtu N                link MTU, ${MTU_FLAG.min}..${MTU_FLAG.max} (default ${MTU_FLAG.default}; Linux SLIP defaults to 296)
  --proto P              slip, cslip (VJ header compression, RFC 1144) or adaptive (default:
                         plain SLIP until the peer compresses, then cslip), as slattach -p
  --password-file FILE   telnet password: the first line of FILE (safe: not visible to other users)
  --password P           telnet password typed by hand (visible in ps to every local user; prefer
                         --password-file or SLIPSTACK_PASSWORD); without one telnet is off
  --services LIST        services that run, comma-separated, from ${SERVICE_NAMES.join(',')}
                         (default all; ping is always answered)
  --idle-timeout S       close a logged-in shell after S seconds without input, 0 = never
                         (default ${IDLE_TIMEOUT_FLAG.default})
  --keepalive S          probe a TCP connection idle for S seconds and drop it when the peer no
                         longer has it (it answers RST) or after ${KEEPALIVE_PROBES} unanswered probes; finds
                         half-open connections (a peer rebooted, a cable pulled, a lost RST);
                         0 = off (default ${KEEPALIVE_FLAG.default})
  --insecure-no-login    run telnet without a password (only on a bench you trust)
  --pcap FILE            write every frame in and out to FILE (libpcap, raw IPv4)
  --verbose              print TCP state transitions and segments
  --uart-timing          pace output to baud/10 octets per second (for a pty, which has no baud)
  --drop PCT             drop PCT % of frames at the device (testing)
  --reorder PCT          reorder PCT % of frames at the device (testing)
  --seed N               seed for --drop/--reorder (default 1)
  --sockets N            TCP sockets, ${SOCKETS_FLAG.min}..${SOCKETS_FLAG.max} (default ${SOCKETS_FLAG.default}; small: ${PROFILES['small']!.sockets})
  --profile NAME         default, or small: 64 KiB of packet memory, MTU ${PROFILES['small']!.mtu}, 2 telnet sessions
  --http / --no-http     the web console, password-protected (default: on when a password is set,
                         off in the small profile)
  --http-port N          the web console's TCP port (default ${HTTP_PORT_DEFAULT})
  --help                 this text
`;

export const HOST_CONNECT_USAGE = `usage: npm run host-connect -- (--port PATH | --pty) [options]

Host connect: attaches a SLIP serial line to a TUN interface, so this host's own ping, telnet
and nc reach the device (for kernels without a SLIP driver). Needs root (or CAP_NET_ADMIN).
With --user-net it needs no root: our own stack is the host end of the line, and host ports
on ${USER_NET_BIND} are forwarded to the device (${USER_NET_FORWARDS.map(([h, d]) => `${h}->${d}`).join(', ')}).

  --port PATH            serial port the device is on
  --pty                  make a fresh pty pair and print the device side's path
  --baud N               line speed, 8N1 (default ${BAUD_FLAG.default})
  --rtscts               RTS/CTS hardware flow control (default off)
  --tun NAME             TUN interface name (default slip0)
  --host-ip A.B.C.D      this host's address on the link (default 192.0.2.1)
  --device-ip A.B.C.D    the device's address (default 192.0.2.2)
  --mtu N                link MTU (default ${MTU_FLAG.default})
  --proto P              slip, cslip (VJ header compression, RFC 1144; the default, as
                         slattach's) or adaptive (compress once the device does)
  --pcap FILE            capture the link to FILE
  --uart-timing          pace output to baud/10 octets per second
  --verbose              log what is forwarded and dropped
  --user-net             the userspace host side (no TUN, no root) with port forwards
  --forward HOST:DEVICE  with --user-net: forward host port HOST to device port DEVICE
                         (repeatable; adds to or replaces the defaults above)
  --bind A.B.C.D         with --user-net: the address forwards listen on (default ${USER_NET_BIND})
  --help                 this text
`;

/** Parses --forward values over the defaults: a value for a host port already forwarded replaces it. */
export function parseForwards(values: readonly string[]): Forward[] {
  const map = new Map<number, number>(USER_NET_FORWARDS.map(([h, d]) => [h, d]));
  for (const v of values) {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
    const hostPort = m ? Number(m[1]) : 0;
    const devicePort = m ? Number(m[2]) : 0;
    if (!m || hostPort < 1 || hostPort > 65535 || devicePort < 1 || devicePort > 65535) {
      throw new CliError(`--forward wants HOST:DEVICE, two ports 1..65535 (like 2323:23), got '${v}'`);
    }
    map.set(hostPort, devicePort);
  }
  return [...map].map(([hostPort, devicePort]) => ({ hostPort, devicePort }));
}

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

function parse(args: readonly string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>): Record<string, string | boolean | string[] | undefined> {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | string[] | undefined>;
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
    sockets: { type: 'string' }, profile: { type: 'string' }, 'password-file': { type: 'string' }, 'idle-timeout': { type: 'string' }, keepalive: { type: 'string' },
    services: { type: 'string' }, help: { type: 'boolean' },
    http: { type: 'boolean' }, 'no-http': { type: 'boolean' }, 'http-port': { type: 'string' },
  });
  if (v['help'] === true) return null;
  const profileName = (v['profile'] as string | undefined) ?? 'default';
  const profile = PROFILES[profileName];
  if (profile === undefined) throw new CliError(`--profile wants one of ${Object.keys(PROFILES).join(', ')}, got '${profileName}'`);
  const port = v['port'];
  if (typeof port !== 'string' || port === '') throw new CliError('--port is required: the serial port the firmware talks SLIP on (try --help)');
  const ip = address('ip', v['ip'] as string | undefined, '192.0.2.2');
  const peer = address('peer', v['peer'] as string | undefined, '192.0.2.1');
  if (ip === peer) throw new CliError(`--ip and --peer are both ${formatIpv4(ip)}: the two ends need different addresses`);
  // An empty SLIPSTACK_PASSWORD counts as unset; an empty --password is a mistake.
  const fromEnv = env['SLIPSTACK_PASSWORD'];
  const file = v['password-file'] as string | undefined;
  if (file !== undefined && v['password'] !== undefined) throw new CliError('give --password or --password-file, not both');
  const typed = file !== undefined ? readPasswordFile(file) : (v['password'] as string | undefined);
  const password = typed ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : null);
  if (password !== null && password.length === 0) throw new CliError('the telnet password is empty: give a real one, or --insecure-no-login');
  if (v['http'] === true && v['no-http'] === true) throw new CliError('--http and --no-http contradict each other');
  if (v['http'] === true && password === null) throw new CliError('--http needs the device password (--password or SLIPSTACK_PASSWORD): the web console is never open without one');
  return {
    port,
    baud: int('baud', v['baud'] as string | undefined, BAUD_FLAG.default, BAUD_FLAG.min, BAUD_FLAG.max),
    rtscts: v['rtscts'] === true,
    ip,
    peer,
    mtu: int('mtu', v['mtu'] as string | undefined, profile.mtu, MTU_FLAG.min, MTU_FLAG.max),
    proto: proto(v['proto'] as string | undefined, 'adaptive'),
    password,
    insecureNoLogin: v['insecure-no-login'] === true,
    pcap: (v['pcap'] as string | undefined) ?? null,
    verbose: v['verbose'] === true,
    uartTiming: v['uart-timing'] === true,
    dropPct: pct('drop', v['drop'] as string | undefined),
    reorderPct: pct('reorder', v['reorder'] as string | undefined),
    seed: int('seed', v['seed'] as string | undefined, 1, 0, 0xffffffff),
    sockets: int('sockets', v['sockets'] as string | undefined, profile.sockets, SOCKETS_FLAG.min, SOCKETS_FLAG.max),
    profile: profileName,
    // The web console: on where a password is set, but in the small profile only with --http
    // (its page and staging buffer do not fit the 64 KiB budget).
    http: password !== null && v['no-http'] !== true && (profileName !== 'small' || v['http'] === true),
    httpPort: int('http-port', v['http-port'] as string | undefined, HTTP_PORT_DEFAULT, 1, 65535),
    services: serviceList(v['services'] as string | undefined),
    idleTimeoutS: int('idle-timeout', v['idle-timeout'] as string | undefined, IDLE_TIMEOUT_FLAG.default, IDLE_TIMEOUT_FLAG.min,
      IDLE_TIMEOUT_FLAG.max),
    keepaliveS: int('keepalive', v['keepalive'] as string | undefined, KEEPALIVE_FLAG.default, KEEPALIVE_FLAG.min, KEEPALIVE_FLAG.max),
  };
}

function serviceList(value: string | undefined): readonly string[] {
  if (value === undefined) return SERVICE_NAMES;
  const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const n of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(n)) {
      throw new CliError(`--services: unknown service '${n}' (choose from ${SERVICE_NAMES.join(', ')})`);
    }
  }
  return names;
}

/**
 * The password in `path`: its first line, without the line end. The file's contents never
 * appear in an error message.
 * @throws CliError when the file cannot be read or its first line is empty
 */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`--password-file: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const nl = text.search(/\r?\n/);
  const first = nl >= 0 ? text.slice(0, nl) : text;
  if (first.length === 0) throw new CliError(`--password-file: the first line of ${path} is empty`);
  return first;
}

/** Parses host connect flags. Returns null when `--help` was asked for. */
export function parseHostConnectArgs(args: readonly string[]): HostConnectConfig | null {
  const v = parse(args, {
    port: { type: 'string' }, pty: { type: 'boolean' }, baud: { type: 'string' }, rtscts: { type: 'boolean' },
    tun: { type: 'string' }, 'host-ip': { type: 'string' }, 'device-ip': { type: 'string' }, mtu: { type: 'string' }, proto: { type: 'string' },
    pcap: { type: 'string' }, 'uart-timing': { type: 'boolean' }, verbose: { type: 'boolean' }, help: { type: 'boolean' },
    'user-net': { type: 'boolean' }, forward: { type: 'string', multiple: true }, bind: { type: 'string' },
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
  const userNet = v['user-net'] === true;
  const forwardValues = (v['forward'] as string[] | undefined) ?? [];
  if (!userNet && (forwardValues.length > 0 || v['bind'] !== undefined)) throw new CliError('--forward and --bind go with --user-net');
  const bind = (v['bind'] as string | undefined) ?? USER_NET_BIND;
  address('bind', bind, USER_NET_BIND);
  return {
    port,
    pty,
    baud: int('baud', v['baud'] as string | undefined, BAUD_FLAG.default, BAUD_FLAG.min, BAUD_FLAG.max),
    rtscts: v['rtscts'] === true,
    tun,
    hostIp,
    deviceIp,
    mtu: int('mtu', v['mtu'] as string | undefined, MTU_FLAG.default, MTU_FLAG.min, MTU_FLAG.max),
    proto: proto(v['proto'] as string | undefined, 'cslip'),
    pcap: (v['pcap'] as string | undefined) ?? null,
    verbose: v['verbose'] === true,
    uartTiming: v['uart-timing'] === true,
    userNet,
    forwards: parseForwards(forwardValues),
    bind,
  };
}
