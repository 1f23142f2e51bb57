/**
 * slipstack/net and the web console:
 *
 * - http_req_per_s_mem: HTTP/1.1 requests per second (keep-alive, 4 connections, a 2-octet
 *   body), node:http server and client both on slipstack/net sockets, two stacks over the
 *   in-memory SLIP link, real time (HostLoop).
 * - web_console_octets / web_console_load_ms_115200: the firmware's Board on a UART-timed SLIP
 *   line at 115200 baud (virtual time), a browser-like client with the password already known:
 *   TCP handshake, GET / (gzip), GET /api/stats (gzip), on one connection. Octets are SLIP octets
 *   on the wire in both directions; the time runs from the SYN to the last octet of the JSON.
 * - net_alloc_bytes_per_mb: octets the core allocates per MB moved by the streams API (a
 *   Socket writing 64 KiB Buffers, another reading them with 'data' events), counted in the
 *   core only: each core step (both interfaces polled until quiet) is measured alone between
 *   two forced scavenges (support/alloc.ts `allocatedBy`, the method of every other allocation
 *   figure) and only those windows are summed; the streams' own allocations between them
 *   (Buffers, stream bookkeeping) are left out by design (the Node-facing layer may allocate).
 *   A window in which V8 compiled or installed optimised code (code and old space grew: a few
 *   windows of hundreds, mostly the net layer's own functions getting hot) holds a few hundred
 *   young octets of V8's too: such windows are counted apart and reported in the note.
 *   Steady state: the last third of a 64 MiB transfer; the close comes after it.
 */
import http from 'node:http';
import { once } from 'node:events';
import { Board } from '../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../firmware-bridge/cli.ts';
import { HostLoop } from '../src/drivers/host-loop.ts';
import { Interface } from '../src/iface/interface.ts';
import { Network, VirtualLoop, connect, createServer, type Socket } from '../src/drivers/net/index.ts';
import { MemoryLinkPair } from '../src/phy/memory.ts';
import type { ByteLink } from '../src/phy/device.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { UartLinkPair } from '../src/phy/uart.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { stepAlloc } from '../support/alloc.ts';
import type { BenchContext, Figure } from './lib/types.ts';

export const name = 'net';

const A = 0xc0000201 | 0;
const B = 0xc0000202 | 0;

function stack(link: ByteLink, address: number, ring: number, sockets = 16): { iface: Interface; net: Network; slip: SlipDevice } {
  const slip = new SlipDevice(link, new PacketPool({ slots: 128, mtu: 1500 }), { txQueue: 32, rxQueue: 32 });
  const tcp = new TcpStack({ sockets, txBufferLen: ring, rxBufferLen: ring, isnKey: [address, 2, 3, 4], config: { delayedAckMs: 0 } });
  const iface = new Interface({ device: slip, address, tcp });
  return { iface, net: new Network({ iface, tcp, staging: new Uint8Array(65536) }), slip };
}

/** An http.Agent whose connections are slipstack/net sockets on `network`. */
function agentOn(network: Network, host: string, port: number, maxSockets: number): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  (agent as unknown as { createConnection: unknown }).createConnection = (_o: unknown, cb: () => void) => connect({ host, port, network }, cb);
  return agent;
}

function request(agent: http.Agent, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; octets: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '192.0.2.2', port: 80, path, agent, headers }, (res) => {
      let octets = 0;
      res.on('data', (d: Buffer) => { octets += d.length; });
      res.on('end', () => resolve({ status: res.statusCode!, octets }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function httpRate(ctx: BenchContext): Promise<number> {
  const links = new MemoryLinkPair({ capacity: 64 * 1024 });
  const device = stack(links.a, B, 16384);
  const peer = stack(links.b, A, 16384);
  const loop = new HostLoop([peer.iface, peer.net, device.iface, device.net]);
  device.net.attach(loop);
  peer.net.attach(loop);
  const running = loop.run();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
    res.end('ok');
  });
  const listener = createServer({ network: device.net, noDelay: true }, (s) => server.emit('connection', s));
  listener.listen(80);
  await once(listener, 'listening');
  const agent = agentOn(peer.net, '192.0.2.2', 80, 4);
  const total = ctx.quick ? 2000 : 10000;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      const r = await request(agent, '/');
      if (r.status !== 200) throw new Error(`status ${r.status}`);
    }
  };
  await Promise.all([worker(), worker()]); // warm-up connections
  issued = 0;
  const t0 = performance.now();
  await Promise.all([worker(), worker(), worker(), worker()]);
  const rate = total / ((performance.now() - t0) / 1000);
  agent.destroy();
  listener.close();
  device.net.close();
  peer.net.close();
  await loop.stop();
  await running;
  return rate;
}

