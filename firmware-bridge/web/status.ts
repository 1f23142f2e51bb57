/**
 * /api/stats: what the telnet shell's `stats`, `pool`, `netstat`, `ifconfig`, `uptime` and
 * `version` show, as one JSON document read from the same live objects (so the numbers are the
 * same ones). This is the UI path: building the object and the string allocates, by design.
 *
 *   {
 *     "version": "0.1.0", "sha256": "…", "uptimeMs": 123456,
 *     "ifconfig": { "name": "sl0", "address": "192.0.2.2", "peer": "192.0.2.1", "mtu": 1006, "mss": 966 },
 *     "stats": { "ip": {…}, "icmp": {…}, "udp": {…}, "tcp": {…}, "link": {…}, "telnet": {…}, "http": {…} },
 *     "pool": { "name": "pbuf", "slots": 64, "mtu": 1006, "used": 1, "max": 9, "err": 0,
 *               "reassembly": { "buffers": 2, "used": 0, "size": 16384 },
 *               "tcp": { "sockets": 64, "used": 5, "ringBytes": 2097152 } },
 *     "netstat": { "listen": [7, 9, 19, 23, 80],
 *                  "sockets": [ { "local": "192.0.2.2:80", "remote": "192.0.2.1:40000", "state": "ESTABLISHED", "recvQ": 0, "sendQ": 0 } ] }
 *   }
 *
 * Counter names are the ones `stats` prints ("ip.recv", "link.decoder.runt" once flattened).
 */
import type { Interface } from '../../src/iface/interface.ts';
import type { TcpStack } from '../../src/socket/tcp/stack.ts';
import { formatIpv4 } from '../../src/wire/ipv4.ts';

export interface StatusSources {
  readonly iface: Interface;
  readonly tcp: TcpStack;
  /** The link's counters (the SLIP device's), or null. */
  readonly link: object | null;
  readonly version: string;
  readonly imageSha256: string;
  readonly ifname: string;
  readonly peer: number | null;
  /** Ports the stack listens on. */
  listenPorts(): number[];
  /** Milliseconds since the device started. */
  uptimeMs(now: number): number;
  /** Further counter blocks shown by `stats` (telnet) and by the console itself (http). */
  extraStats(): Record<string, object>;
}

export function statusDocument(src: StatusSources, now: number): object {
  const iface = src.iface;
  const pool = iface.pool;
  const r = iface.reassembler;
  const sockets: object[] = [];
  for (const s of src.tcp.sockets) {
    if (!s.inUse) continue;
    sockets.push({
      local: `${formatIpv4(s.localAddr)}:${s.localPort}`,
      remote: `${formatIpv4(s.remoteAddr)}:${s.remotePort}`,
      state: s.stateName,
      recvQ: s.recvQueue,
      sendQ: s.sendQueue,
    });
  }
  return {
    version: src.version,
    sha256: src.imageSha256,
    uptimeMs: src.uptimeMs(now),
    ifconfig: {
      name: src.ifname, address: formatIpv4(iface.address), peer: src.peer === null ? null : formatIpv4(src.peer),
      mtu: iface.mtu, mss: iface.mss,
    },
    stats: {
      ip: iface.stats.ip, icmp: iface.stats.icmp, udp: iface.stats.udp, tcp: src.tcp.stats,
      ...(src.link !== null ? { link: src.link } : {}),
      ...src.extraStats(),
    },
    pool: {
      name: pool.name, slots: pool.size, mtu: pool.mtu, used: pool.stats.used, max: pool.stats.max, err: pool.stats.err,
      reassembly: { buffers: r.count, used: r.used, size: r.size },
      tcp: { sockets: src.tcp.sockets.length, used: src.tcp.used, ringBytes: src.tcp.ringBytes },
    },
    netstat: { listen: src.listenPorts(), sockets },
  };
}
