/**
 * The host side's address check: before a link comes up, neither address of its pair may already
 * be this machine's own or lie in a network routed over another interface (else `ping` is
 * answered by the machine itself and `telnet` refused by its kernel, and nothing says why).
 *
 * What is local comes from `os.networkInterfaces()` (every OS) and, on Linux, from
 * /proc/net/route as well (routes to networks not on an interface's own subnet). The default
 * route covers every address and is not a clash. Nothing here runs `ip` or needs root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { formatIpv4, ipv4Address } from '../../src/wire/ipv4.ts';
import { LINK_ADDRESS_PAIRS } from '../limits.ts';

/** A network this machine reaches over one of its interfaces. */
export interface LocalNet {
  /** Interface name (lo, eth0, ...). */
  iface: string;
  /** The interface's own address (int32), or null for a route. */
  address: number | null;
  /** Network (int32) and prefix length, bits. */
  network: number;
  prefixLen: number;
}

/** The address pair of a link: this host's end and the device's. */
export interface AddressPair {
  hostIp: number;
  deviceIp: number;
}

/** Why an address cannot be used on a new link. */
export interface Clash {
  /** The address in the way (int32). */
  address: number;
  iface: string;
  /** 'local': the interface holds it; 'route': it lies in a network routed over the interface. */
  kind: 'local' | 'route';
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) | 0;
}

function prefixOfMask(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (1 << (31 - n))) !== 0) n++;
  return n;
}

/** Parses /proc/net/route text: one LocalNet per route but the default route (its fields are little-endian hex). */
export function parseProcRoutes(text: string): LocalNet[] {
  const out: LocalNet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const le = (hex: string): number => {
      const v = parseInt(hex, 16);
      return (((v & 0xff) << 24) | ((v >>> 8 & 0xff) << 16) | ((v >>> 16 & 0xff) << 8) | (v >>> 24 & 0xff)) | 0;
    };
    const prefixLen = prefixOfMask(le(f[7]!));
    if (prefixLen === 0) continue;
    out.push({ iface: f[0]!, address: null, network: le(f[1]!) & maskOf(prefixLen), prefixLen });
  }
  return out;
}

/** What this machine holds now: every IPv4 address of every interface, with its subnet, and (Linux) its routes. */
export function localNets(): LocalNet[] {
  const out: LocalNet[] = [];
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      const address = ipv4Address(a.address);
      const prefixLen = prefixOfMask(ipv4Address(a.netmask));
      out.push({ iface, address, network: address & maskOf(prefixLen), prefixLen });
    }
  }
  if (existsSync('/proc/net/route')) {
    try {
      out.push(...parseProcRoutes(readFileSync('/proc/net/route', 'utf8')));
    } catch {
      // Unreadable: the interface addresses above still count.
    }
  }
  return out;
}

/** The first address of `pair` (host's, then device's) that is local or routed elsewhere, or null when the pair is free. */
export function findClash(pair: AddressPair, nets: readonly LocalNet[]): Clash | null {
  for (const address of [pair.hostIp, pair.deviceIp]) {
    for (const n of nets) if (n.address === address) return { address, iface: n.iface, kind: 'local' };
  }
  for (const address of [pair.hostIp, pair.deviceIp]) {
    for (const n of nets) if ((address & maskOf(n.prefixLen)) === n.network) return { address, iface: n.iface, kind: 'route' };
  }
  return null;
}

/** One line naming the clash, for a message that goes on with what to do. */
export function describeClash(c: Clash): string {
  return c.kind === 'local'
    ? `${formatIpv4(c.address)} is already an address of this machine (interface ${c.iface})`
    : `${formatIpv4(c.address)} is already routed over interface ${c.iface}`;
}

/** The first pair of LINK_ADDRESS_PAIRS that is free here, or null when none is. */
export function firstFreePair(nets: readonly LocalNet[]): AddressPair | null {
  for (const [host, device] of LINK_ADDRESS_PAIRS) {
    const pair = { hostIp: ipv4Address(host), deviceIp: ipv4Address(device) };
    if (findClash(pair, nets) === null) return pair;
  }
  return null;
}