async function consoleLoad(): Promise<{ octets: number; ms: number; page: number; json: number }> {
  const line = new UartLinkPair(115200, { fifo: 4096 });
  const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw'], {})!;
  const board = new Board({ link: line.a, config, isnKey: [1, 2, 3, 4], version: 'bench', imageSha256: 'ab'.repeat(32) });
  const slip = new SlipDevice(line.b, new PacketPool({ slots: 64, mtu: config.mtu }), { txQueue: 16, rxQueue: 16 });
  const tcp = new TcpStack({ sockets: 4, isnKey: [5, 6, 7, 8] });
  const iface = new Interface({ device: slip, address: A, tcp });
  const peer = new Network({ iface, tcp });
  const loop = new VirtualLoop([board, iface, peer], 1000);
  board.network!.attach(loop);
  peer.attach(loop);
  // Let the board settle (its first poll) before the clock starts.
  await loop.runFor(10);
  const agent = agentOn(peer, '192.0.2.2', 80, 1);
  const auth = { Authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}`, 'Accept-Encoding': 'gzip' };
  const octetsBefore = board.slip.stats.txBytes + slip.stats.txBytes;
  const t0 = loop.time;
  let page = -1;
  let json = -1;
  void (async () => {
    page = (await request(agent, '/', auth)).octets;
    json = (await request(agent, '/api/stats', auth)).octets;
  })();
  if (!(await loop.runUntil(() => json >= 0, 60_000))) throw new Error('the web console did not load in 60 s of virtual time');
  const ms = loop.time - t0;
  const octets = board.slip.stats.txBytes + slip.stats.txBytes - octetsBefore;
  agent.destroy();
  board.shutdown();
  await loop.runFor(1000);
  return { octets, ms, page, json };
}

async function coreAllocPerMb(ctx: BenchContext, raw: boolean): Promise<{ perMb: number; moved: number; perWindow: number; windows: number; jitWindows: number; jitWindowBytes: number }> {
  const links = new MemoryLinkPair({ capacity: 256 * 1024 });
  const device = stack(links.a, B, 256 * 1024, 2);
  const peer = stack(links.b, A, 256 * 1024, 2);
  const now = { t: 0 };
  const loopLike = { now: () => now.t, wake: () => {} };
  device.net.attach(loopLike);
  peer.net.attach(loopLike);
  const total = ctx.quick ? 16 * 1024 * 1024 : 64 * 1024 * 1024;
  let reader: Socket | null = null;
  let read = 0;
  const listener = createServer({ network: device.net }, (s) => {
    reader = s;
    s.on('data', (d: Buffer) => { read += d.length; });
  });
  if (raw) {
    device.net.tcp.listen(5001, 1);
    peer.net.tcp.connect(0, B, 5001);
  } else listener.listen(5001);
  const writer = raw ? null : connect({ host: '192.0.2.2', port: 5001, network: peer.net });
  const chunk = Buffer.alloc(65536, 0x5a);
  let written = 0;
  const rawBuf = new Uint8Array(65536);
  const nodeStep = async (): Promise<void> => {
    if (raw) {
      // Reference: the same transfer through TcpSocket.send/recv, no streams.
      const cs = peer.net.tcp.sockets.find((x) => x.inUse)!;
      const ss = device.net.tcp.sockets.find((x) => x.inUse && x.localPort === 5001);
      if (written < total) written += Math.max(0, cs.send(rawBuf, 0, rawBuf.length));
      if (ss !== undefined) for (;;) { const n = ss.recv(rawBuf, 0, rawBuf.length); if (n <= 0) break; read += n; }
      return;
    }
    while (writer !== null && written < total && writer.writableLength < 65536) {
      writer.write(chunk);
      written += chunk.length;
    }
    peer.net.poll(now.t);
    device.net.poll(now.t);
    await new Promise((r) => setImmediate(r));
  };
  const coreStep = (): void => {
    for (let k = 0; k < 64; k++) {
      const a = peer.iface.poll(now.t);
      const b = device.iface.poll(now.t);
      if (!a && !b) break;
    }
  };
  // Connect and warm up (unmeasured): two thirds of the transfer, so that the core's functions
  // are optimised as they are in a long-running device (the interpreter boxes numbers).
  while (read < (total * 2) / 3) {
    now.t++;
    coreStep();
    await nodeStep();
  }
  // Measured: each core turn alone, between forced scavenges (support/alloc.ts). A turn in
  // which V8 compiled or installed code (code/old space grew) is counted apart: its young
  // octets are the JIT's, whichever function it was compiling.
  let coreBytes = 0;
  let jitWindows = 0;
  let jitWindowBytes = 0;
  const windows: number[] = [];
  const startRead = read;
  while (read < total && written <= total) {
    now.t++;
    const w = stepAlloc(coreStep);
    if (w.jitBytes > 0) {
      jitWindows++;
      jitWindowBytes += w.bytes;
    } else {
      coreBytes += w.bytes;
      windows.push(w.bytes);
    }
    await nodeStep();
  }
  const moved = read - startRead;
  // The close is not part of the steady state measured above.
  writer?.end();
  writer?.destroy();
  (reader as Socket | null)?.destroy();
  listener.close();
  const sorted = windows.slice().sort((x, y) => x - y);
  return { perMb: coreBytes / (moved / 1e6), moved, perWindow: sorted[sorted.length >> 1] ?? 0, windows: windows.length, jitWindows, jitWindowBytes };
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const rate = await httpRate(ctx);
  ctx.log(`${Math.round(rate)} HTTP requests/s over the in-memory link`);
  const load = await consoleLoad();
  ctx.log(`web console: ${load.octets} octets on the wire, ${load.ms.toFixed(0)} ms at 115200 (page ${load.page} octets gzip, JSON ${load.json})`);
  const alloc = await coreAllocPerMb(ctx, false);
  ctx.log(`core allocations under the streams API: ${alloc.perMb.toFixed(2)} B/MB over ${(alloc.moved / 1e6).toFixed(1)} MB (median ${alloc.perWindow} B per window; ${alloc.jitWindows} of ${alloc.windows + alloc.jitWindows} windows with JIT work apart, ${alloc.jitWindowBytes} B in them)`);
  const raw = await coreAllocPerMb(ctx, true);
  ctx.log(`the same windows with TcpSocket.send/recv instead of streams: ${raw.perMb.toFixed(2)} B/MB (median ${raw.perWindow} B per window)`);
  return [
    { key: 'http_req_per_s_mem', value: Math.round(rate), unit: 'req/s', note: 'node:http server and client on slipstack/net sockets, keep-alive, 4 connections, two stacks over the in-memory SLIP link, real time' },
    { key: 'web_console_octets', value: load.octets, unit: 'octets', note: 'SLIP octets both ways: TCP handshake, GET / (gzip), GET /api/stats (gzip), password known' },
    { key: 'web_console_load_ms_115200', value: Math.round(load.ms), unit: 'ms', target: '< 2000', note: 'the same at 115200 baud, UART-timed line, virtual time, SYN to the last octet of the JSON' },
    { key: 'net_alloc_bytes_per_mb', value: Math.round(alloc.perMb * 100) / 100, unit: 'B/MB', target: '== 0', note: `core only (interfaces polled, between forced scavenges) while Sockets move 64 KiB Buffers, over the ${alloc.windows} core windows in which V8 compiled nothing; ${alloc.jitWindows} windows with JIT work (code space grew) counted apart: ${alloc.jitWindowBytes} B, V8's; median ${alloc.perWindow} B per core window` },
    { key: 'net_alloc_raw_bytes_per_mb', value: Math.round(raw.perMb * 100) / 100, unit: 'B/MB', note: `reference: the same core windows, the same transfer through TcpSocket.send/recv (no streams); median ${raw.perWindow} B per core window` },
  ];
}
