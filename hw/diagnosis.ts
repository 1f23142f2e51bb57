/**
 * Diagnoses for the hardware suites: when a port is missing, silent, or garbles what it carries,
 * the test fails with one paragraph (what happened, the likely cause, what to check), not a stack
 * trace. The builders are pure functions of what was sent and what came back, so each diagnosis
 * has a test of its own (hw/diagnosis.test.ts).
 */
import { SerialError } from '../src/drivers/serial-link.ts';

/** Which diagnosis. */
export type ProblemKind =
  | 'config' // a TEST_* variable is wrong
  | 'port' // the port cannot be opened
  | 'silent' // loopback: nothing came back
  | 'lost' // loopback: some octets came back, then nothing
  | 'corrupt' // loopback: octets came back changed
  | 'slow' // loopback: far below the line rate
  | 'peer-silent' // two stacks: no octet at all from the far end
  | 'peer-garbled' // two stacks: octets arrive but no valid SLIP frame
  | 'peer-no-reply'; // two stacks: frames arrive but no answer to ping

/**
 * A failure explained for a person at the bench. Its `stack` is its message, so mocha prints the
 * paragraph and nothing else.
 */
export class HardwareProblem extends Error {
  readonly kind: ProblemKind;
  constructor(kind: ProblemKind, message: string) {
    super(message);
    this.name = 'HardwareProblem';
    this.kind = kind;
    this.stack = `${this.name} (${kind}): ${message}`;
  }
}

/** Where the octets went, for the wording. */
export interface LineContext {
  /** e.g. "/dev/ttyUSB0" or "/dev/pts/4 (virtual loopback pty)". */
  port: string;
  baud: number;
  rtscts: boolean;
  /** How long we waited for the first (or next) octet, ms. */
  waitedMs: number;
  /** Where `sent[0]` sits in the whole stream, octets (for the wording). Defaults to 0. */
  offset?: number;
}

const LEVELS = 'the signal levels: the i.MX6ULL UART pins are 3.3 V TTL, so use a 3.3 V USB-serial adapter and never wire RS-232 (±12 V) to them directly';

function flowAdvice(ctx: LineContext): string {
  return ctx.rtscts
    ? 'flow control: TEST_RTSCTS=1 is set, so the port only sends while CTS is asserted: jumper RTS to CTS too (or cross RTS/CTS between two ports), or leave TEST_RTSCTS unset'
    : 'flow control: RTS/CTS is off (set TEST_RTSCTS=1 only when RTS and CTS are wired)';
}

/** The port could not be opened: missing, busy, no permission, or refused the baud rate. */
export function portProblem(path: string, error: unknown, role = 'the test port'): HardwareProblem {
  const code = error instanceof SerialError ? error.code : 'EIO';
  const said = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
      return new HardwareProblem('port',
        `Cannot open ${role} ${path}: there is no such device. Likely cause: a typo in the name, the USB-serial adapter ` +
        'is unplugged or enumerated under another name (CDC-ACM adapters are /dev/ttyACM*, FTDI/CP210x/CH340 ' +
        'are /dev/ttyUSB*, the i.MX6ULL\'s own UARTs are /dev/ttymxc*), or its kernel driver is not loaded. ' +
        'Check: ls /dev/ttyUSB* /dev/ttyACM* /dev/ttymxc*; dmesg | tail right after plugging the adapter in ' +
        '(it names the tty it attached); ls -l /dev/serial/by-id/ for a stable name; see hw/README.md, "Finding the port".');
    case 'EACCES':
      return new HardwareProblem('port',
        `Cannot open ${role} ${path}: permission denied. Likely cause: serial ports belong to the dialout group and ` +
        'this user is not in it. Check: ls -l ' + path + '; sudo usermod -aG dialout $USER, then log out and in ' +
        'again (or run the tests with sudo).');
    case 'EBUSY':
      return new HardwareProblem('port',
        `Cannot open ${role} ${path}: another program holds it. Likely cause: a terminal program (minicom, screen, ` +
        'picocom), a serial console getty, ModemManager probing the adapter, slattach, or a firmware/host-connect ' +
        `left running. Check: fuser -v ${path}; systemctl stop ModemManager (or mark the adapter ID_MM_DEVICE_IGNORE); ` +
        'stop the getty on that port.');
    case 'EINVAL':
      return new HardwareProblem('port',
        `Cannot open ${role} ${path} at this speed: ${said}. Likely cause: the adapter or its driver does not support ` +
        'the baud rate asked for. Check: TEST_BAUD (known to work: 9600, 115200, 230400, 460800, 921600; FTDI ' +
        'also 1000000, 2000000, 3000000); see hw/README.md, "Baud rates".');
    default:
      return new HardwareProblem('port',
        `Cannot open ${role} ${path}: ${said}. Likely cause: the device went away while opening (USB reset, cable) ` +
        `or is not a serial port. Check: dmesg | tail for USB errors; that ${path} is a tty (udevadm info ${path}).`);
  }
}

