/**
 * The firmware: slipstack and its services on one SLIP serial line.
 *
 *   npm run firmware -- --port /dev/ttymxc1 --password-file /etc/slipstack-password
 *   SLIPSTACK_PASSWORD=... node dist/firmware-bridge.mjs --port /dev/ttyUSB0 --baud 921600
 *
 * It opens the port, builds the Board, and runs it from a host loop that sleeps until the next
 * deadline or until octets arrive. SIGINT/SIGTERM close every connection with a FIN, wait
 * briefly for the ACKs, and exit 0. A port that disappears (USB unplugged) is reported and opened
 * again when it comes back under the same path (src/drivers/reopening-serial-link.ts); the board
 * keeps running meanwhile, and connections that outlive the outage carry on.
 */
import { createHash, getRandomValues } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostLoop } from '../src/drivers/host-loop.ts';
import { PcapFileSink } from '../src/drivers/pcap-file.ts';
import { ReopeningSerialLink } from '../src/drivers/reopening-serial-link.ts';
import { SerialError } from '../src/drivers/serial-link.ts';
import { isPtyPath } from '../src/drivers/pty.ts';
import { TimerFd } from '../src/drivers/timer-fd.ts';
import { SLIP_END } from '../src/phy/slip.ts';
import { formatIpv4 } from '../src/wire/ipv4.ts';
import { Board } from './board.ts';
import { CliError, FIRMWARE_USAGE, parseFirmwareArgs } from './cli.ts';
import { SERVICE_NAMES, SHUTDOWN_GRACE_MS, serialBusyOctets, serialBusyPollMs } from './limits.ts';
import { runAsCommand } from './entry.ts';

declare const SLIPSTACK_VERSION: string | undefined;

/** The version: baked in by `npm run flash`, read from package.json when run from source. */
function firmwareVersion(): string {
  if (typeof SLIPSTACK_VERSION === 'string') return SLIPSTACK_VERSION;
  try {
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version + '-dev';
  } catch {
    return 'unknown';
  }
}

/** SHA-256 of the running image (the bundle when flashed, this file when run from source). */
function imageSha256(): string {
  try {
    return createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex');
  } catch {
    return 'unknown';
  }
}

function say(line: string): void {
  process.stdout.write(`firmware: ${line}\n`);
}

