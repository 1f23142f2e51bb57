/**
 * `npm start`: a virtual board on this machine, no hardware needed. Host connect makes a fresh
 * pty pair and a TUN interface (slip0, 192.0.2.1); the firmware runs on the other end of the pty
 * as 192.0.2.2. Then `ping 192.0.2.2` and `telnet 192.0.2.2` from this machine. Ctrl-C stops both.
 *
 *   sudo npm start
 *   sudo npm start -- --baud 115200 --uart-timing    (a pty paced like a real 115200 line)
 *
 * Needs root (TUN). The telnet password is SLIPSTACK_PASSWORD, --password-file, --password, or one
 * generated now; it reaches the firmware in its environment, never on its command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readPasswordFile } from './cli.ts';
import { firmwareSpawn } from './start-plan.ts';

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
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`start: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write('usage: sudo npm start [-- --baud N --uart-timing --mtu N --password-file FILE --idle-timeout S --verbose]\n');
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('start: npm start needs root to create the TUN interface (slip0): run  sudo npm start\n');
    return 1;
  }
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

  const host = run('host-connect.ts', ['--pty', '--tun', 'slip0', ...common], (line) => {
    const m = /device side: (\S+)/.exec(line);
    if (m && firmware === null) {
      // The password goes by environment, never argv (which every local user can read in ps).
      const spawnPlan = firmwareSpawn(m[1]!, password, common);
      firmware = run('firmware.ts', spawnPlan.args, (fl) => {
        if (/ready/.test(fl)) {
          say('the virtual board is up. Try, from this machine:');
          say('  ping 192.0.2.2');
          say('  telnet 192.0.2.2' + (generated ? `        (password for this run: ${password})` : ''));
          say('  nc 192.0.2.2 7            (echo; also discard 9, chargen 19)');
          say('  http://192.0.2.2/         (the web console: any user name, the same password)');
          say('Ctrl-C stops both.');
        }
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

process.exitCode = await main();
