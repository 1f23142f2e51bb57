/**
 * What the hardware suites run on, read once from the environment.
 *
 *   TEST_PORT=/dev/ttyUSB0            one port, TX wired to RX: the loopback suite on hardware
 *   TEST_PORT_A=… TEST_PORT_B=…       two ports wired to each other: the two-stack suite on hardware
 *   TEST_PORT_A=… TEST_PEER=firmware  a board running the firmware on port A (TEST_PASSWORD for telnet)
 *   TEST_BAUD (115200), TEST_MTU (1006), TEST_SECONDS (10), TEST_RTSCTS=1, HW_FULL=1,
 *   TEST_HOST_IP (192.0.2.1), TEST_DEVICE_IP (192.0.2.2), HW_PROGRESS=0|1
 *
 * A suite whose port is not named runs over a virtual pty link with UART timing at TEST_BAUD,
 * with short lengths (see `Lengths`), unless HW_FULL=1. A mistake in these variables is not
 * thrown here (that would fail the whole mocha run at load); it is kept in `error` and each
 * suite's `before` reports it as a one-paragraph diagnosis.
 */
import { ipv4Address } from '../src/wire/ipv4.ts';

/** How much each check does. */
export interface Lengths {
  /** Sustained loopback throughput measurement, seconds. */
  throughputSeconds: number;
  /** SLIP frame sizes checked: every `frameStep`-th size from 1 to the MTU, plus 1, 2, 3, MTU-1, MTU. */
  frameStep: number;
  /** Echo requests in the ping check. */
  pings: number;
  /** Octets each way in the TCP bulk and echo checks. */
  bulkBytes: number;
}

/** Full lengths: issue 5 §1, used on hardware or with HW_FULL=1. */
export const FULL_LENGTHS: Readonly<Lengths> = Object.freeze({ throughputSeconds: 10, frameStep: 1, pings: 100, bulkBytes: 1 << 20 });

/** Short lengths for the virtual runs inside `npm test`. */
export const SHORT_LENGTHS: Readonly<Lengths> = Object.freeze({ throughputSeconds: 2, frameStep: 53, pings: 20, bulkBytes: 32 * 1024 });

export interface HwConfig {
  /** A one-paragraph explanation of a bad variable, or null. */
  error: string | null;
  baud: number;
  mtu: number;
  rtscts: boolean;
  /** HW_FULL=1: full lengths even on virtual links. */
  forceFull: boolean;
  /** TEST_SECONDS when given (full runs only), else null. */
  seconds: number | null;
  /** Loopback port (TEST_PORT), or null for the virtual loopback. */
  loopbackPort: string | null;
  /** Port A (TEST_PORT_A), or null for the virtual pair. */
  portA: string | null;
  /** Port B (TEST_PORT_B), or null. */
  portB: string | null;
  /** TEST_PEER=firmware: a board running the firmware is on port A. */
  peerIsFirmware: boolean;
  /** TEST_PASSWORD, or null. */
  password: string | null;
  hostIp: number;
  deviceIp: number;
  /** null: draw a bar when stderr is a TTY, plain lines otherwise; false: nothing; true: as null. */
  progress: boolean | null;
}

function text(env: Record<string, string | undefined>, name: string): string | null {
  const v = env[name];
  return v === undefined || v.trim() === '' ? null : v.trim();
}

function flag(env: Record<string, string | undefined>, name: string): boolean {
  const v = text(env, name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false' && v.toLowerCase() !== 'no';
}

/** Reads the configuration from `env` (process.env by default). Never throws. */
export function readConfig(env: Record<string, string | undefined> = process.env): HwConfig {
  const errors: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number, hint: string): number => {
    const v = text(env, name);
    if (v === null) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      errors.push(`${name}=${v} is not usable: ${hint}`);
      return fallback;
    }
    return Number(v);
  };
  const address = (name: string, fallback: string): number => {
    const v = text(env, name) ?? fallback;
    try {
      return ipv4Address(v);
    } catch {
      errors.push(`${name}=${v} is not an IPv4 address like ${fallback}`);
      return ipv4Address(fallback);
    }
  };
  const baud = int('TEST_BAUD', 115200, 50, 20_000_000, 'give the line speed in baud, a whole number such as 115200 or 921600');
  const mtu = int('TEST_MTU', 1006, 68, 65535, 'give the link MTU in octets, 68..65535, the same as the firmware\'s --mtu (default 1006)');
  const secondsText = text(env, 'TEST_SECONDS');
  const seconds = secondsText === null ? null : int('TEST_SECONDS', 10, 1, 3600, 'give the throughput measurement time in whole seconds, 1..3600');
  const loopbackPort = text(env, 'TEST_PORT');
  const portA = text(env, 'TEST_PORT_A');
  const portB = text(env, 'TEST_PORT_B');
  const peer = text(env, 'TEST_PEER');
  const peerIsFirmware = peer !== null && peer.toLowerCase() === 'firmware';
  if (peer !== null && !peerIsFirmware) {
    errors.push(`TEST_PEER=${peer} is not known: the only value is TEST_PEER=firmware (a board running the slipstack firmware on TEST_PORT_A)`);
  }
  if (portA !== null && portB === null && !peerIsFirmware) {
    errors.push('TEST_PORT_A is set but there is nothing on its other end: add TEST_PORT_B (a second port wired to it, TX to RX both ways) or TEST_PEER=firmware (a board running the firmware)');
  }
  if (portA === null && (portB !== null || peerIsFirmware)) {
    errors.push(`${portB !== null ? 'TEST_PORT_B' : 'TEST_PEER=firmware'} needs TEST_PORT_A, the port this machine's stack uses`);
  }
  if (portA !== null && portB !== null && portA === portB) {
    errors.push(`TEST_PORT_A and TEST_PORT_B are both ${portA}: the two-stack suite needs two different ports wired to each other (for one port with a TX-RX jumper use TEST_PORT)`);
  }
  if (portB !== null && peerIsFirmware) {
    errors.push('TEST_PORT_B and TEST_PEER=firmware both name the far end of TEST_PORT_A: give one of them');
  }
  const hostIp = address('TEST_HOST_IP', '192.0.2.1');
  const deviceIp = address('TEST_DEVICE_IP', '192.0.2.2');
  if (hostIp === deviceIp) errors.push('TEST_HOST_IP and TEST_DEVICE_IP are the same address: the two ends need different ones');
  const progressText = text(env, 'HW_PROGRESS');
  return {
    error: errors.length === 0 ? null : `The hardware test settings are wrong: ${errors.join('; ')}.`,
    baud,
    mtu,
    rtscts: flag(env, 'TEST_RTSCTS'),
    forceFull: flag(env, 'HW_FULL'),
    seconds,
    loopbackPort,
    portA,
    portB: peerIsFirmware ? null : portB,
    peerIsFirmware,
    password: text(env, 'TEST_PASSWORD'),
    hostIp,
    deviceIp,
    progress: progressText === null ? null : flag(env, 'HW_PROGRESS'),
  };
}

/** The lengths for a suite: full on hardware or with HW_FULL=1, short otherwise. TEST_SECONDS applies to full runs. */
export function lengthsFor(config: HwConfig, hardware: boolean): Lengths {
  if (!hardware && !config.forceFull) return SHORT_LENGTHS;
  return { ...FULL_LENGTHS, throughputSeconds: config.seconds ?? FULL_LENGTHS.throughputSeconds };
}

/** The configuration of this run. */
export const config: HwConfig = readConfig();