/** One octet as "0x0d". */
function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

function equalBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `bytes` without any octet in `drop`. */
function without(bytes: ArrayLike<number>, drop: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (!drop.includes(bytes[i]!)) out.push(bytes[i]!);
  return out;
}

/** What a cooked tty does to CR and LF on the way out and in (ONLCR, ICRNL, INLCR, IGNCR). */
function crlfVariants(sent: ArrayLike<number>): number[][] {
  const map = (f: (b: number, out: number[]) => void): number[] => {
    const out: number[] = [];
    for (let i = 0; i < sent.length; i++) f(sent[i]!, out);
    return out;
  };
  return [
    map((b, o) => (b === 0x0a ? o.push(0x0d, 0x0a) : o.push(b))), // ONLCR
    map((b, o) => o.push(b === 0x0d ? 0x0a : b)), // ICRNL
    map((b, o) => o.push(b === 0x0a ? 0x0d : b)), // INLCR
    map((b, o) => (b === 0x0d ? undefined : o.push(b))), // IGNCR
    map((b, o) => (b === 0x0a ? o.push(0x0a) : o.push(b === 0x0d ? 0x0a : b))),
  ];
}

/**
 * Compares what came back on a loopback with what was sent. Returns null when they are equal,
 * else the diagnosis: nothing came back, octets were lost, octets came back changed (with the
 * pattern recognised when there is one: 7 bits, XON/XOFF eaten, CR/LF translated, extra octets
 * from another writer), or a generic corruption paragraph.
 */
