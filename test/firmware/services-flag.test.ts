/**
 * --services: what a user turns off does not listen (a SYN to it is refused with a RST, a UDP
 * datagram gets no echo), and what stays on still answers.
 */
import { expect } from 'chai';
import { Board } from '../../firmware-bridge/board.ts';
import { CliError, parseFirmwareArgs } from '../../firmware-bridge/cli.ts';
import { Interface } from '../../src/iface/interface.ts';
import { MemoryLinkPair } from '../../src/phy/memory.ts';
import { SlipDevice } from '../../src/phy/slip-device.ts';
import { SocketError } from '../../src/socket/error.ts';
import { TcpStack } from '../../src/socket/tcp/stack.ts';
import { TcpState } from '../../src/socket/tcp/state.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { checkPools, testPool } from '../helpers/pools.ts';
import { VirtualClock, runIdle, runUntil } from '../helpers/sim.ts';

describe('firmware: --services turns services off', function () {
  this.timeout(20_000);
  checkPools();

  it('parses a list, defaults to all, refuses unknown names', () => {
    expect(parseFirmwareArgs(['--port', 'x'], {})!.services).to.deep.equal(['telnet', 'echo', 'discard', 'chargen', 'udp-echo']);
    expect(parseFirmwareArgs(['--port', 'x', '--services', 'echo,telnet'], {})!.services).to.deep.equal(['echo', 'telnet']);
    expect(() => parseFirmwareArgs(['--port', 'x', '--services', 'echo,ssh'], {})).to.throw(CliError, /unknown service 'ssh'/);
  });

  it('--services echo: echo answers; telnet, discard and chargen refuse; the board says why telnet is off', () => {
    const pair = new MemoryLinkPair();
    const config = parseFirmwareArgs(['--port', 'none', '--password', 'pw', '--services', 'echo'], {})!;
    const board = new Board({ link: pair.a, config, isnKey: [1, 2, 3, 4], version: 'test', imageSha256: '-' });
    expect(board.telnet).to.equal(null);
    expect(board.telnetOffReason).to.equal('telnet is off (--services)');
    const tcp = new TcpStack({ sockets: 8, isnKey: [5, 6, 7, 8] });
    const peer = new Interface({ device: new SlipDevice(pair.b, testPool({ mtu: config.mtu })), address: HOST_A, tcp });
    const clock = new VirtualClock(1000);
    const parts = [board, peer];
    const echo = tcp.connect(clock.now, HOST_B, 7)!;
    const refused = [23, 9, 19].map((port) => tcp.connect(clock.now, HOST_B, port)!);
    expect(runUntil(clock, parts, () => echo.state === TcpState.Established && refused.every((s) => s.state === TcpState.Closed), 5000))
      .to.equal(true);
    for (const s of refused) expect(s.error).to.equal(SocketError.ConnectionRefused);
    for (const s of [echo, ...refused]) s.close();
    board.shutdown();
    runIdle(clock, parts, 10 * 60_000);
    expect(tcp.used).to.equal(0);
  });
});
