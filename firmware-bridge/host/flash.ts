/**
 * `npm run flash`: builds the firmware image (image.ts), and with `--console` flashes a board
 * through its serial console (console.ts, upload.ts), optionally installing a boot service.
 *
 *   npm run flash
 *   npm run flash -- --console /dev/ttyUSB0 --service ttymxc2
 *
 * Passwords come from SLIPSTACK_BOARD_PASSWORD (the board's login) and SLIPSTACK_PASSWORD (the
 * firmware's telnet), or are asked for at the terminal; never from the command line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SerialError, SerialLink } from '../../src/drivers/serial-link.ts';
import { formatIpv4, ipv4Address } from '../../src/wire/ipv4.ts';
import { askHidden } from './ask.ts';
import { BoardShell, ConsoleError, ConsoleLine } from './console.ts';
import { ARCHES, buildImage, NODE_MIN_MAJOR, unpackedBytes, type Arch, type Image } from './image.ts';
import { FetchError } from './npm-packs.ts';
import { Progress } from './progress.ts';
import { checkBoardPath, flashOverConsole, type UploadImage } from './upload.ts';
import { CliError, parseCommand } from '../cli.ts';
import { runAsCommand } from '../entry.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const FLASH_USAGE = `usage: npm run flash [-- --console PATH [options]]

Builds the firmware image: dist/slipstack-<version>/ and dist/slipstack-<version>.tar.gz (plus one
tarball per CPU and a .sha256 manifest). It runs on a board with Node ${NODE_MIN_MAJOR} or newer (Debian
bookworm's own nodejs) on linux arm, arm64 or x64, with no npm install and no network.

With --console it also flashes a board through its serial console: it logs in, uploads the image
as checked base64 chunks (a re-run sends only what is missing), checks its SHA-256, unpacks it to
<to>/current, and with --service installs a boot service that runs the firmware on a UART.

  --console PATH       this host's serial port wired to the board's console (/dev/ttyUSB0)
  --baud N             the console's speed (default 115200)
  --user NAME          who to log in as at a login: prompt (default root); the password comes from
                       SLIPSTACK_BOARD_PASSWORD, or is asked for
  --to DIR             install directory on the board (default /opt/slipstack)
  --service TTY        install and start a boot service running the firmware on TTY
                       (ttymxc2 or /dev/ttymxc2); its telnet password comes from SLIPSTACK_PASSWORD,
                       or is asked for (empty: telnet off)
  --service-baud N     the firmware's line speed (default 115200)
  --ip A.B.C.D         the board's address on the SLIP line (default 192.0.2.2)
  --peer A.B.C.D       the host's address (default 192.0.2.1)
  --mtu N              the link MTU (default 1006)
  --verbose            print the console transcript (passwords hidden)
  --help               this text

A board with nothing but a serial cable, in order:
  1. wire   a USB-serial adapter to the board's console UART (TX to RX, RX to TX, GND), and a
            second one to the UART the firmware will use (on an i.MX6ULL: UART3, /dev/ttymxc2)
  2. flash  npm run flash -- --console /dev/ttyUSB0 --service ttymxc2
  3. connect  sudo npm run connect -- --port /dev/ttyUSB1
  4. ping   ping 192.0.2.2
  5. telnet telnet 192.0.2.2
  6. loopback test  sudo npm run connect -- --port /dev/ttyUSB1 --down, then
            TEST_PORT_A=/dev/ttyUSB1 TEST_PEER=firmware TEST_PASSWORD=... npm run test:hw
`;

interface FlashArgs {
  console: string | null;
  baud: number;
  user: string;
  to: string;
  service: string | null;
  serviceBaud: number;
  firmwareArgs: string[];
  verbose: boolean;
}

function whole(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`--${name} wants a whole number ${min}..${max}, got '${value}'`);
  return Number(value);
}

function parse(argv: readonly string[]): FlashArgs | null {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        console: { type: 'string' }, baud: { type: 'string' }, user: { type: 'string' }, to: { type: 'string' },
        service: { type: 'string' }, 'service-baud': { type: 'string' }, ip: { type: 'string' }, peer: { type: 'string' },
        mtu: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new CliError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (v.help === true) return null;
  const to = v.to ?? '/opt/slipstack';
  const toProblem = checkBoardPath('--to', to.replace(/\/+$/, ''));
  if (toProblem !== null) throw new CliError(toProblem);
  let service: string | null = null;
  if (v.service !== undefined) {
    service = v.service.startsWith('/') ? v.service : `/dev/${v.service}`;
    const p = checkBoardPath('--service', service);
    if (p !== null || !service.startsWith('/dev/')) throw new CliError(`--service wants a tty such as ttymxc2 or /dev/ttymxc2, got '${v.service}'`);
  }
  const firmwareArgs: string[] = [];
  for (const name of ['ip', 'peer'] as const) {
    const value = v[name];
    if (value === undefined) continue;
    try {
      firmwareArgs.push(`--${name}`, formatIpv4(ipv4Address(value)));
    } catch {
      throw new CliError(`--${name} wants an IPv4 address like 192.0.2.2, got '${value}'`);
    }
  }
  if (v.mtu !== undefined) firmwareArgs.push('--mtu', String(whole('mtu', v.mtu, 1006, 68, 65535)));
  const user = v.user ?? 'root';
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(user)) throw new CliError(`--user wants a login name, got '${user}'`);
  if (v.console === undefined && (v.service !== undefined || v.user !== undefined || v.to !== undefined)) {
    throw new CliError('--service, --user and --to need --console PATH (the port wired to the board\'s console)');
  }
  return {
    console: v.console ?? null,
    baud: whole('baud', v.baud, 115200, 50, 20_000_000),
    user,
    to: to.replace(/\/+$/, ''),
    service,
    serviceBaud: whole('service-baud', v['service-baud'], 115200, 50, 20_000_000),
    firmwareArgs,
    verbose: v.verbose === true,
  };
}

function say(line: string): void {
  process.stdout.write(`flash: ${line}\n`);
}

function describeImage(image: Image): void {
  say(`${relative(ROOT, image.dir)}/  (the image, ${image.files.length + 1} files: firmware-bridge.mjs, the launcher, serialport and koffi for linux ${ARCHES.join(', ')})`);
  for (const t of image.tarballs) {
    say(`${relative(ROOT, t.path)}  ${t.bytes} octets  sha256 ${t.sha256}${t.arch === null ? '  (all CPUs)' : ''}`);
  }
  say(`${relative(ROOT, image.manifest)}  (sha256sum -c reads it)`);
}

async function flashConsole(args: FlashArgs, image: Image): Promise<number> {
  const where = `${args.console} at ${args.baud} baud`;
  // The telnet password is settled before the line is touched, so nobody waits at a prompt mid-upload.
  let telnetPassword: string | null = null;
  if (args.service !== null) {
    const fromEnv = process.env['SLIPSTACK_PASSWORD'];
    telnetPassword = fromEnv !== undefined && fromEnv !== '' ? fromEnv : await askHidden('telnet password for the board (empty: telnet off): ');
    if (telnetPassword === '') telnetPassword = null;
    if (telnetPassword === null) say('no telnet password (SLIPSTACK_PASSWORD): the service runs without telnet');
    else if (/[\n\r]/.test(telnetPassword)) throw new CliError('the telnet password cannot contain a line break');
  }
  let link: SerialLink;
  try {
    link = await SerialLink.open(args.console!, { baud: args.baud, txCapacity: 65536 });
  } catch (e) {
    if (e instanceof SerialError) {
      process.stderr.write(`flash: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  // The transcript shows what went each way; an upload's base64 is shortened to its first line.
  const transcript = args.verbose ? (dir: '>' | '<', text: string) => {
    const shown = dir === '>' && text.length > 300 ? `${text.slice(0, text.indexOf('\n') + 1)}... (${text.length} octets)` : text;
    process.stderr.write(`${dir} ${JSON.stringify(shown)}\n`);
  } : null;
  const line = new ConsoleLine(link, transcript);
  const tarballs = new Map<Arch, Uint8Array>();
  const unpacked = new Map<Arch, number>();
  for (const t of image.tarballs) {
    if (t.arch === null) continue;
    tarballs.set(t.arch, readFileSync(t.path));
    unpacked.set(t.arch, unpackedBytes(image, t.arch));
  }
  const upload: UploadImage = { version: image.version, dirName: image.dirName, tarballs, unpacked };
  // The bar is made on the first report (when the total is known); closures below set it.
  const bar: { current: Progress | null } = { current: null };
  try {
    say(`waking the console on ${where}`);
    const shell = await BoardShell.open(line, {
      user: args.user,
      where,
      password: async () => {
        // An empty SLIPSTACK_BOARD_PASSWORD counts as unset (a board with no password asks for none).
        const fromEnv = process.env['SLIPSTACK_BOARD_PASSWORD'];
        if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
        return askHidden(`${args.user}'s password on the board: `);
      },
    });
    say('shell on the board: ok');
    const report = await flashOverConsole(shell, upload, {
      to: args.to,
      baud: args.baud,
      service: args.service === null ? null : { port: args.service, baud: args.serviceBaud, firmwareArgs: args.firmwareArgs },
      telnetPassword,
      say: (l) => {
        bar.current?.done();
        say(l);
      },
      progress: (done, total) => {
        if (total === 0) return;
        bar.current ??= new Progress(total);
        bar.current.update(done);
        if (done >= total) bar.current.done();
      },
    });
    await shell.close();
    say(`done: ${report.chunks} chunks (${report.reused} already there, ${report.resent} sent again), ` +
      `${report.release} on node ${report.facts.nodeVersion}`);
    if (args.service !== null) {
      say(`next, on this host, with a cable on the board's ${args.service}:  sudo npm run connect -- --port /dev/ttyUSB1` +
        `${args.serviceBaud !== 115200 ? ` --baud ${args.serviceBaud}` : ''}`);
    } else {
      say(`run it on the board:  ${args.to}/current/slipstack --port /dev/ttymxc2 --password ...   (or flash again with --service ttymxc2)`);
    }
    return 0;
  } catch (e) {
    bar.current?.done();
    if (e instanceof ConsoleError || e instanceof CliError) {
      process.stderr.write(`flash: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await link.close().catch(() => {});
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseCommand('flash', argv, parse, FLASH_USAGE);
  if (typeof args === 'number') return args;
  if (args.console !== null && !existsSync(args.console)) {
    process.stderr.write(`flash: no such port ${args.console}: check the path (ls /dev/tty*)\n`);
    return 1;
  }
  let image: Image;
  try {
    image = await buildImage({ root: ROOT, log: say });
  } catch (e) {
    if (e instanceof FetchError) {
      process.stderr.write(`flash: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  describeImage(image);
  if (args.console === null) {
    say(`copy it to a board that has a network:  scp ${relative(ROOT, image.tarballs[0]!.path)} root@board:/opt/  (then tar -xzf, ./slipstack --help)`);
    say('or flash a board through its serial console:  npm run flash -- --console /dev/ttyUSB0 --service ttymxc2');
    return 0;
  }
  process.once('SIGINT', () => {
    process.stderr.write('\nflash: interrupted: run the same command again to resume the upload\n');
    process.exit(130);
  });
  try {
    return await flashConsole(args, image);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`flash: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

runAsCommand(import.meta.url, 'flash', main);
