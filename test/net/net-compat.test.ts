/**
 * slipstack/net against node:net's own behaviour: every test here runs twice, once on node:net
 * over 127.0.0.1 and once on slipstack/net over the in-memory SLIP link, with the same
 * expectations: echo, half-close, backpressure with a paused reader (10 MiB, SHA-256, bounded
 * buffering), RST, a refused connect, idle timeouts, 100 connections at once, a port in use.
 * Then what node:net cannot show on 127.0.0.1 in a test's time, on slipstack only and in virtual
 * time: ETIMEDOUT from a connect nobody answers and from a peer that vanishes.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as slip from '../../src/drivers/net/index.ts';
import { NodeBackend, SlipstackBackend, VirtualSlipstackPair, type AnyServer, type AnySocket, type Backend } from './backends.ts';

/** Deterministic data, generated chunk by chunk (so a 10 MiB transfer never holds 10 MiB). */
function chunkOf(index: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = (index * 2654435761) | 1;
  for (let i = 0; i < len; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  return b;
}

async function listen(server: AnyServer): Promise<number> {
  server.listen(0);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function closeServer(server: AnyServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Resolves with everything the socket delivers until 'end'. */
function readAll(socket: AnySocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(parts)));
    socket.once('error', reject);
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** 'close' with its hadError argument, caught whenever it comes (events.once would also reject on 'error'). */
function closeOf(socket: AnySocket): Promise<boolean> {
  return new Promise((resolve) => socket.once('close', (hadError: boolean) => resolve(hadError)));
}

for (const make of [() => new NodeBackend(), () => new SlipstackBackend()]) {
  const backend: Backend = make();

  describe(`net API: ${backend.name}`, function () {
    this.timeout(120_000);

    before(() => backend.start());
    after(() => backend.stop());

    it('echo: what goes out comes back, with addresses and byte counts on both sides', async () => {
      let serverSide: AnySocket | null = null;
      let seenFrom = { remotePort: -1, localPort: -1 };
      const server = backend.createServer({}, (s) => {
        serverSide = s;
        seenFrom = { remotePort: s.remotePort ?? -1, localPort: s.localPort ?? -1 };
        s.pipe(s);
      });
      const port = await listen(server);
      const client = backend.connect({ port });
      const clientClosed = closeOf(client);
      await once(client, 'connect');
      const clientPort = client.localPort;
      expect(client.remoteAddress).to.equal(backend.host);
      expect(client.remotePort).to.equal(port);
      expect(client.remoteFamily).to.equal('IPv4');
      const data = chunkOf(1, 100_000);
      const back = readAll(client);
      client.end(data);
      const got = await back;
      expect(sha(got)).to.equal(sha(data));
      expect(client.bytesRead).to.equal(data.length);
      expect(client.bytesWritten).to.equal(data.length);
      expect(await clientClosed).to.equal(false);
      expect(serverSide).to.not.equal(null);
      const s = serverSide! as AnySocket;
      expect(seenFrom.remotePort).to.equal(clientPort);
      expect(seenFrom.localPort).to.equal(port);
      expect(s.bytesRead).to.equal(data.length);
      await closeServer(server);
    });

    it('half-close: with allowHalfOpen the side that got a FIN still sends; without it, it ends too', async () => {
      const server = backend.createServer({ allowHalfOpen: true }, (s) => {
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => {
          // The client has finished sending; this side is still writable.
          expect(s.writable).to.equal(true);
          s.end(`got ${Buffer.concat(parts).toString()}`);
        });
      });
      const port = await listen(server);
      const client = backend.connect({ port, allowHalfOpen: true });
      const clientClosed = closeOf(client);
      await once(client, 'connect');
      const reply = readAll(client);
      client.end('ping');
      expect((await reply).toString()).to.equal('got ping');
      expect(await clientClosed).to.equal(false);
      await closeServer(server);

      // Without allowHalfOpen (the default) a FIN ends the writable side as well.
      const plain = backend.createServer({}, (s) => {
        s.resume();
      });
      const port2 = await listen(plain);
      const c2 = backend.connect({ port: port2 });
      const c2Closed = closeOf(c2);
      await once(c2, 'connect');
      c2.resume();
      const ended = once(c2, 'end');
      c2.end();
      await ended;
      expect(await c2Closed).to.equal(false);
      await closeServer(plain);
    });

    it('backpressure: a paused reader stops the writer, 10 MiB arrive intact, buffering stays bounded', async () => {
      const total = 10 * 1024 * 1024;
      const chunkLen = 64 * 1024;
      let serverSide: AnySocket | null = null;
      const server = backend.createServer({ pauseOnConnect: true }, (s) => {
        serverSide = s;
      });
      const port = await listen(server);
      const client = backend.connect({ port });
      const clientClosed = closeOf(client);
      await once(client, 'connect');
      while (serverSide === null) await new Promise((r) => setImmediate(r));
      const reader = serverSide as AnySocket;

      const sent = createHash('sha256');
      const received = createHash('sha256');
      let written = 0;
      let read = 0;
      let sawFalse = 0;
      let peakWritable = 0;
      let peakReadable = 0;
      const heapBefore = process.memoryUsage().heapUsed;
      let peakHeap = 0;

      // The writer: honours write() === false and 'drain'.
      const writer = (async () => {
        for (let i = 0; written < total; i++) {
          const chunk = chunkOf(i, chunkLen);
          sent.update(chunk);
          written += chunk.length;
          const ok = client.write(chunk);
          if (client.writableLength > peakWritable) peakWritable = client.writableLength;
          if (!ok) {
            sawFalse++;
            await once(client, 'drain');
          }
        }
        client.end();
      })();

      // The reader: paused at first until the writer is stopped, then reads in bursts, pausing again.
      while (sawFalse === 0) await new Promise((r) => setTimeout(r, 5));
      // Paused and blocked: what is in flight is bounded by the implementation's buffers.
      await new Promise((r) => setTimeout(r, 50));
      expect(written - read, 'octets between a blocked writer and a paused reader').to.be.at.most(backend.maxInFlight);
      const done = new Promise<void>((resolve, reject) => {
        reader.on('data', (d: Buffer) => {
          received.update(d);
          read += d.length;
          if (reader.readableLength > peakReadable) peakReadable = reader.readableLength;
          const heap = process.memoryUsage().heapUsed - heapBefore;
          if (heap > peakHeap) peakHeap = heap;
          if ((read / chunkLen) % 16 < 1) {
            reader.pause();
            setTimeout(() => reader.resume(), 1);
          }
        });
        reader.on('end', () => resolve());
        reader.on('error', reject);
      });
      reader.resume();
      await Promise.all([writer, done]);
      expect(read).to.equal(total);
      expect(received.digest('hex')).to.equal(sent.digest('hex'));
      expect(sawFalse, 'write() returned false').to.be.greaterThan(0);
      expect(peakWritable, 'client writableLength').to.be.at.most(client.writableHighWaterMark + chunkLen);
      expect(peakReadable, 'server readableLength').to.be.at.most(reader.readableHighWaterMark + chunkLen);
      expect(peakHeap, 'heap growth while moving 10 MiB').to.be.below(64 * 1024 * 1024);
      expect(await clientClosed).to.equal(false);
      await closeServer(server);
    });

    it('RST: resetAndDestroy() gives the peer ECONNRESET and a close with hadError', async () => {
      let serverSide: AnySocket | null = null;
      const server = backend.createServer({}, (s) => {
        serverSide = s;
      });
      const port = await listen(server);
      const client = backend.connect({ port });
      await once(client, 'connect');
      while (serverSide === null) await new Promise((r) => setImmediate(r));
      const s = serverSide as AnySocket;
      const error = once(s, 'error');
      const sClosed = closeOf(s);
      const clientClosed = closeOf(client);
      client.write('some data');
      await new Promise((r) => setTimeout(r, 20));
      client.resetAndDestroy();
      const [e] = (await error) as [NodeJS.ErrnoException];
      expect(e.code).to.equal('ECONNRESET');
      expect(e.syscall).to.equal('read');
      expect(e.errno).to.equal(-104);
      expect(await sClosed).to.equal(true);
      expect(await clientClosed).to.equal(false);
      await closeServer(server);
    });

    it('a refused connect: ECONNREFUSED with the address and port, then close with hadError', async () => {
      const server = backend.createServer({}, () => {});
      const port = await listen(server);
      await closeServer(server);
      const client = backend.connect({ port });
      const clientClosed = closeOf(client);
      const [e] = (await once(client, 'error')) as [NodeJS.ErrnoException & { address: string; port: number }];
      expect(e.code).to.equal('ECONNREFUSED');
      expect(e.syscall).to.equal('connect');
      expect(e.errno).to.equal(-111);
      expect(e.address).to.equal(backend.host);
      expect(e.port).to.equal(port);
      expect(e.message).to.equal(`connect ECONNREFUSED ${backend.host}:${port}`);
      expect(await clientClosed).to.equal(true);
      expect(client.destroyed).to.equal(true);
    });

    it('setTimeout: one timeout after idleness, the socket stays open; activity re-arms it; 0 turns it off', async () => {
      const server = backend.createServer({}, (s) => s.pipe(s));
      const port = await listen(server);
      const client = backend.connect({ port, timeout: 30 });
      const clientClosed = closeOf(client);
      await once(client, 'connect');
      let timeouts = 0;
      client.on('timeout', () => timeouts++);
      await once(client, 'timeout');
      expect(client.destroyed).to.equal(false);
      expect(client.timeout).to.equal(30);
      client.write('x');
      await once(client, 'data');
      await once(client, 'timeout');
      expect(timeouts).to.equal(2);
      client.setTimeout(0);
      expect(client.timeout).to.equal(0);
      await new Promise((r) => setTimeout(r, 100));
      expect(timeouts).to.equal(2);
      client.end();
      client.resume();
      await clientClosed;
      await closeServer(server);
    });

    it('100 connections at once, each echoed, all closed, then the server closes', async () => {
      const server = backend.createServer({}, (s) => s.pipe(s));
      const port = await listen(server);
      const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
        const c = backend.connect({ port });
        const closed = closeOf(c);
        const data = chunkOf(1000 + i, 2048);
        const back = readAll(c);
        c.end(data);
        const got = await back;
        await closed;
        return sha(got) === sha(data);
      }));
      expect(results.filter((ok) => ok).length).to.equal(100);
      await closeServer(server);
    });

    it('listen on a port in use: EADDRINUSE on the second server', async () => {
      const a = backend.createServer({}, () => {});
      const port = await listen(a);
      const b = backend.createServer({}, () => {});
      b.listen(port);
      const [e] = (await once(b, 'error')) as [NodeJS.ErrnoException];
      expect(e.code).to.equal('EADDRINUSE');
      expect(e.syscall).to.equal('listen');
      expect(e.errno).to.equal(-98);
      expect(b.listening).to.equal(false);
      await closeServer(a);
    });
  });
}

