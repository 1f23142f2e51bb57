/**
 * The firmware: slipstack and its services on one SLIP serial line.
 *
 *   npm run firmware -- --port /dev/ttymxc1 --password secret
 *   node dist/firmware-bridge.mjs --port /dev/ttyUSB0 --baud 921600 --password secret
 *
 * It opens the port, builds the Board, and runs it from a host loop that sleeps until the next
 * deadline or until octets arrive. SIGINT/SIGTERM close every connection with a FIN, wait
 * briefly for the ACKs, and exit 0. A port that disappears (USB unplugged) ends it with exit 1.
 */
import { createHash, getRandomValues } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostLoop } from '../src/drivers/host-loop.ts';
import { PcapFileSink } from '../src/drivers/pcap-file.ts';
import { SerialError, SerialLink } from '../src/drivers/serial-link.ts';
import { SLIP_END } from '../src/phy/slip.ts';
import { formatIpv4 } from '../src/wire/ipv4.ts';
import { Board } from './board.ts';
import { CliError, FIRMWARE_USAGE, parseFirmwareArgs } from './cli.ts';

declare const SLIPSTACK_VERSION: string | undefined;

/** How long a shutdown waits at most for the connections to settle (Board.settled), ms. */
const SHUTDOWN_GRACE_MS = 3000;

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

  let link: SerialLink;
  try {
    // One wake per complete SLIP frame, not per read (interrupt coalescing; no added latency).
    link = await SerialLink.open(config.port, { baud: config.baud, rtscts: config.rtscts, wakeOn: SLIP_END });
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
  });
  const loop = new HostLoop([board]);
  link.onActivity(() => loop.wake());

  say(`slipstack ${version} on ${config.port} at ${config.baud} baud${config.uartTiming ? ' (UART timing)' : ''}, ` +
    `${formatIpv4(config.ip)} peer ${formatIpv4(config.peer)}, MTU ${config.mtu}, proto ${config.proto}`);
  if (board.telnet === null) say(board.telnetOffReason!);
  else if (config.insecureNoLogin && config.password === null) say('telnet has NO PASSWORD (--insecure-no-login)');
  say(`listening: ${board.telnet !== null ? 'telnet 23, ' : ''}echo 7 (TCP and UDP), discard 9, chargen 19; ping answered`);
  say(`preallocated ${board.preallocatedBytes} octets for packets and TCP rings; ready`);

  let exitCode = 0;
  let stopping = false;
  const finish = async (code: number): Promise<void> => {
    exitCode = code;
    await loop.stop();
  };

  // SIGINT/SIGTERM: FIN every connection, wait until they settle (briefly), exit 0.
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

  void link.closed.then((why) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`firmware: serial port ${config.port} ${why.disconnected ? 'disappeared' : 'closed'}: ${why.reason}\n`);
    void finish(1);
  });

  await loop.run();
  await link.close().catch(() => {});
  pcap?.close();
  say(`stopped: ${board.iface.stats.ip.recv} frames in, ${board.iface.stats.ip.xmit} out; ` +
    `echoed ${board.tcpEcho.echoed} octets, discarded ${board.discard.discarded}, chargen sent ${board.chargen.generated}; ` +
    `host loop ${loop.stats.turns} turns (${loop.stats.wakes} woken by I/O, ${loop.stats.timedSleeps} timed); ` +
    `proto ${config.proto}${board.cslip.isCompressing ? ' (compressing)' : ''}: headers compressed ${board.cslip.stats.out.compressed} out, ` +
    `${board.cslip.stats.in.compressed} in, ${board.cslip.stats.in.tossed} tossed; ${board.slip.stats.decoder.oversize} frames larger than MTU`);
  return exitCode;
}

// Run when executed (`npm run firmware`, `node dist/firmware-bridge.mjs`), not when imported by tests.
const invoked = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invoked || typeof SLIPSTACK_VERSION === 'string') {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    process.stderr.write(`firmware: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
