/**
 * `npm start`: a virtual board on this machine, no hardware needed. Host connect makes a fresh
 * pty pair; the firmware runs on the other end of the pty. Ctrl-C stops both.
 *
 * As root, host connect brings up a TUN interface (slip0) with the first free address pair of
 * LINK_ADDRESS_PAIRS (192.0.2.1 and 192.0.2.2 unless this machine holds or routes one of them;
 * --ip and --peer choose the pair), and `ping` / `telnet` reach the device by its address.
 * Without root (or with --user-net) host connect runs the userspace host side instead, and
 * host ports on 127.0.0.1 are forwarded to the device: `telnet 127.0.0.1 2323`, `npm run ping`.
 *
 *   npm start                                        (no root: the userspace host side)
 *   sudo npm start                                   (a TUN interface)
 *   sudo npm start -- --baud 115200 --uart-timing    (a pty paced like a real 115200 line)
 *
 * Needs root for TUN; without root (or with --user-net) the userspace host side. The telnet
 * password is SLIPSTACK_PASSWORD, --password-file, --password, or one generated now; it reaches
 * the firmware in its environment, never on its command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readPasswordFile } from './cli.ts';
import { firmwareSpawn } from './start-plan.ts';
import { formatIpv4, ipv4Address } from '../src/wire/ipv4.ts';
import { CliError, parseForwards } from './cli.ts';
import { type AddressPair, describeClash, findClash, firstFreePair, localNets } from './host/addresses.ts';
import { LINK_ADDRESS_PAIRS } from './limits.ts';

const here = dirname(fileURLToPath(import.meta.url));

function say(line: string): void {
  process.stdout.write(`start: ${line}\n`);
}

/** Runs a firmware-bridge program with tsx, its output prefixed and passed through. */
function run(script: string, args: string[], onLine: (line: string) => void,
  env: Record<string, string | undefined> = process.env): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        process.stdout.write(`${line}\n`);
        onLine(line);
      }
    });
  }
  return child;
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs({
      args: process.argv.slice(2),
      options: {
        baud: { type: 'string' }, mtu: { type: 'string' }, password: { type: 'string' }, verbose: { type: 'boolean' },
        'password-file': { type: 'string' }, 'idle-timeout': { type: 'string' },
        'uart-timing': { type: 'boolean' }, help: { type: 'boolean' },
        ip: { type: 'string' }, peer: { type: 'string' }, 'user-net': { type: 'boolean' },
        forward: { type: 'string', multiple: true }, bind: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`start: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write('usage: npm start [-- --baud N --uart-timing --mtu N --password-file FILE --idle-timeout S --verbose\n' +
      '                  --ip DEVICE --peer HOST --user-net --forward HOST:DEVICE ... --bind A.B.C.D]\n' +
      '  as root: a TUN interface (slip0); without root or with --user-net: host ports forwarded to the device\n');
    return 0;
  }
  const userNet = opts['user-net'] === true || process.getuid?.() !== 0;
  if (!userNet && (opts.forward !== undefined || opts.bind !== undefined)) {
    process.stderr.write('start: --forward and --bind go with the userspace host side (--user-net, or npm start without root)\n');
    return 2;
  }
  let forwards;
  let pair: AddressPair;
  try {
    forwards = parseForwards(opts.forward ?? []);
    pair = choosePair(opts.ip, opts.peer, userNet);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    process.stderr.write(`start: ${e.message}\n`);
    return e.message.startsWith('--') ? 2 : 1;
  }
  const device = formatIpv4(pair.deviceIp);
  const hostIp = formatIpv4(pair.hostIp);
  // An empty SLIPSTACK_PASSWORD counts as unset, as it does for the firmware.
  const fromEnv = process.env['SLIPSTACK_PASSWORD'] !== '' ? process.env['SLIPSTACK_PASSWORD'] : undefined;
  let typed = opts.password;
  if (opts['password-file'] !== undefined) {
    try {
      typed = readPasswordFile(opts['password-file']);
    } catch (e) {
      process.stderr.write(`start: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const generated = typed === undefined && fromEnv === undefined;
  const password = typed ?? fromEnv ?? randomBytes(6).toString('base64url');
  const common: string[] = [];
  if (opts.baud !== undefined) common.push('--baud', opts.baud);
  if (opts.mtu !== undefined) common.push('--mtu', opts.mtu);
  if (opts['uart-timing']) common.push('--uart-timing');
  if (opts.verbose) common.push('--verbose');
  if (opts['idle-timeout'] !== undefined) common.push('--idle-timeout', opts['idle-timeout']);

  let firmware: ChildProcess | null = null;
  let stopping = false;
  let exitCode = 0;
  const children: ChildProcess[] = [];
  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  };

  const hostArgs = ['--pty', '--host-ip', hostIp, '--device-ip', device];
  if (userNet) {
    hostArgs.push('--user-net');
    for (const f of opts.forward ?? []) hostArgs.push('--forward', f);
    if (opts.bind !== undefined) hostArgs.push('--bind', opts.bind);
  } else hostArgs.push('--tun', 'slip0');
  const passwordNote = generated ? `        (password for this run: ${password})` : '';
  const host = run('host-connect.ts', [...hostArgs, ...common], (line) => {
    const m = /device side: (\S+)/.exec(line);
    if (m && firmware === null) {
      // The password goes by environment, never argv (which every local user can read in ps).
      const spawnPlan = firmwareSpawn(m[1]!, password, ['--ip', device, '--peer', hostIp, ...common]);
      firmware = run('firmware.ts', spawnPlan.args, (fl) => {
        if (!/ready/.test(fl)) return;
        if (!userNet) {
          say('the virtual board is up. Try, from this machine:');
          say(`  ping ${device}`);
          say(`  telnet ${device}${passwordNote}`);
          say(`  nc ${device} 7            (echo; also discard 9, chargen 19)`);
          say(`  http://${device}/         (the web console: any user name, the same password)`);
        } else {
          const bind = opts.bind ?? '127.0.0.1';
          const at = (devicePort: number): number | undefined => forwards.find((f) => f.devicePort === devicePort)?.hostPort;
          say('the virtual board is up (userspace host side: no root, no TUN; device ports forwarded). Try, from this machine:');
          say('  npm run ping');
          const words: Record<number, string> = { 7: 'echo', 9: 'discard', 19: 'chargen' };
          for (const f of forwards) {
            if (f.devicePort === 23) say(`  telnet ${bind} ${f.hostPort}${passwordNote}`);
            else if (f.devicePort === 80) say(`  http://${bind}:${f.hostPort}/    (the web console: any user name, the same password)`);
            else say(`  nc ${bind} ${f.hostPort}${words[f.devicePort] !== undefined ? `        (${words[f.devicePort]})` : `        (device port ${f.devicePort})`}`);
          }
          if (at(23) === undefined) say(`(no forward reaches telnet: add --forward HOST:23)${passwordNote}`);
        }
        say('Ctrl-C stops both.');
      }, spawnPlan.env);
      children.push(firmware);
      firmware.on('exit', (code) => stopAll(code === 0 ? exitCode : 1));
    }
  });
  children.push(host);
  host.on('exit', (code) => stopAll(code === 0 ? exitCode : 1));
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null) resolve();
    else c.on('exit', () => resolve());
  })));
  // The firmware may have been started after the first wait began.
  const late = firmware as ChildProcess | null;
  if (late !== null && late.exitCode === null) await new Promise<void>((resolve) => late.on('exit', () => resolve()));
  return exitCode;
}

