/**
 * The diagnoses a person at the bench gets instead of a stack trace, each produced for real: a
 * port that does not exist, a pty slave with nobody echoing on its master (no jumper), a pty
 * whose echo garbles or drops octets, a two-stack line with nothing (or only ourselves) at the
 * far end. Plus the pure classifiers and the settings check. No hardware needed; part of npm test.
 */
import { expect } from 'chai';
import { HardwareProblem, echoProblem, peerProblem, portProblem, slowProblem, type LineContext } from './diagnosis.ts';
import { FULL_LENGTHS, lengthsFor, readConfig, SHORT_LENGTHS } from './config.ts';
import { allOctets, checkEcho, checkFrames, openHardwareLoopback, openVirtualLoopback, SILENCE_MS, sizePlans, type LoopbackLine } from './loopback.ts';
import { formatReport } from './report.ts';
import { checkPeerAnswers, openVirtualStacks, type StackLine } from './stacks.ts';
import { SerialError } from '../src/drivers/serial-link.ts';

const BAUD = 115200;
const CTX: LineContext = { port: '/dev/ttyUSB0', baud: BAUD, rtscts: false, waitedMs: 2000 };

/** Runs `body` and returns the HardwareProblem it rejects with. */
async function problemOf(body: () => Promise<unknown>): Promise<HardwareProblem> {
  try {
    await body();
  } catch (error) {
    expect(error).to.be.instanceOf(HardwareProblem);
    return error as HardwareProblem;
  }
  throw new Error('expected a HardwareProblem, got success');
}

/** A diagnosis is one paragraph: what happened, the likely cause, what to check; no stack frames. */
function expectParagraph(p: HardwareProblem): void {
  expect(p.message).to.not.contain('\n');
  expect(p.message).to.match(/Likely cause: /);
  expect(p.message).to.match(/Check: /);
  expect(p.stack).to.not.match(/\n\s+at /);
}