export async function main(argv: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseFirmwareArgs(argv, process.env);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`firmware: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (config === null) {
    process.stdout.write(FIRMWARE_USAGE);
    return 0;
  }

  let link: ReopeningSerialLink;
  try {
    // Interrupt coalescing: one wake per complete SLIP frame, not per read (no added latency);
    // and while the line is busy, one read every few ms instead of a wake-up per chunk.
    link = await ReopeningSerialLink.open(config.port, {
      baud: config.baud, rtscts: config.rtscts, wakeOn: SLIP_END,
      busyOctets: serialBusyOctets(config.uartTiming || !isPtyPath(config.port)), busyPollMs: serialBusyPollMs(config.baud),
      onDown: (reason) => process.stderr.write(`firmware: serial port ${config.port} disappeared (${reason}); waiting for it to come back\n`),
      onUp: (downMs) => say(`serial port ${config.port} is back after ${(downMs / 1000).toFixed(1)} s; reopened, carrying on`),
      onGone: (reason) => process.stderr.write(`firmware: serial port ${config.port} is gone (${reason}): a pty does not come back, ` +
        'and the next terminal opened gets its number, so it is not opened again; start the firmware on the new pty, ' +
        'or give --port a symlink to re-point\n'),
    });
  } catch (e) {
    if (e instanceof SerialError) {
      process.stderr.write(`firmware: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  const pcap = config.pcap !== null ? new PcapFileSink(config.pcap) : null;
  const version = firmwareVersion();
  const board = new Board({
    link,
    config,
    isnKey: getRandomValues(new Uint32Array(4)),
    version,
    imageSha256: imageSha256(),
    pcapSink: pcap,
    trace: config.verbose ? (line) => process.stderr.write(`${line}\n`) : null,
    arrayBufferBytes: () => process.memoryUsage().arrayBuffers,
  });
  // A precise timer (paced output ends frames on its deadlines), and one turn per batch while
  // the line is busy.
  const loop = new HostLoop([board], { timer: (fire) => new TimerFd(fire), batchedBy: link });
  link.onActivity(() => loop.wake());
  // The web console's sockets take the time from the loop and wake it when they write.
  board.network?.attach(loop);

  say(`slipstack ${version} on ${config.port} at ${config.baud} baud${config.uartTiming ? ' (UART timing)' : ''}, ` +
    `${formatIpv4(config.ip)} peer ${formatIpv4(config.peer)}, MTU ${config.mtu}, proto ${config.proto}`);
  if (board.telnet === null) say(board.telnetOffReason!);
  else if (config.insecureNoLogin && config.password === null) say('telnet has NO PASSWORD (--insecure-no-login)');
  let exitCode = 0;
  let stopping = false;
  const finish = async (code: number): Promise<void> => {
    exitCode = code;
    await loop.stop();
  };

  // SIGINT/SIGTERM: FIN every connection, wait until they settle (briefly), exit 0. Installed
  // before `ready` is printed: whoever reads it may signal at once.
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: closing connections`);
    board.shutdown();
    loop.wake();
    const started = loop.now();
    const check = setInterval(() => {
      const now = loop.now();
      if (board.settled(now) || now - started > SHUTDOWN_GRACE_MS) {
        clearInterval(check);
        void finish(0);
      }
    }, 20);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const on = config.services ?? SERVICE_NAMES;
  const echoes = on.includes('echo') && on.includes('udp-echo') ? 'echo 7 (TCP and UDP)'
    : on.includes('echo') ? 'echo 7 (TCP)' : on.includes('udp-echo') ? 'echo 7 (UDP)' : '';
  const listening = [board.telnet !== null ? 'telnet 23' : '', echoes, on.includes('discard') ? 'discard 9' : '',
    on.includes('chargen') ? 'chargen 19' : '', board.web !== null ? `web console ${board.web.port} (HTTP)` : ''].filter((s) => s !== '');
  say(`listening: ${listening.length > 0 ? listening.join(', ') : 'nothing'}; ping answered`);
  const budget = board.memory.budget !== null ? ` (budget ${board.memory.budget})` : '';
  say(`profile ${board.memory.profile}: ${board.memory.allocated} octets preallocated${budget}, ` +
    `${board.preallocatedBytes} of them for packets and TCP rings; ready`);

  await loop.run();
  await link.close().catch(() => {});
  pcap?.close();
  say(`stopped: ${board.iface.stats.ip.recv} frames in, ${board.iface.stats.ip.xmit} out; ` +
    `echoed ${board.tcpEcho.echoed} octets, discarded ${board.discard.discarded}, chargen sent ${board.chargen.generated}; ` +
    `host loop ${loop.stats.turns} turns (${loop.stats.wakes} woken by I/O, ${loop.stats.timedSleeps} timed), ${loop.stats.yields} straight after another; ` +
    `serial line read ${link.stats.rxWakeups} times on arrival, ${link.stats.busyReads} times while busy (${link.stats.busySpells} busy spells); ` +
    `proto ${config.proto}${board.cslip.isCompressing ? ' (compressing)' : ''}: headers compressed ${board.cslip.stats.out.compressed} out, ` +
    `${board.cslip.stats.in.compressed} in, ${board.cslip.stats.in.tossed} tossed; ${board.slip.stats.decoder.oversize} frames larger than MTU`);
  return exitCode;
}

// Run when executed (`npm run firmware`, `node dist/firmware-bridge.mjs`), not when imported by tests.
runAsCommand(import.meta.url, 'firmware', main, typeof SLIPSTACK_VERSION === 'string');
