/**
 * The loopback suite: one serial line whose TX is wired to its own RX.
 *
 *   TEST_PORT=/dev/ttyUSB0 [TEST_BAUD=115200] npm run test:hw     a real port with a jumper
 *   npm test                                                      a virtual pty loopback, NO HARDWARE
 *
 * The same checks run on both (style item 12: the normal suite pointed at a real port). Without
 * TEST_PORT the hardware suite is pending and the virtual one runs, short (see hw/config.ts).
 */
import { expect } from 'chai';
import { config, lengthsFor, SHORT_LENGTHS } from './config.ts';
import {
  checkEcho, checkFrames, checkThroughput, lineRate, openHardwareLoopback, openVirtualLoopback, sizePlans, specialPlans,
  type LoopbackLine,
} from './loopback.ts';
import { note, printAtEnd } from './report.ts';
import { check, grouped, openLineHooks, type SuiteState } from './suite.ts';

printAtEnd();

function loopbackSuite(title: string, hardware: boolean, open: () => Promise<LoopbackLine>): void {
  describe(title, function () {
    const lengths = lengthsFor(config, hardware);
    const where = hardware ? config.loopbackPort! : 'virtual pty (NO HARDWARE)';
    const state: SuiteState = { suite: 'loopback', where, hardware, broken: null };
    const the = openLineHooks(state, config.error, open);
    // Octets on the wire for a frame plan at worst (every octet escaped), for timeouts.
    const rate = lineRate(config.baud);

    check(state, 'octets 0..255', 'echoes every octet value 0..255 unchanged (up, then down: 512 octets)', 20_000, async () => {
      const r = await checkEcho(the());
      return `${r.octets} octets back intact in ${r.elapsedMs} ms`;
    });

    const plans = sizePlans(config.mtu, lengths.frameStep);
    const sampled = lengths.frameStep === 1 ? `every size 1..${config.mtu}` : `sizes 1..${config.mtu} in steps of ${lengths.frameStep}, plus 1-4, MTU-1, MTU`;
    check(state, 'SLIP frames 1..MTU', `round-trips SLIP frames of ${sampled} (${plans.length} frames)`,
      () => Math.ceil((1000 * 3 * plans.reduce((a, p) => a + p.payload.length + 8, 0)) / rate) + 30_000 + 20 * plans.length,
      async () => {
        const r = await checkFrames(the(), config.mtu, plans, 'SLIP frames by size');
        expect(r.frames + 2).to.equal(plans.length);
        expect(r.runts).to.equal(2, 'the 1- and 2-octet frames are dropped as runts (as Linux SLIP does)');
        return `${r.frames} frames + 2 runts (1, 2 octets: dropped as Linux does), ${grouped(r.payloadOctets)} octets ` +
          `(${grouped(r.wireOctets)} on the wire) in ${(r.elapsedMs / 1000).toFixed(1)} s`;
      });

    const specials = specialPlans(config.mtu);
    check(state, 'SLIP all END / all ESC', 'round-trips SLIP frames that are all END (0xC0), all ESC (0xDB) and escape look-alikes', 60_000, async () => {
      const r = await checkFrames(the(), config.mtu, specials, 'SLIP frames, every octet escaped');
      expect(r.frames).to.equal(specials.length);
      return `${r.frames} frames, ${grouped(r.payloadOctets)} octets (${grouped(r.wireOctets)} on the wire)`;
    });

    check(state, 'throughput', `keeps the line full for ${lengths.throughputSeconds} s and carries it at the line rate (baud/10 octets/s)`,
      () => lengths.throughputSeconds * 1000 + 30_000,
      async () => {
        const r = await checkThroughput(the(), lengths.throughputSeconds);
        return `${grouped(r.octetsPerSecond)} octets/s = ${r.percent.toFixed(1)}% of ${grouped(rate)} ` +
          `(${r.seconds.toFixed(1)} s, ${grouped(r.totalOctets)} octets, all intact)`;
      });
  });
}

if (config.loopbackPort !== null) {
  loopbackSuite(`hw loopback: ${config.loopbackPort} at ${config.baud} baud${config.rtscts ? ', RTS/CTS' : ''} (TX wired to RX)`, true,
    () => openHardwareLoopback(config.loopbackPort!, config.baud, config.rtscts));
} else {
  describe('hw loopback: a real port', () => {
    it('set TEST_PORT=/dev/ttyUSB0 (TX wired to RX) to run this suite on hardware; see hw/README.md');
  });
  const full = lengthsFor(config, false) !== SHORT_LENGTHS;
  loopbackSuite(`hw loopback: virtual pty with UART timing at ${config.baud} baud (NO HARDWARE${full ? '' : ', short run'})`, false,
    () => openVirtualLoopback(config.baud));
  if (!full) {
    note(`Virtual loopback, short run (inside npm test): throughput ${SHORT_LENGTHS.throughputSeconds} s instead of 10, frame ` +
      `sizes 1..MTU in steps of ${SHORT_LENGTHS.frameStep} (plus 1-4, MTU-1, MTU) instead of every size; HW_FULL=1 for the full lengths.`);
  }
}