describe('hw diagnoses: real failures on virtual lines (no hardware)', function () {
  this.timeout(20_000);
  let line: LoopbackLine | null = null;
  let stacks: StackLine | null = null;

  afterEach(async () => {
    await line?.close();
    await stacks?.close();
    line = null;
    stacks = null;
  });

  it('a port name that does not exist: "there is no such device", and how to find the port', async () => {
    const p = await problemOf(() => openHardwareLoopback('/dev/ttyHW-NO-SUCH-PORT', BAUD, false));
    expect(p.kind).to.equal('port');
    expectParagraph(p);
    expect(p.message).to.match(/^Cannot open the loopback port \(TEST_PORT\) \/dev\/ttyHW-NO-SUCH-PORT: there is no such device\./);
    expect(p.message).to.contain('ls /dev/ttyUSB* /dev/ttyACM* /dev/ttymxc*');
    expect(p.message).to.contain('dmesg');
  });

  it('a pty slave with nobody echoing on the master (no loopback wired): "nothing came back within 2 s"', async () => {
    line = await openVirtualLoopback(BAUD, 'none');
    const started = Date.now();
    const p = await problemOf(() => checkEcho(line!));
    const waited = Date.now() - started;
    expect(p.kind).to.equal('silent');
    expectParagraph(p);
    // It waited for the silence deadline (a lower bound: a loaded machine may take longer).
    expect(waited).to.be.at.least(SILENCE_MS - 50);
    expect(p.message).to.match(/^Nothing came back on \/dev\/pts\/\d+ \(virtual loopback pty\) at 115200 baud within 2\.0 s: 512 octets were written/);
    for (const hint of ['TX is not wired to RX', 'jumper', 'flow control', '3.3 V', 'RS-232']) expect(p.message).to.contain(hint);
    // The octets did leave: the far end of the pty holds them, unread.
    expect(line.serial.stats.txBytes).to.equal(512);
  });

  it('a looped pty whose echo flips bits: "octets came back changed", with the first difference', async () => {
    line = await openVirtualLoopback(BAUD, 'bit-flips');
    const p = await problemOf(() => checkEcho(line!));
    expect(p.kind).to.equal('corrupt');
    expectParagraph(p);
    expect(p.message).to.match(/^Octets came back changed on .* \(first difference at octet 96: sent 0x60, got 0x70; 5 of 512 octets differ/);
    for (const hint of ['jumper', 'common ground', 'TEST_BAUD', '3.3 V']) expect(p.message).to.contain(hint);
  });

  it('a looped pty whose echo clears the top bit: the 7-bit/parity diagnosis', async () => {
    line = await openVirtualLoopback(BAUD, 'seven-bit');
    const p = await problemOf(() => checkEcho(line!));
    expect(p.kind).to.equal('corrupt');
    expectParagraph(p);
    expect(p.message).to.contain('every octet lost its top bit');
    expect(p.message).to.contain('8N1');
  });

  it('a looped pty that drops octets mid-stream: "5 octets went missing at octet 300" (an overrun)', async () => {
    line = await openVirtualLoopback(BAUD, 'drop');
    const p = await problemOf(() => checkEcho(line!));
    expect(p.kind).to.equal('lost');
    expectParagraph(p);
    expect(p.message).to.contain('5 octets went missing at octet 300');
    expect(p.message).to.contain('flow control');
  });

  it('SLIP frames over a garbling loop: the frame check names the frame and explains', async () => {
    line = await openVirtualLoopback(BAUD, 'bit-flips');
    const plans = sizePlans(1006, 400).filter((plan) => plan.payload.length > 200);
    const p = await problemOf(() => checkFrames(line!, 1006, plans, 'frames'));
    expect(['corrupt', 'lost']).to.include(p.kind);
    expect(p.message).to.match(/^SLIP frame 1 of \d+ \(\d+ octets\) came back different\. /);
  });

  it('two stacks with nobody on the far end: "not one octet came back", check the crossing of TX and RX', async () => {
    stacks = await openVirtualStacks(readConfig({}), 'none');
    const p = await problemOf(() => checkPeerAnswers(stacks!, 2000));
    expect(p.kind).to.equal('peer-silent');
    expectParagraph(p);
    expect(p.message).to.match(/^No answer from the far end of the pty \(192\.0\.2\.2\) on .* within 2\.0 s: not one octet came back/);
    expect(p.message).to.contain('TX-RX, RX-TX, GND-GND');
  });

  it('two stacks where our own frames come back (port A looped by mistake): "frames arrived but none answered"', async () => {
    stacks = await openVirtualStacks(readConfig({}), 'echo');
    const p = await problemOf(() => checkPeerAnswers(stacks!, 1000));
    expect(p.kind).to.equal('peer-no-reply');
    expectParagraph(p);
    expect(p.message).to.match(/: [1-9]\d* SLIP frames arrived but none answered the echo requests, and [1-9]\d* were not addressed to us/);
    expect(p.message).to.contain('the port is looped');
  });

  it('two stacks over a 7-bit line: "octets arrived but not one valid SLIP frame" (baud or console)', async () => {
    stacks = await openVirtualStacks(readConfig({}), 'seven-bit');
    const p = await problemOf(() => checkPeerAnswers(stacks!, 1000));
    expect(p.kind).to.equal('peer-garbled');
    expectParagraph(p);
    expect(p.message).to.contain('different baud rates');
  });
});

describe('hw diagnoses: classifiers', () => {
  const sent = allOctets();

  it('equal octets are no problem', () => {
    expect(echoProblem(sent, sent.slice(), CTX)).to.equal(null);
  });

  it('XON and XOFF missing: software flow control is on', () => {
    const got = sent.filter((b) => b !== 0x11 && b !== 0x13);
    const p = echoProblem(sent, got, CTX)!;
    expect(p.kind).to.equal('corrupt');
    expect(p.message).to.contain('XON (0x11) and XOFF (0x13)');
    expect(p.message).to.contain('-ixon');
  });

  it('CR turned into LF: the tty is cooked, not raw', () => {
    const got = sent.map((b) => (b === 0x0d ? 0x0a : b));
    const p = echoProblem(sent, got, CTX)!;
    expect(p.message).to.contain('carriage returns and line feeds were translated');
    expect(p.message).to.contain('getty');
  });

  it('more came back than was sent: something else writes to the line', () => {
    const got = Uint8Array.from([...sent, 0x41, 0x54, 0x0d]); // "AT\r", as ModemManager probes
    const p = echoProblem(sent, got, CTX)!;
    expect(p.message).to.match(/followed by 3 octets nobody sent/);
    expect(p.message).to.contain('ModemManager');
  });

  it('the first part came back, then nothing: octets lost', () => {
    const p = echoProblem(sent, sent.slice(0, 100), CTX)!;
    expect(p.kind).to.equal('lost');
    expect(p.message).to.match(/^Octets were lost on \/dev\/ttyUSB0 at 115200 baud: 100 of 512 came back intact/);
  });

  it('with RTS/CTS on, silence also points at the RTS-CTS jumper', () => {
    const p = echoProblem(sent, new Uint8Array(0), { ...CTX, rtscts: true })!;
    expect(p.message).to.contain('jumper RTS to CTS');
  });

  it('each SerialError code has its own paragraph', () => {
    const cases: [SerialError['code'], RegExp][] = [
      ['ENOENT', /no such device/], ['EACCES', /dialout/], ['EBUSY', /fuser -v/], ['EINVAL', /baud rate/], ['EIO', /dmesg/],
    ];
    for (const [code, hint] of cases) {
      const p = portProblem('/dev/ttyUSB0', new SerialError(code, '/dev/ttyUSB0', 'it failed'));
      expect(p.kind).to.equal('port');
      expect(p.message, code).to.match(hint);
      expectParagraph(p);
    }
  });

  it('far below the line rate with nothing lost: the slow diagnosis', () => {
    const p = slowProblem(CTX, 5000, 43.4);
    expect(p.kind).to.equal('slow');
    expectParagraph(p);
    expect(p.message).to.match(/carried 5000 octets\/s, 43\.4% of the line rate \(11520 octets\/s on 8N1\)/);
  });

  it('peer problems by how far the octets got', () => {
    const base = { port: '/dev/ttyUSB0', baud: BAUD, rtscts: false, peer: 'the firmware on the board', address: '192.0.2.2', waitedMs: 5000 };
    expect(peerProblem({ ...base, rxBytes: 0, rxFrames: 0, badFrames: 0 }).kind).to.equal('peer-silent');
    expect(peerProblem({ ...base, rxBytes: 90, rxFrames: 0, badFrames: 3 }).kind).to.equal('peer-garbled');
    const noReply = peerProblem({ ...base, rxBytes: 900, rxFrames: 9, badFrames: 0 });
    expect(noReply.kind).to.equal('peer-no-reply');
    expect(noReply.message).to.contain('TEST_MTU');
  });
});

describe('hw settings and report', () => {
  it('no variables: virtual everywhere, short lengths; HW_FULL=1 or a real port: full lengths', () => {
    const none = readConfig({});
    expect(none.error).to.equal(null);
    expect([none.loopbackPort, none.portA, none.portB, none.peerIsFirmware]).to.deep.equal([null, null, null, false]);
    expect([none.baud, none.mtu]).to.deep.equal([115200, 1006]);
    expect(lengthsFor(none, false)).to.equal(SHORT_LENGTHS);
    expect(lengthsFor(none, true)).to.deep.equal(FULL_LENGTHS);
    expect(lengthsFor(readConfig({ HW_FULL: '1' }), false)).to.deep.equal(FULL_LENGTHS);
    expect(lengthsFor(readConfig({ TEST_SECONDS: '30' }), true).throughputSeconds).to.equal(30);
  });

  it('mistakes are one sentence each, collected, never thrown', () => {
    expect(readConfig({ TEST_BAUD: 'fast' }).error).to.match(/TEST_BAUD=fast is not usable/);
    expect(readConfig({ TEST_PORT_A: '/dev/ttyUSB0' }).error).to.match(/add TEST_PORT_B .* or TEST_PEER=firmware/);
    expect(readConfig({ TEST_PORT_A: '/dev/ttyUSB0', TEST_PORT_B: '/dev/ttyUSB0' }).error).to.match(/two different ports/);
    expect(readConfig({ TEST_PEER: 'linux' }).error).to.match(/TEST_PEER=linux is not known/);
    const fw = readConfig({ TEST_PORT_A: '/dev/ttyUSB0', TEST_PEER: 'firmware', TEST_PASSWORD: 'pw' });
    expect(fw.error).to.equal(null);
    expect([fw.portA, fw.peerIsFirmware, fw.password]).to.deep.equal(['/dev/ttyUSB0', true, 'pw']);
  });

  it('the report says NO HARDWARE when every row is virtual, and names the ports otherwise', () => {
    const row = { suite: 'loopback', check: 'octets 0..255', outcome: 'pass' as const, figures: '512 octets' };
    expect(formatReport([{ ...row, where: 'virtual pty (NO HARDWARE)', hardware: false }], [])).to.contain('NO HARDWARE was used');
    const mixed = formatReport([{ ...row, where: '/dev/ttyUSB0', hardware: true }, { ...row, where: 'virtual pty (NO HARDWARE)', hardware: false }], []);
    expect(mixed).to.contain('hardware tests: on /dev/ttyUSB0; rows marked NO HARDWARE ran over a virtual pty');
    expect(mixed).to.not.contain('NO HARDWARE was used');
  });
});