export function echoProblem(sent: ArrayLike<number>, received: ArrayLike<number>, ctx: LineContext): HardwareProblem | null {
  const n = sent.length;
  const m = received.length;
  if (m === n && equalBytes(sent, received)) return null;
  const where = `${ctx.port} at ${ctx.baud} baud`;
  if (m === 0) {
    return new HardwareProblem('silent',
      `Nothing came back on ${where} within ${(ctx.waitedMs / 1000).toFixed(1)} s: ${n} octets were written and not one ` +
      'was read. Likely cause: TX is not wired to RX (no loopback jumper, or it sits on the wrong pins), or the ' +
      'port sends nowhere. Check: a jumper or wire from TX to RX of this same port (TXD to RXD on a USB-serial ' +
      'adapter; the UART\'s TX and RX pads on the i.MX6ULL, with the pin mux set to UART); ' + flowAdvice(ctx) + '; ' +
      LEVELS + '; that the adapter\'s TX LED blinks while the test runs.');
  }
  // How far the two agree from the start.
  let prefix = 0;
  while (prefix < n && prefix < m && sent[prefix] === received[prefix]) prefix++;
  if (m < n && prefix === m) {
    return new HardwareProblem('lost',
      `Octets were lost on ${where}: ${m} of ${n} came back intact, then nothing for ` +
      `${(ctx.waitedMs / 1000).toFixed(1)} s. Likely cause: the receiver overran (no flow control at a speed the ` +
      'adapter or host cannot keep up with), or the line stopped (a loose jumper, flow control holding the sender ' +
      `off). Check: ${flowAdvice(ctx)}; a lower TEST_BAUD; the jumper's seating; the USB-serial latency timer ` +
      '(hw/README.md); dmesg for "overrun" or USB errors.');
  }
  const offset = ctx.offset ?? 0;
  let mismatches = 0;
  let firstBad = -1;
  const common = n < m ? n : m;
  for (let i = 0; i < common; i++) {
    if (sent[i] !== received[i]) {
      mismatches++;
      if (firstBad < 0) firstBad = i;
    }
  }
  const detail = firstBad >= 0
    ? `first difference at octet ${firstBad + offset}: sent ${hex(sent[firstBad]!)}, got ${hex(received[firstBad]!)}; ` +
      `${mismatches} of ${common} octets differ, ${m} received for ${n} sent`
    : `${m} received for ${n} sent, the first ${common} equal`;

  // The top bit cleared on every octet that had it: a 7-bit line (CS7) or parity.
  if (m === n) {
    let sevenBit = true;
    for (let i = 0; i < n; i++) {
      if (received[i] !== (sent[i]! & 0x7f)) {
        sevenBit = false;
        break;
      }
    }
    if (sevenBit) {
      return new HardwareProblem('corrupt',
        `Octets came back changed on ${where} (${detail}): every octet lost its top bit. Likely cause: the line is ` +
        '7 bits wide or has parity (7E1/7O1) somewhere in the loop, while SLIP needs 8N1. Check: that nothing ' +
        'else reconfigured the port (stty -F ' + ctx.port.split(' ')[0] + ' -a should show cs8 -parenb -istrip); the adapter\'s ' +
        'configuration tool; a level shifter or isolator that is 7-bit only.');
    }
  }
  // XON/XOFF eaten: software flow control (IXON/IXOFF) is on.
  if (equalBytes(without(sent, [0x11, 0x13]), received)) {
    return new HardwareProblem('corrupt',
      `Octets came back changed on ${where} (${detail}): exactly the XON (0x11) and XOFF (0x13) octets are missing. ` +
      'Likely cause: software flow control (IXON/IXOFF) is on in the tty, which SLIP cannot survive. Check: ' +
      'stty -F ' + ctx.port.split(' ')[0] + ' -a should show -ixon -ixoff; that no other program (a getty, ' +
      'ModemManager) touched the port settings while the test ran.');
  }
  // CR/LF translation: the tty is not raw.
  for (const variant of crlfVariants(sent)) {
    if (equalBytes(variant, received)) {
      return new HardwareProblem('corrupt',
        `Octets came back changed on ${where} (${detail}): carriage returns and line feeds were translated. Likely ` +
        'cause: the tty is in cooked mode (ONLCR/ICRNL/INLCR), not raw. Check: stty -F ' + ctx.port.split(' ')[0] +
        ' -a should show -opost -icrnl -inlcr; that a serial console or getty is not configured on this port ' +
        '(console= on the kernel command line, serial-getty@ units).');
    }
  }
  // Octets dropped from the middle: what follows the first difference is what was sent a few octets later.
  if (firstBad >= 0) {
    const probe = Math.min(32, m - firstBad);
    for (let skip = 1; probe >= 8 && skip <= 4096 && firstBad + skip + probe <= n; skip++) {
      let same = true;
      for (let k = 0; k < probe; k++) {
        if (received[firstBad + k] !== sent[firstBad + skip + k]) {
          same = false;
          break;
        }
      }
      if (same) {
        return new HardwareProblem('lost',
          `Octets were lost on ${where}: ${skip} octet${skip === 1 ? '' : 's'} went missing at octet ${firstBad + offset} ` +
          '(what came back next is what was sent after them). Likely cause: the receiver overran (the UART FIFO or ' +
          'the USB-serial adapter\'s buffer filled faster than the host read it), which happens at high speeds ' +
          `without flow control. Check: ${flowAdvice(ctx)}; a lower TEST_BAUD; the USB-serial latency timer ` +
          '(hw/README.md); dmesg for "overrun"; a less loaded machine.');
      }
    }
  }
  if (m > n && prefix === n) {
    return new HardwareProblem('corrupt',
      `Extra octets came back on ${where} (${detail}): everything sent came back, followed by ${m - n} octets ` +
      'nobody sent. Likely cause: something else writes to this line: a serial console or getty, ModemManager ' +
      'probing with AT commands, or the loop runs through another device instead of a plain TX-RX jumper. ' +
      'Check: fuser -v on the port; systemctl status ModemManager; that RX sees only this port\'s TX.');
  }
  return new HardwareProblem('corrupt',
    `Octets came back changed on ${where} (${detail}). Likely cause: a noisy or marginal line: a long or ` +
    'unshielded wire, a loose jumper, mixed signal levels, or (through anything other than a plain jumper) a ' +
    `baud rate mismatch. Check: the jumper sits firmly on TX and RX; ${LEVELS}; a common ground between every ` +
    'device in the loop; TEST_BAUD matches every device on the line; a lower baud rate to see whether the ' +
    'errors go away.');
}

