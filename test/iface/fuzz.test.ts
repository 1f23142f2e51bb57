/**
 * Bad input never crashes the stack or leaks: 100 000 random byte strings and 100 000 mutated
 * valid frames go through an Interface; then a slice of every fuzzing surface of
 * test/fuzz/surfaces.ts (SLIP octets, IPv4 frames, telnet input, CSLIP frames, HTTP requests to
 * the web console) goes through a whole Board. No exception may escape `poll`, every slot must come
 * back, and the counters must account for every frame.
 */
import { expect } from 'chai';
import { Interface } from '../../src/iface/interface.ts';
import { Xorshift32 } from '../../src/random.ts';
import { UdpEchoService } from '../../firmware-bridge/services/udp-echo.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { randomBytes } from '../../support/pattern.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { TestingDevice } from '../helpers/testing-device.ts';
import { echoRequest, fragment, ipv4, naiveChecksum, udp } from '../helpers/packets.ts';
import { FUZZ_SURFACES, FuzzFailure, fuzz, runFuzz, type FuzzMode, type FuzzSurface } from '../fuzz/surfaces.ts';

/** Rewrites the IPv4 header checksum so a mutant gets past the first check. */
function fixHeaderChecksum(frame: Uint8Array): void {
  frame[10] = 0;
  frame[11] = 0;
  const c = naiveChecksum(frame, 0, 20);
  frame[10] = c >> 8;
  frame[11] = c & 0xff;
}

/** One frame in, the stack and the echo service run, whatever it sent is taken away. */
function feed(dev: TestingDevice, iface: Interface, echo: UdpEchoService, frame: Uint8Array, now: number): void {
  dev.inject(frame);
  iface.poll(now);
  echo.poll(now);
  iface.poll(now);
  dev.drain();
}

function accountingHolds(iface: Interface, frames: number): void {
  const ip = iface.stats.ip;
  expect(ip.recv).to.equal(frames, 'every frame was taken from the device');
  expect(ip.drop + ip.fragments + ip.delivered).to.equal(ip.recv, 'each frame ends in exactly one of drop / fragments / delivered');
  expect(ip.chkerr + ip.lenerr + ip.hdrerr + ip.badDst + ip.badSrc).to.equal(ip.drop, 'each drop has a named reason');
}

describe('Interface: malformed input', function () {
  this.timeout(120_000);
  checkPools();

  it('survives 100 000 random byte strings, returning every slot and counting every frame', () => {
    const pool = testPool({ slots: 8, mtu: 1500 });
    const dev = new TestingDevice(pool);
    const iface = new Interface({ device: dev, address: HOST_B });
    const echo = new UdpEchoService(iface);
    const rng = new Xorshift32(0x5eed);
    const N = 100_000;
    let now = 0;
    for (let i = 0; i < N; i++) {
      const len = rng.below(4) === 0 ? rng.below(24) : rng.below(1500);
      const frame = randomBytes(len, rng.next());
      // A quarter of them look like IPv4 with a valid header checksum, to get past the first check.
      if (len >= 20 && rng.below(4) === 0) {
        frame[0] = 0x45;
        frame[2] = len >> 8;
        frame[3] = len & 0xff;
        fixHeaderChecksum(frame);
      }
      feed(dev, iface, echo, frame, now);
      now += 1;
    }
    iface.poll(now + 60_000);
    accountingHolds(iface, N);
    expect(iface.reassembler.used).to.equal(0);
  });

  it('survives 100 000 mutated valid frames (with and without fixed-up header checksums)', () => {
    const pool = testPool({ slots: 8, mtu: 1500 });
    const dev = new TestingDevice(pool);
    const iface = new Interface({ device: dev, address: HOST_B });
    const echo = new UdpEchoService(iface);
    const big = echoRequest(randomBytes(2500, 1), 1, 1, { ident: 0x7777 });
    const seeds: Uint8Array[] = [
      echoRequest(randomBytes(56, 1)),
      echoRequest(randomBytes(1400, 2)),
      ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 7, randomBytes(100, 3))),
      ipv4({ protocol: 17 }, udp(HOST_A, HOST_B, 1000, 99, randomBytes(10, 4))),
      ipv4({ protocol: 6 }, randomBytes(40, 5)),
      ...fragment(big, 800),
    ];
    const rng = new Xorshift32(0xf00d);
    const N = 100_000;
    let now = 0;
    for (let i = 0; i < N; i++) {
      const seed = seeds[rng.below(seeds.length)]!;
      let frame = seed.slice();
      const edits = 1 + rng.below(4);
      for (let e = 0; e < edits; e++) {
        const kind = rng.below(5);
        if (kind === 0) frame[rng.below(frame.length)] = rng.next() & 0xff;
        else if (kind === 1) frame[rng.below(Math.min(40, frame.length))]! ^= 1 << rng.below(8);
        else if (kind === 2) frame = frame.subarray(0, rng.below(frame.length + 1));
        else if (kind === 3) {
          const longer = new Uint8Array(Math.min(1500, frame.length + rng.below(64)));
          longer.set(frame.subarray(0, longer.length));
          frame = longer;
        } else if (frame.length > 30) frame[20 + rng.below(10)] = rng.next() & 0xff;
      }
      if (frame.length >= 20 && rng.below(2) === 0) {
        fixHeaderChecksum(frame);
      }
      feed(dev, iface, echo, frame, now);
      now += 3;
    }
    iface.poll(now + 60_000);
    accountingHolds(iface, N);
    expect(iface.stats.icmp.echoReplied, 'some mutants are still valid requests').to.be.greaterThan(0);
    expect(iface.reassembler.used).to.equal(0);
  });
});

