/**
 * --profile small: the board is built within its 64 KiB budget (every ArrayBuffer it allocates,
 * measured), serves ping, echo and two telnet sessions over MTU 296 with 4 TCP sockets, and
 * refuses what does not fit with a counted reset, never a crash.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { Interface } from '../../src/iface/interface.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { CslipDevice } from '../../src/phy/cslip-device.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { IcmpSocket } from '../../src/socket/icmp.ts';
import type { TcpSocket } from '../../src/socket/tcp/socket.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { Board } from '../../firmware-bridge/board.ts';
import { parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { SMALL_PROFILE } from '../../firmware-bridge/limits.ts';
import { formatPool, formatStats } from '../../firmware-bridge/telnet/format.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { randomBytes } from '../../support/pattern.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runUntil } from '../helpers/sim.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const arrayBufferBytes = (): number => process.memoryUsage().arrayBuffers;

function smallBoard(peerProto: 'slip' | 'cslip' = 'slip') {
  const pair = new MemoryLinkPair();
  const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw', '--profile', 'small'], {})!;
  (globalThis as { gc?: () => void }).gc?.();
  const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-', arrayBufferBytes });
  const pool = testPool({ mtu: config.mtu, slots: 32 });
  const tcp = new TcpStack({ sockets: 8, isnKey: [5, 6, 7, 8] });
  const slip = new SlipDevice(pair.b, pool);
  const device = peerProto === 'cslip' ? new CslipDevice(slip, { proto: 'cslip' }) : slip;
  const peer = new Interface({ device, address: HOST_A, tcp });
  return { board, config, tcp, peer, clock: new VirtualClock(1000) };
}

/** Sends `data` to an echo service on `echo` and returns what came back once all of it did. */
function echoThrough(echo: TcpSocket, data: Uint8Array, clock: VirtualClock, parts: Parameters<typeof runUntil>[1]): Uint8Array {
  const got = new Uint8Array(data.length);
  let sent = 0;
  let n = 0;
  const step = (): boolean => {
    if (sent < data.length) {
      const k = echo.send(data, sent, data.length - sent);
      if (k > 0) sent += k;
    }
    const k = echo.recv(got, n, got.length - n);
    if (k > 0) n += k;
    return n === data.length;
  };
  expect(runUntil(clock, parts, step, 60_000), 'every octet echoed').to.equal(true);
  return got;
}

