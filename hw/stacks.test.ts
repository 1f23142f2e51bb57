/**
 * The two-stack suite: slipstack on this machine's end of a serial line, a board on the other.
 *
 *   TEST_PORT_A=/dev/ttyUSB0 TEST_PORT_B=/dev/ttyUSB1 npm run test:hw        two ports wired to each other
 *   TEST_PORT_A=/dev/ttyUSB0 TEST_PEER=firmware TEST_PASSWORD=… npm run test:hw   a board running the firmware
 *   npm test                                                                  a virtual pty pair, NO HARDWARE
 *
 * Checks: the far end answers at all (with a diagnosis if not), ping, TCP bulk both ways with
 * SHA-256 (in-process board only: the firmware has no bulk sender), TCP echo on port 7 with
 * SHA-256, a telnet session (login, version, exit).
 */
import { expect } from 'chai';
import { config, lengthsFor, SHORT_LENGTHS } from './config.ts';
import { lineRate } from './loopback.ts';
import { Progress } from './progress.ts';
import { note, printAtEnd } from './report.ts';
import {
  checkBulkBothWays, checkEcho7, checkPeerAnswers, checkTelnet, openFirmwarePeer, openHardwareStacks, openVirtualStacks, Pinger,
  transferTimeoutMs, type StackLine,
} from './stacks.ts';
import { check, grouped, octetsText, openLineHooks, pendingCheck, type SuiteState } from './suite.ts';

printAtEnd();

/** How long the far end has to answer its first ping (a board may still be starting), ms. */
const FIRST_ANSWER_MS = 5000;

function stacksSuite(title: string, hardware: boolean, where: string, open: () => Promise<StackLine>): void {
  describe(title, function () {
    const lengths = lengthsFor(config, hardware);
    const state: SuiteState = { suite: 'two stacks', where, hardware, broken: null };
    const the = openLineHooks(state, config.error, open);
    const rate = lineRate(config.baud);

    check(state, 'peer answers', `the far end answers a ping within ${FIRST_ANSWER_MS / 1000} s`, FIRST_ANSWER_MS + 10_000, async () => {
      const ms = await checkPeerAnswers(the(), FIRST_ANSWER_MS);
      return `first reply after ${ms} ms`;
    });

    check(state, `ping x${lengths.pings}`, `answers ${lengths.pings} pings (56-octet payload, one at a time), none lost, payloads intact`,
      () => lengths.pings * 2000 + 10_000,
      async () => {
        const l = the();
        const progress = new Progress('ping', lengths.pings, 'requests');
        const pinger = new Pinger(l.host.iface, l.deviceIp, lengths.pings, 2000, 56, progress);
        l.rig.add(pinger);
        try {
          await l.rig.until(() => pinger.done);
        } finally {
          progress.done();
          l.rig.remove(pinger);
          pinger.close();
        }
        const r = pinger.result();
        expect(r.transmitted).to.equal(lengths.pings);
        expect(r.received, `replies to ${r.transmitted} requests`).to.equal(r.transmitted);
        expect(r.corrupted, 'replies with a payload other than the request\'s').to.equal(0);
        return `${r.received}/${r.transmitted} replies, rtt min/avg/max ${r.rttMinMs}/${r.rttAvgMs.toFixed(1)}/${r.rttMaxMs} ms`;
      });

    const bulkTitle = `moves ${octetsText(lengths.bulkBytes)} each way at once over TCP, SHA-256 checked on both ends`;
    if (config.peerIsFirmware && hardware) {
      pendingCheck(state, `TCP bulk ${octetsText(lengths.bulkBytes)} both ways`, bulkTitle,
        'needs a board stack in this process (TEST_PORT_B); against the firmware the echo check moves the data both ways');
    } else {
      check(state, `TCP bulk ${octetsText(lengths.bulkBytes)} both ways`, bulkTitle, () => transferTimeoutMs(lengths.bulkBytes, rate) + 10_000,
        async () => {
          const r = await checkBulkBothWays(the(), lengths.bulkBytes, 'TCP bulk both ways');
          return `${grouped(r.hostToBoard)} octets/s each way = ${((100 * r.hostToBoard) / rate).toFixed(1)}% of the line rate ` +
            `(${r.seconds.toFixed(1)} s, ${r.retransmits} retransmissions)`;
        });
    }

    check(state, `TCP echo ${octetsText(lengths.bulkBytes)}`,
      `sends ${octetsText(lengths.bulkBytes)} to the echo service (port 7) and gets the same SHA-256 back`,
      () => transferTimeoutMs(lengths.bulkBytes, rate) + 10_000,
      async () => {
        const r = await checkEcho7(the(), lengths.bulkBytes, 'TCP echo, port 7');
        return `${grouped(r.hostToBoard)} octets/s each way = ${((100 * r.hostToBoard) / rate).toFixed(1)}% of the line rate ` +
          `(${r.seconds.toFixed(1)} s, ${r.retransmits} retransmissions by the host)`;
      });

    if (hardware && config.peerIsFirmware && config.password === null) {
      pendingCheck(state, 'telnet', 'telnet session: logs in, runs version, exits', 'set TEST_PASSWORD to the firmware\'s --password to run it');
    } else {
      check(state, 'telnet', 'telnet session: logs in, runs version, exits', 60_000, async () => {
        const r = await checkTelnet(the(), the().password!);
        return `${r.version} (${r.elapsedMs} ms)`;
      });
    }
  });
}

if (config.portA !== null) {
  if (config.peerIsFirmware) {
    stacksSuite(`hw two stacks: ${config.portA} to a board running the firmware, ${config.baud} baud`, true, `${config.portA} -> firmware`,
      () => openFirmwarePeer(config, config.portA!));
  } else {
    stacksSuite(`hw two stacks: ${config.portA} wired to ${config.portB ?? '?'}, ${config.baud} baud`, true,
      `${config.portA} <-> ${config.portB ?? '?'}`, () => openHardwareStacks(config, config.portA!, config.portB ?? ''));
  }
} else {
  describe('hw two stacks: real ports', () => {
    it('set TEST_PORT_A and TEST_PORT_B (two ports wired to each other), or TEST_PORT_A with TEST_PEER=firmware, to run this suite on hardware; see hw/README.md');
  });
  const full = lengthsFor(config, false) !== SHORT_LENGTHS;
  stacksSuite(`hw two stacks: virtual pty pair with UART timing at ${config.baud} baud, host stack and Board (NO HARDWARE${full ? '' : ', short run'})`,
    false, 'virtual pty (NO HARDWARE)', () => openVirtualStacks(config));
  if (!full) {
    note(`Virtual two stacks, short run (inside npm test): ${SHORT_LENGTHS.pings} pings instead of 100, TCP ` +
      `${octetsText(SHORT_LENGTHS.bulkBytes)} instead of 1 MiB each way; HW_FULL=1 for the full lengths.`);
  }
}