describe('fuzzing surfaces (a slice of `npm run fuzz`): the whole board, seeded', function () {
  this.timeout(120_000);
  // The slice CI runs on every push; `npm run fuzz -- --iterations 1000000` runs the rest. The
  // cslip and http surfaces do more per input (a compressing peer; node:http on Node's event
  // loop, 1.1 s of virtual time per input), so their slices are smaller (about 5 s each here).
  const SLICE: Record<FuzzSurface, Record<FuzzMode, number>> = {
    slip: { random: 50_000, mutated: 50_000 },
    ipv4: { random: 50_000, mutated: 50_000 },
    telnet: { random: 50_000, mutated: 50_000 },
    cslip: { random: 50_000, mutated: 20_000 },
    http: { random: 10_000, mutated: 4_000 },
  };
  for (const surface of FUZZ_SURFACES) {
    for (const mode of ['random', 'mutated'] as const) {
      const n = SLICE[surface][mode];
      const also = surface === 'cslip' ? ', every dropped frame accounted for, a clean compressed echo after'
        : surface === 'http' ? ', an authorized GET /api/stats served after' : '';
      const smaller = n >= 50_000 ? '' : surface === 'http' ? ' (a smaller slice: node:http runs on the event loop)'
        : ' (a smaller slice: a compressing peer per input)';
      it(`${surface}, ${mode}: ${n} inputs${smaller}, no throw, every pool slot and TCP socket back, a ping answered after${also}`, async () => {
        const r = await runFuzz(surface, mode, n, 0x5eed);
        expect(r.leakedSlots, 'pool slots in use').to.equal(0);
        expect(r.leakedSockets, 'TCP sockets in use').to.equal(0);
        expect(r.answersPing, 'answers a ping afterwards').to.equal(true);
        expect(r.problems, 'the surface\'s own checks').to.deep.equal([]);
        expect(r.framesOut, 'the board answered some inputs').to.be.greaterThan(0);
        if (surface === 'ipv4' && mode === 'mutated') expect(r.echoedOctets, 'TCP data reached the echo service').to.be.greaterThan(10_000);
        const c = r.counters;
        if (surface === 'cslip') {
          // The decompressor saw every kind of frame and took each path: rebuilt, loaded, rejected, tossed, no room (--profile small).
          for (const k of ['in_ip', 'in_uncompressed', 'in_compressed', 'in_errors', 'in_tossed', 'in_no_room', 'frame_errors_seen']) {
            expect(c[k], k).to.be.greaterThan(0);
          }
          if (mode === 'mutated') {
            // Every delta kind and both specials went out from the peer's compressor, and data reached the echo service.
            for (const k of ['delta_C', 'delta_I', 'delta_P', 'delta_S', 'delta_A', 'delta_W', 'delta_U', 'special_I', 'special_D', 'must_toss']) {
              expect(c[k], k).to.be.greaterThan(0);
            }
            expect(r.echoedOctets, 'TCP data reached the echo service through the decompressor').to.be.greaterThan(10_000);
          }
        }
        if (surface === 'http') {
          expect(c['status_400'], 'answered 400').to.be.greaterThan(0);
          if (mode === 'mutated') {
            for (const code of [200, 401, 404, 405]) expect(c[`status_${code}`], `answered ${code}`).to.be.greaterThan(0);
          }
        }
      });
    }
  }

  it('is reproducible: the same seed gives the same run', async () => {
    const a = fuzz('ipv4', 'mutated', 2000, 42);
    const b = fuzz('ipv4', 'mutated', 2000, 42);
    expect(a.framesOut).to.equal(b.framesOut);
    const c = fuzz('cslip', 'mutated', 2000, 42);
    const d = fuzz('cslip', 'mutated', 2000, 42);
    expect([c.framesOut, c.counters]).to.deep.equal([d.framesOut, d.counters]);
    const e = await runFuzz('http', 'mutated', 300, 42);
    const f = await runFuzz('http', 'mutated', 300, 42);
    expect([e.framesOut, e.counters]).to.deep.equal([f.framesOut, f.counters]);
  });

  it('a throw names the surface, the seed and the input that reproduce it', () => {
    const e = new FuzzFailure('slip', 'random', 7, 123, Uint8Array.of(0xc0, 1), new Error('boom'));
    expect(e.message).to.contain('fuzz slip/random seed 7 input #123 threw: Error: boom');
    expect(e.message).to.contain('input (2 octets): c001');
    expect(e.message).to.contain('npm run fuzz -- --surface slip --mode random --seed 7 --iterations 124');
  });
});
