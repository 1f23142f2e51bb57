/**
 * Two stacks in virtual time, written to run inside QuickJS (support/quickjs.ts bundles this file
 * with the core and evaluates it there): it imports the core only (src/ without drivers/) and no
 * Node API, so any Node API that leaks into the core fails when the bundle runs.
 *
 * Stack A (192.0.2.1) and stack B (192.0.2.2) talk SLIP over a MemoryLinkPair: ICMP echo, and a
 * TCP transfer from A to B whose received octets are kept for the harness outside to hash.
 * The entry points are put on `globalThis.slipstackWorld`.
 */
import { Interface } from '../src/iface/interface.ts';
import { MemoryLinkPair } from '../src/phy/memory.ts';
import { SlipDevice } from '../src/phy/slip-device.ts';
import { Xorshift32 } from '../src/random.ts';
import { IcmpSocket } from '../src/socket/icmp.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { TcpStack } from '../src/socket/tcp/stack.ts';
import { PacketPool } from '../src/storage/packet-pool.ts';
import { NEVER, type Pollable } from '../src/time.ts';

const A = 0xc0000201 | 0;
const B = 0xc0000202 | 0;

interface World {
  a: Interface;
  b: Interface;
  tcpA: TcpStack;
  tcpB: TcpStack;
  now: number;
}

function makeWorld(): World {
  const links = new MemoryLinkPair();
  const tcpA = new TcpStack({ sockets: 2, isnKey: [1, 2, 3, 4] });
  const tcpB = new TcpStack({ sockets: 2, isnKey: [5, 6, 7, 8] });
  const a = new Interface({ device: new SlipDevice(links.a, new PacketPool({ slots: 32, mtu: 1500 })), address: A, tcp: tcpA });
  const b = new Interface({ device: new SlipDevice(links.b, new PacketPool({ slots: 32, mtu: 1500 })), address: B, tcp: tcpB });
  return { a, b, tcpA, tcpB, now: 0 };
}

/** Polls until quiet, then jumps to the next deadline, until `done()` or `limitMs` of virtual time pass. */
function run(world: World, parts: Pollable[], done: () => boolean, limitMs: number): boolean {
  const limit = world.now + limitMs;
  while (!done()) {
    let progress = false;
    for (let i = 0; i < parts.length; i++) if (parts[i]!.poll(world.now)) progress = true;
    if (progress) continue;
    let next = NEVER;
    for (let i = 0; i < parts.length; i++) {
      const t = parts[i]!.pollAt(world.now);
      if (t < next) next = t;
    }
    if (next === NEVER || next > limit) return done();
    world.now = next > world.now ? next : world.now + 1;
  }
  return true;
}

/** A pings B `count` times with 56 octets; returns how many replies came back with the data intact. */
function ping(count: number): number {
  const world = makeWorld();
  const sock = new IcmpSocket({ rxBuffer: new Uint8Array(2048), txBuffer: new Uint8Array(2048) });
  sock.bind(0x51);
  world.a.addIcmpSocket(sock);
  const data = new Uint8Array(56);
  const reply = new Uint8Array(64);
  let good = 0;
  for (let seq = 1; seq <= count; seq++) {
    for (let i = 0; i < 56; i++) data[i] = (seq + i) & 0xff;
    sock.sendEcho(B, seq, data, 0, 56);
    let len = -1;
    run(world, [world.a, world.b], () => (len = sock.recvEcho(reply, 0, reply.length)) >= 0, 1000);
    let same = len === 56 && sock.seqNo === seq;
    for (let i = 0; same && i < 56; i++) same = reply[i] === data[i];
    if (same) good++;
  }
  return good;
}

/**
 * Sends `size` octets of Xorshift32(`seed`) from A to B over TCP; returns what B received (the
 * harness hashes it), or throws if the transfer stalls.
 */
function transfer(size: number, seed: number): { received: ArrayBuffer } {
  const world = makeWorld();
  const data = new Uint8Array(size);
  new Xorshift32(seed).fill(data);
  const got = new Uint8Array(size);
  const listener = world.tcpB.listen(5001, 1);
  const client = world.tcpA.connect(0, B, 5001);
  if (client === null) throw new Error('connect refused');
  let server: TcpSocket | null = null;
  let sent = 0;
  let received = 0;
  const app: Pollable = {
    poll(): boolean {
      let progress = false;
      if (server === null) server = world.tcpB.accept(listener);
      while (sent < size) {
        const n = client.send(data, sent, size - sent);
        if (n <= 0) break;
        sent += n;
        progress = true;
      }
      if (server !== null) {
        for (;;) {
          const n = server.recv(got, received, size - received);
          if (n <= 0) break;
          received += n;
          progress = true;
        }
      }
      return progress;
    },
    pollAt: () => NEVER,
  };
  if (!run(world, [world.a, world.b, app], () => received === size, 600_000)) {
    throw new Error(`transfer stalled at ${received} of ${size} octets`);
  }
  return { received: got.buffer as ArrayBuffer };
}

(globalThis as { slipstackWorld?: unknown }).slipstackWorld = { makeWorld, ping, transfer };