/**
 * The address pair: --ip (device) and --peer (host) when given, refused when they clash here
 * (TUN mode); else the first free pair of LINK_ADDRESS_PAIRS, saying so when it is not the
 * first. The userspace host side puts no address on this machine, so nothing can clash there.
 */
function choosePair(ip: string | undefined, peer: string | undefined, userNet: boolean): AddressPair {
  const [defaultHost, defaultDevice] = LINK_ADDRESS_PAIRS[0]!;
  if (ip !== undefined || peer !== undefined || userNet) {
    const parse = (name: string, v: string | undefined, fallback: string): number => {
      try {
        return ipv4Address(v ?? fallback);
      } catch {
        throw new CliError(`--${name} wants an IPv4 address like ${fallback}, got '${v}'`);
      }
    };
    const pair = { hostIp: parse('peer', peer, defaultHost), deviceIp: parse('ip', ip, defaultDevice) };
    if (pair.hostIp === pair.deviceIp) throw new CliError(`--ip and --peer are both ${formatIpv4(pair.hostIp)}: the two ends need different addresses`);
    if (userNet) return pair;
    const clash = findClash(pair, localNets());
    if (clash !== null) throw new CliError(`${describeClash(clash)}: choose a free pair with --ip DEVICE --peer HOST (or leave both out to have one picked)`);
    return pair;
  }
  const nets = localNets();
  const pair = firstFreePair(nets);
  if (pair === null) {
    throw new CliError(`every address pair tried (${LINK_ADDRESS_PAIRS.map(([h, d]) => `${h}/${d}`).join(', ')}) is in use here: choose one with --ip DEVICE --peer HOST`);
  }
  if (formatIpv4(pair.deviceIp) !== defaultDevice || formatIpv4(pair.hostIp) !== defaultHost) {
    const clash = findClash({ hostIp: ipv4Address(defaultHost), deviceIp: ipv4Address(defaultDevice) }, nets)!;
    say(`${describeClash(clash)}: using host ${formatIpv4(pair.hostIp)} and device ${formatIpv4(pair.deviceIp)} instead`);
  }
  return pair;
}

process.exitCode = await main();