describe('firmware: --profile small', function () {
  this.timeout(30_000);
  checkPools();

  it('sets MTU 296 and 4 sockets (flags still override) and rejects an unknown profile', () => {
    const c = parseFirmwareArgs(['--port', 'x', '--profile', 'small'], {})!;
    expect([c.mtu, c.sockets, c.profile]).to.deep.equal([296, 4, 'small']);
    expect(parseFirmwareArgs(['--port', 'x', '--profile', 'small', '--mtu', '576'], {})!.mtu).to.equal(576);
    expect(parseFirmwareArgs(['--port', 'x'], {})!.profile).to.equal('default');
    expect(() => parseFirmwareArgs(['--port', 'x', '--profile', 'tiny'], {})).to.throw(/--profile wants one of default, small/);
  });

  it('allocates at most its 64 KiB budget, and `pool` shows the budget and the high-water marks', () => {
    // Dead buffers freed while a board is built would make it look smaller: take the largest of three.
    const builds = [smallBoard(), smallBoard(), smallBoard()].sort((x, y) => y.board.memory.allocated - x.board.memory.allocated);
    const { board } = builds[0]!;
    for (const b of builds.slice(1)) b.board.slip.close();
    expect(board.memory.budget).to.equal(64 * 1024);
    expect(board.memory.allocated).to.be.greaterThan(board.preallocatedBytes);
    expect(board.memory.allocated).to.be.at.most(SMALL_PROFILE.memoryBudget!);
    expect(board.pool.size).to.equal(SMALL_PROFILE.poolSlots);
    expect(board.tcp.sockets.length).to.equal(4);
    expect(board.telnet!.sessions.length).to.equal(2);
    const r = board.iface.reassembler;
    const text = formatPool({
      name: board.pool.name, slots: board.pool.size, mtu: board.pool.mtu, stats: board.pool.stats,
      reassembly: { buffers: r.count, used: r.used, size: r.size, stats: r.stats },
      tcp: { sockets: 4, used: 0, ringBytes: board.tcp.ringBytes }, memory: board.memory,
    });
    expect(text).to.match(/pbuf: used 0 \/ max 0 \/ size 16/);
    expect(text).to.contain(`memory: ${board.memory.allocated} octets allocated at start / budget 65536 octets  (profile small)`);
    const stats = formatStats({ ip: {}, icmp: {}, udp: {}, tcp: null, device: null, telnet: null, memory: board.memory,
      pool: { name: 'pbuf', max: board.pool.stats.max, slots: board.pool.size, err: board.pool.stats.err } });
    expect(stats).to.contain('pbuf: max 0 / size 16  err 0\n');
    expect(stats).to.contain('/ budget 65536 octets  (profile small)\n');
    board.slip.close();
  });

  it('answers ping, echoes over TCP at MTU 296, and refuses a fifth connection with a RST, counted', () => {
    const { board, tcp, peer, clock } = smallBoard();
    const parts = [board, peer];
    const icmp = new IcmpSocket({ rxBuffer: new Uint8Array(1024), txBuffer: new Uint8Array(1024) });
    icmp.bind(0x42);
    peer.addIcmpSocket(icmp);
    const reply = new Uint8Array(64);
    icmp.sendEcho(HOST_B, 1, reply, 0, 56);
    expect(runUntil(clock, parts, () => icmp.recvEcho(reply, 0, 64) === 56, 1000)).to.equal(true);

    // Four connections take the four sockets (two telnet, echo, discard); a fifth is refused.
    const socks = [tcp.connect(clock.now, HOST_B, 23)!, tcp.connect(clock.now, HOST_B, 23)!, tcp.connect(clock.now, HOST_B, 7)!, tcp.connect(clock.now, HOST_B, 9)!];
    expect(runUntil(clock, parts, () => socks.every((s) => s.state === TcpState.Established), 5000)).to.equal(true);
    const fifth = tcp.connect(clock.now, HOST_B, 19)!;
    expect(runUntil(clock, parts, () => fifth.state === TcpState.Closed, 5000)).to.equal(true);
    expect(board.tcp.stats.outRsts).to.be.at.least(1);

    const data = randomBytes(20_000, 3);
    const echo = socks[2]!;
    const got = echoThrough(echo, data, clock, parts);
    expect(got).to.deep.equal(data);
    expect(board.pool.stats.max).to.be.at.most(SMALL_PROFILE.poolSlots);
    for (const s of socks) s.abort();
    runUntil(clock, parts, () => false, 100);
    board.slip.close();
  });

  it("decompresses a CSLIP peer's headers with no slot headroom (the data moves) and echoes 20 000 octets intact", () => {
    const { board, tcp, peer, clock } = smallBoard('cslip');
    expect(board.pool.headroom).to.equal(0);
    const parts = [board, peer];
    const echo = tcp.connect(clock.now, HOST_B, 7)!;
    expect(runUntil(clock, parts, () => echo.state === TcpState.Established, 5000)).to.equal(true);
    const data = randomBytes(20_000, 4);
    const got = echoThrough(echo, data, clock, parts);
    expect(sha256(got)).to.equal(sha256(data));
    // The board switched to compression (adaptive) and took compressed frames both ways.
    expect(board.cslip.isCompressing).to.equal(true);
    expect(board.cslip.stats.in.compressed).to.be.greaterThan(10);
    expect(board.cslip.stats.out.compressed).to.be.greaterThan(10);
    expect(board.cslip.stats.in.noRoom).to.equal(0);
    echo.abort();
    runUntil(clock, parts, () => false, 100);
    board.slip.close();
  });
});