/** The measured rate is far from the line rate. */
export function slowProblem(ctx: LineContext, octetsPerSecond: number, percent: number): HardwareProblem {
  return new HardwareProblem('slow',
    `The loopback on ${ctx.port} at ${ctx.baud} baud carried ${Math.round(octetsPerSecond)} octets/s, ` +
    `${percent.toFixed(1)}% of the line rate (${ctx.baud / 10} octets/s on 8N1), with nothing lost. Likely cause: ` +
    'the sender is held off (flow control, or a host too busy to keep the TX buffer full), or the adapter ' +
    'runs at a different real rate than asked (its divisor cannot make this baud). Check: ' + flowAdvice(ctx) +
    '; that the machine is not loaded; the adapter\'s supported rates (hw/README.md, "Baud rates").');
}

/** Counters of the stack's own link, for peer diagnoses. */
export interface PeerContext {
  /** e.g. "/dev/ttyUSB0" or "/dev/pts/4 (virtual pty pair)". */
  port: string;
  baud: number;
  rtscts: boolean;
  /** "the firmware on the board" or "the stack on /dev/ttyUSB1". */
  peer: string;
  /** The address pinged, dotted. */
  address: string;
  waitedMs: number;
  /** Octets received on our port. */
  rxBytes: number;
  /** SLIP frames decoded on our port. */
  rxFrames: number;
  /** Frames dropped by the decoder (runt, oversize, bad escape). */
  badFrames: number;
  /** IPv4 datagrams dropped because they were not addressed to us (or had an impossible source). Defaults to 0. */
  notForUs?: number;
}

/** The far end never answered a ping: explains by how far the octets got. */
export function peerProblem(ctx: PeerContext): HardwareProblem {
  const head = `No answer from ${ctx.peer} (${ctx.address}) on ${ctx.port} at ${ctx.baud} baud within ` +
    `${(ctx.waitedMs / 1000).toFixed(1)} s`;
  if (ctx.rxBytes === 0) {
    return new HardwareProblem('peer-silent',
      `${head}: not one octet came back. Likely cause: TX and RX are not crossed (our TX must go to the other ` +
      'end\'s RX and its TX to our RX), there is no common ground, or nothing is running on the other end. ' +
      `Check: the wiring (TX-RX, RX-TX, GND-GND); ${LEVELS}; that the firmware is running there with ` +
      `--port on the right UART and --baud ${ctx.baud}; ` + flowAdvice(ctx) + '.');
  }
  if (ctx.rxFrames === 0) {
    return new HardwareProblem('peer-garbled',
      `${head}: ${ctx.rxBytes} octets arrived but not one valid SLIP frame (${ctx.badFrames} dropped as broken). ` +
      'Likely cause: the two ends run at different baud rates, or the other end of the wire is a console or ' +
      'getty rather than the firmware, or it speaks compressed SLIP (slattach defaults to -p cslip). Check: the ' +
      `same --baud ${ctx.baud} on both ends; that no getty runs on the board's UART; slattach -L -p slip.`);
  }
  if ((ctx.notForUs ?? 0) > 0) {
    return new HardwareProblem('peer-no-reply',
      `${head}: ${ctx.rxFrames} SLIP frames arrived but none answered the echo requests, and ${ctx.notForUs} were ` +
      'not addressed to us. Likely cause: our own frames are coming back (the port is looped: a TX-RX jumper left ' +
      'on from the loopback test, or our TX wired to our own RX), or the far end uses other addresses. Check: the ' +
      'wiring (our TX to the other end\'s RX); the firmware\'s --ip and --peer against TEST_DEVICE_IP and TEST_HOST_IP.');
  }
  return new HardwareProblem('peer-no-reply',
    `${head}: ${ctx.rxFrames} SLIP frames arrived but none answered the echo requests. Likely cause: the ` +
    'addresses do not match (the firmware\'s --ip and --peer against TEST_DEVICE_IP and TEST_HOST_IP) or the ' +
    'MTUs differ (TEST_MTU against --mtu). Check: the firmware\'s start-up line, which prints its address, peer and MTU.');
}