/** What a socket ended with: its 'error' (if any) and 'close''s hadError, recorded as they come. */
function watch(socket: AnySocket): { error: (NodeJS.ErrnoException & { address?: string; port?: number }) | null; hadError: boolean | null; ended: boolean; connected: boolean } {
  const seen = { error: null as (NodeJS.ErrnoException & { address?: string; port?: number }) | null, hadError: null as boolean | null, ended: false, connected: false };
  socket.on('error', (e: NodeJS.ErrnoException) => { seen.error = e; });
  socket.on('close', (hadError: boolean) => { seen.hadError = hadError; });
  socket.on('end', () => { seen.ended = true; });
  socket.on('connect', () => { seen.connected = true; });
  return seen;
}

// node:net cannot time out on loopback (the kernel answers every SYN, and a peer cannot vanish
// from under an established connection there), so these are slipstack's alone. Node's errors for
// the same events on a real network are the model: `connect ETIMEDOUT host:port` after the SYN
// retries (6 here as in Linux's tcp_syn_retries), `read ETIMEDOUT` after the data retries.
describe('net API, slipstack only (virtual time): ETIMEDOUT', function () {
  this.timeout(60_000);

  it('connect() to a host that never answers: after the SYN retries (6, 123 s) an ETIMEDOUT error, then close with hadError', async () => {
    const pair = new VirtualSlipstackPair();
    // 192.0.2.3 is on the link but is nobody: the device drops the SYNs (not its address), nothing comes back.
    const client = slip.connect({ host: '192.0.2.3', port: 80, network: pair.peer });
    const seen = watch(client);
    const t0 = pair.loop.time;
    expect(await pair.loop.runUntil(() => seen.hadError !== null, 600_000), 'closed within 10 min').to.equal(true);
    // 6 SYN retransmissions, the RTO doubling from 1 s: 1+2+4+8+16+32 s, then 60 s (its cap; Linux's is
    // 120 s, hence its 127 s) for the last one to go unanswered.
    expect(pair.loop.time - t0, 'virtual ms from connect() to close').to.be.within(123_000, 123_100);
    const e = seen.error!;
    expect(e).to.not.equal(null);
    expect(e.code).to.equal('ETIMEDOUT');
    expect(e.errno).to.equal(-110);
    expect(e.syscall).to.equal('connect');
    expect(e.address).to.equal('192.0.2.3');
    expect(e.port).to.equal(80);
    expect(e.message).to.equal('connect ETIMEDOUT 192.0.2.3:80');
    expect(seen.hadError).to.equal(true);
    expect(seen.connected).to.equal(false);
    expect(client.destroyed).to.equal(true);
    expect(client.connecting).to.equal(false);
    expect(pair.peer.tcp.stats.timeouts).to.equal(1);
    await pair.stop();
  });

  it('an established socket whose peer vanishes with data unacknowledged: after the retransmission limit ETIMEDOUT, close with hadError', async () => {
    const pair = new VirtualSlipstackPair();
    const server = slip.createServer({ network: pair.device }, (s) => s.pipe(s));
    server.listen(7);
    const client = slip.connect({ host: '192.0.2.2', port: 7, network: pair.peer });
    const seen = watch(client);
    let echoed = '';
    client.on('data', (d: Buffer) => { echoed += d.toString(); });
    client.write('hello');
    expect(await pair.loop.runUntil(() => echoed === 'hello', 10_000)).to.equal(true);
    pair.vanish();
    client.write('anyone there?');
    const t0 = pair.loop.time;
    expect(await pair.loop.runUntil(() => seen.hadError !== null, 3_600_000), 'closed within an hour').to.equal(true);
    // 12 retransmissions, the RTO doubling from 1 s up to its 60 s cap: 1+2+...+32 + 7 x 60 s.
    expect(pair.loop.time - t0, 'virtual ms from the last write to close').to.be.within(483_000, 483_100);
    const e = seen.error!;
    expect(e).to.not.equal(null);
    expect(e.code).to.equal('ETIMEDOUT');
    expect(e.errno).to.equal(-110);
    expect(e.syscall).to.equal('read');
    expect(e.message).to.equal('read ETIMEDOUT');
    expect(seen.hadError).to.equal(true);
    expect(seen.ended, "no 'end': the stream did not end cleanly").to.equal(false);
    expect(client.destroyed).to.equal(true);
    expect(pair.peer.tcp.stats.timeouts).to.equal(1);
    await pair.stop();
  });

  it('a writer blocked on a full send ring when the peer vanishes: one ETIMEDOUT error, the waiting write fails with it', async () => {
    const pair = new VirtualSlipstackPair();
    const server = slip.createServer({ network: pair.device, pauseOnConnect: true }, () => {});
    server.listen(9);
    const client = slip.connect({ host: '192.0.2.2', port: 9, network: pair.peer });
    const seen = watch(client);
    let errors = 0;
    client.on('error', () => errors++);
    expect(await pair.loop.runUntil(() => seen.connected, 10_000)).to.equal(true);
    pair.vanish();
    let writeError: NodeJS.ErrnoException | null | undefined;
    // More than the 16 KiB send ring: the rest of the chunk waits for room that never comes.
    const ok = client.write(Buffer.alloc(256 * 1024, 1), (e) => { writeError = e; });
    expect(ok).to.equal(false);
    expect(await pair.loop.runUntil(() => seen.hadError !== null, 3_600_000), 'closed within an hour').to.equal(true);
    expect(seen.error?.code).to.equal('ETIMEDOUT');
    expect(errors).to.equal(1);
    expect(writeError?.code).to.equal('ETIMEDOUT');
    expect(seen.hadError).to.equal(true);
    await pair.stop();
  });

  it('an idle socket with setKeepAlive(true) whose peer vanishes: the unanswered probes end it with ETIMEDOUT', async () => {
    const pair = new VirtualSlipstackPair();
    const server = slip.createServer({ network: pair.device }, (s) => s.resume());
    server.listen(9);
    const client = slip.connect({ host: '192.0.2.2', port: 9, network: pair.peer });
    const seen = watch(client);
    expect(await pair.loop.runUntil(() => seen.connected, 10_000)).to.equal(true);
    client.setKeepAlive(true);
    pair.vanish();
    const t0 = pair.loop.time;
    expect(await pair.loop.runUntil(() => seen.hadError !== null, 4 * 3_600_000), 'closed within 4 h').to.equal(true);
    // The stack's keepalive: 2 h idle, then 10 probes 75 s apart.
    expect(pair.loop.time - t0, 'virtual ms from idle to close').to.be.within(7_950_000 - 1000, 7_950_000 + 1000);
    expect(seen.error?.code).to.equal('ETIMEDOUT');
    expect(seen.error?.syscall).to.equal('read');
    expect(seen.hadError).to.equal(true);
    await pair.stop();
  });
});
