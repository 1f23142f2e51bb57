/**
 * `npm run connect`: the host end of the SLIP line to a flashed board, brought up with one
 * command, and taken down with `--down`.
 *
 *   sudo npm run connect -- --port /dev/ttyUSB1
 *   sudo npm run connect -- --port /dev/ttyUSB1 --down
 *
 * With the kernel's SLIP driver (loaded, built in, or a module modprobe can load) it runs what
 * the README's manual recipe does: `slattach -L -p slip -s 115200 PORT` (-L: three wires, no
 * RTS/CTS; -p slip: the firmware speaks plain SLIP unless told otherwise, and slattach defaults to
 * CSLIP; speeds above 115200 are set with `stty` first, since slattach's own table stops there),
 * then the addresses and the MTU on the sl interface it made. Without it, host connect over TUN
 * (firmware-bridge/host-connect.ts) in the background. Either way it waits for the board's first
 * ping answer and prints what to try. What it started is remembered in /run/slipstack, per port,
 * for `--down`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatIpv4, ipv4Address } from '../../src/wire/ipv4.ts';
import { CliError, parseCommand } from '../cli.ts';
import { runAsCommand } from '../entry.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN_DIR = '/run/slipstack';

/** Speeds slattach's own table knows (net-tools slattach.c); others are set with stty first. */
const SLATTACH_SPEEDS = new Set([50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200]);

export const CONNECT_USAGE = `usage: sudo npm run connect -- --port PATH [options]
       sudo npm run connect -- --port PATH --down

Brings up the SLIP link to a board running the slipstack firmware (npm run flash -- --service),
waits for its first ping answer and prints what to try. With the kernel's SLIP driver it runs
slattach and sets the addresses and MTU on its sl interface; without one (as on many desktop
kernels) it runs host connect over a TUN interface in the background. --down undoes it.

  --port PATH          this host's serial port wired to the board's firmware UART (/dev/ttyUSB1),
                       or the console port once the board's service owns it
  --baud N             line speed, 8N1 (default 115200; the board's --service-baud)
  --host-ip A.B.C.D    this host's address on the link (default 192.0.2.1)
  --device-ip A.B.C.D  the board's address (default 192.0.2.2)
  --mtu N              link MTU (default 1006)
  --proto P            slip, cslip or adaptive: what the firmware speaks (default slip)
  --via V              auto, slattach or tun (default auto: slattach when the kernel has SLIP)
  --rtscts             RTS/CTS hardware flow control (only with those wires connected)
  --tun NAME           TUN interface name for host connect (default: the first free slipN)
  --dry-run            print the commands it would run, run nothing
  --down               take the link on PORT down: stop what connect started
  --user-net           no root, no kernel interface, any OS: our own stack is the host end and
                       forwards 127.0.0.1 ports to the board (2323 telnet, 2307 echo, 2309
                       discard, 2319 chargen, 8080 web console; --forward HOST:DEVICE, --bind
                       A.B.C.D; npm run ping): host connect --user-net on PORT, in the foreground
  --help               this text

Then: ping 192.0.2.2, telnet 192.0.2.2 (the telnet password given when flashing).
`;

export type Via = 'slattach' | 'tun';

export interface ConnectConfig {
  port: string;
  baud: number;
  hostIp: string;
  deviceIp: string;
  mtu: number;
  proto: 'slip' | 'cslip' | 'adaptive';
  via: Via | 'auto';
  rtscts: boolean;
  tun: string | null;
  dryRun: boolean;
  down: boolean;
}

export function parseConnectArgs(argv: readonly string[]): ConnectConfig | null {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' }, baud: { type: 'string' }, 'host-ip': { type: 'string' }, 'device-ip': { type: 'string' },
        mtu: { type: 'string' }, proto: { type: 'string' }, via: { type: 'string' }, rtscts: { type: 'boolean' },
        tun: { type: 'string' }, 'dry-run': { type: 'boolean' }, down: { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new CliError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (v.help === true) return null;
  if (v.port === undefined || v.port === '') throw new CliError('--port is required: the serial port wired to the board\'s firmware UART');
  const whole = (name: string, value: string | undefined, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`--${name} wants a whole number ${min}..${max}, got '${value}'`);
    return Number(value);
  };
  const addr = (name: string, value: string | undefined, fallback: string): string => {
    try {
      return formatIpv4(ipv4Address(value ?? fallback));
    } catch {
      throw new CliError(`--${name} wants an IPv4 address like ${fallback}, got '${value}'`);
    }
  };
  const proto = v.proto ?? 'slip';
  if (proto !== 'slip' && proto !== 'cslip' && proto !== 'adaptive') throw new CliError(`--proto wants slip, cslip or adaptive, got '${proto}'`);
  const via = v.via ?? 'auto';
  if (via !== 'auto' && via !== 'slattach' && via !== 'tun') throw new CliError(`--via wants auto, slattach or tun, got '${via}'`);
  if (v.tun !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(v.tun)) throw new CliError(`--tun wants an interface name of 1..15 letters and digits, got '${v.tun}'`);
  const hostIp = addr('host-ip', v['host-ip'], '192.0.2.1');
  const deviceIp = addr('device-ip', v['device-ip'], '192.0.2.2');
  if (hostIp === deviceIp) throw new CliError('--host-ip and --device-ip must differ');
  return {
    port: v.port,
    baud: whole('baud', v.baud, 115200, 50, 20_000_000),
    hostIp,
    deviceIp,
    mtu: whole('mtu', v.mtu, 1006, 68, 65535),
    proto,
    via,
    rtscts: v.rtscts === true,
    tun: v.tun ?? null,
    dryRun: v['dry-run'] === true,
    down: v.down === true,
  };
}

/** Whether this kernel can do SLIP itself: 'loaded' (module loaded or built in), 'module' (modprobe can load it), or null. */
export function kernelSlip(): 'loaded' | 'module' | null {
  if (existsSync('/sys/module/slip')) return 'loaded';
  const dir = `/lib/modules/${release()}/kernel/drivers/net/slip`;
  if (existsSync(dir) && readdirSync(dir).some((f) => /^slip\.ko/.test(f))) return 'module';
  return null;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
}

/**
 * The commands that attach the line with the kernel's driver, up to and including slattach
 * itself (which stays running; the last step). `modprobe` only when the module is not loaded.
 */
export function slattachCommands(c: ConnectConfig, slip: 'loaded' | 'module'): string[][] {
  const steps: string[][] = [];
  if (slip === 'module') steps.push(['modprobe', 'slip']);
  const attach = ['slattach'];
  // -L: a three-wire line (CLOCAL, no RTS/CTS); without it slattach turns RTS/CTS on.
  if (!c.rtscts) attach.push('-L');
  attach.push('-p', c.proto);
  if (SLATTACH_SPEEDS.has(c.baud)) {
    attach.push('-s', String(c.baud));
  } else {
    // slattach's table stops at 115200; without -s it keeps the speed the line already has.
    steps.push(['stty', '-F', c.port, String(c.baud), ...(c.rtscts ? ['crtscts'] : ['clocal', '-crtscts'])]);
  }
  attach.push(c.port);
  steps.push(attach);
  return steps;
}

/** The commands that give the sl interface slattach made its addresses and MTU. */
export function addressCommands(c: ConnectConfig, iface: string): string[][] {
  return [
    ['ip', 'addr', 'add', c.hostIp, 'peer', c.deviceIp, 'dev', iface],
    ['ip', 'link', 'set', iface, 'mtu', String(c.mtu), 'up'],
  ];
}

/** The host connect command for the TUN path. */
export function hostConnectCommand(c: ConnectConfig, tun: string): string[] {
  const cmd = [process.execPath, '--import', 'tsx', join(ROOT, 'firmware-bridge', 'host-connect.ts'), '--port', c.port,
    '--baud', String(c.baud), '--tun', tun, '--host-ip', c.hostIp, '--device-ip', c.deviceIp, '--mtu', String(c.mtu)];
  if (c.rtscts) cmd.push('--rtscts');
  if (c.proto !== 'slip') cmd.push('--proto', c.proto);
  return cmd;
}

interface State {
  via: Via;
  pid: number;
  iface: string;
  port: string;
  hostIp: string;
  deviceIp: string;
  log: string | null;
}

function stateFile(port: string): string {
  return join(RUN_DIR, `connect-${port.replace(/^\/dev\//, '').replace(/[^A-Za-z0-9_.-]/g, '-')}.json`);
}

function say(line: string): void {
  process.stdout.write(`connect: ${line}\n`);
}

function shown(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@+-]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

function run(argv: string[]): { ok: boolean; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? '') };
}

function interfaces(): string[] {
  const r = run(['ip', '-o', 'link', 'show']);
  return [...r.out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]!);
}

/** Who holds `ip` already, if anyone: "192.0.2.1 is already on eth0". */
function addressTaken(ips: string[]): string | null {
  const r = run(['ip', '-o', '-4', 'addr', 'show']);
  for (const line of r.out.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)/.exec(line);
    if (m !== null && ips.includes(m[2]!)) return `${m[2]} is already on ${m[1]}`;
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `argv` in the background, in its own session, output to `log` (or nowhere). */
function background(argv: string[], log: string | null): ChildProcess {
  const fd = log === null ? 'ignore' : openSync(log, 'w');
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, detached: true, stdio: ['ignore', fd, fd] });
  if (typeof fd === 'number') closeSync(fd);
  child.unref();
  return child;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Waits for the board's first ping answer; returns the seconds it took, or null after `seconds`. */
async function firstPing(deviceIp: string, seconds: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    if (run(['ping', '-c', '1', '-W', '1', deviceIp]).ok) return (Date.now() - started) / 1000;
    await sleep(200);
  }
  return null;
}

async function down(c: ConnectConfig): Promise<number> {
  const file = stateFile(c.port);
  if (!existsSync(file)) {
    say(`nothing to take down on ${c.port} (no ${file})`);
    return 0;
  }
  const s = JSON.parse(readFileSync(file, 'utf8')) as State;
  const cmdline = existsSync(`/proc/${s.pid}/cmdline`) ? readFileSync(`/proc/${s.pid}/cmdline`, 'utf8') : '';
  // The pid is ours only if it is still the program connect started (pids are reused).
  if (alive(s.pid) && /slattach|host-connect/.test(cmdline)) {
    if (c.dryRun) {
      say(`would run: kill ${s.pid}   (${s.via === 'slattach' ? 'slattach' : 'host connect'}; ${s.iface} goes with it)`);
      return 0;
    }
    process.kill(s.pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(s.pid); i++) await sleep(100);
    if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
  }
  rmSync(file, { force: true });
  if (s.log !== null) rmSync(s.log, { force: true });
  say(`down: ${s.iface} (${s.via === 'slattach' ? 'slattach' : 'host connect'}) on ${c.port} stopped`);
  return 0;
}

function tryThis(c: ConnectConfig, after: number, iface: string, how: string): void {
  say(`up: ${c.hostIp} peer ${c.deviceIp} dev ${iface} mtu ${c.mtu} (${how})`);
  say(`the board answered ping after ${after.toFixed(1)} s. Try:`);
  say(`  ping ${c.deviceIp}`);
  say(`  telnet ${c.deviceIp}            (the telnet password given when flashing)`);
  say(`  nc ${c.deviceIp} 7              (echo; discard 9, chargen 19)`);
  say(`take it down with:  sudo npm run connect -- --port ${c.port} --down`);
}

async function upSlattach(c: ConnectConfig, slip: 'loaded' | 'module'): Promise<number> {
  const steps = slattachCommands(c, slip);
  if (c.dryRun) {
    for (const s of steps) say(`would run: ${shown(s)}${s[0] === 'slattach' ? ' &' : ''}`);
    for (const s of addressCommands(c, 'sl0')) say(`would run: ${shown(s)}   (sl0: the interface slattach makes)`);
    say(`would wait for: ping -c 1 -W 1 ${c.deviceIp}`);
    return 0;
  }
  const before = new Set(interfaces());
  for (const s of steps.slice(0, -1)) {
    const r = run(s);
    if (!r.ok) throw new CliError(`${shown(s)} failed: ${r.out.split('\n')[0]}`);
  }
  const attach = steps[steps.length - 1]!;
  const child = background(attach, null);
  let iface: string | null = null;
  for (let i = 0; i < 50 && iface === null; i++) {
    await sleep(100);
    if (child.exitCode !== null) throw new CliError(`${shown(attach)} exited (${child.exitCode}): is ${c.port} right, and free?`);
    iface = interfaces().find((n) => /^sl\d+$/.test(n) && !before.has(n)) ?? null;
  }
  if (iface === null) {
    child.kill('SIGTERM');
    throw new CliError(`slattach made no sl interface within 5 s on ${c.port}`);
  }
  const state: State = { via: 'slattach', pid: child.pid!, iface, port: c.port, hostIp: c.hostIp, deviceIp: c.deviceIp, log: null };
  writeFileSync(stateFile(c.port), JSON.stringify(state));
  for (const s of addressCommands(c, iface)) {
    const r = run(s);
    if (!r.ok) throw new CliError(`${shown(s)} failed: ${r.out.split('\n')[0]}`);
  }
  return waitAndTell(c, iface, `the kernel's SLIP driver: slattach pid ${child.pid}`);
}

async function upTun(c: ConnectConfig): Promise<number> {
  const taken = new Set(interfaces());
  let tun = c.tun;
  if (tun === null) for (let i = 0; tun === null; i++) if (!taken.has(`slip${i}`)) tun = `slip${i}`;
  const cmd = hostConnectCommand(c, tun);
  if (c.dryRun) {
    say(`would run: ${shown(cmd)} &`);
    say(`would wait for: ping -c 1 -W 1 ${c.deviceIp}`);
    return 0;
  }
  if (taken.has(tun)) throw new CliError(`${tun} exists already: pick another with --tun`);
  const log = join(RUN_DIR, `${basename(stateFile(c.port), '.json')}.log`);
  const child = background(cmd, log);
  const read = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  for (let i = 0; i < 150 && !/host-connect: up:/.test(read()); i++) {
    await sleep(100);
    if (child.exitCode !== null) {
      const last = read().trim().split('\n').slice(-1)[0] ?? '';
      throw new CliError(`host connect stopped: ${last.replace(/^host-connect: /, '') || `exit ${child.exitCode}`}`);
    }
  }
  if (!/host-connect: up:/.test(read())) {
    child.kill('SIGTERM');
    throw new CliError(`host connect did not come up within 15 s (log: ${log})`);
  }
  const state: State = { via: 'tun', pid: child.pid!, iface: tun, port: c.port, hostIp: c.hostIp, deviceIp: c.deviceIp, log };
  writeFileSync(stateFile(c.port), JSON.stringify(state));
  return waitAndTell(c, tun, `host connect over TUN, pid ${child.pid}, log ${log}`);
}

async function waitAndTell(c: ConnectConfig, iface: string, how: string): Promise<number> {
  const after = await firstPing(c.deviceIp, 30);
  if (after === null) {
    say(`up: ${c.hostIp} peer ${c.deviceIp} dev ${iface} (${how})`);
    process.stderr.write(`connect: the link is up but ${c.deviceIp} does not answer ping after 30 s: is the firmware running on the board's ` +
      `UART at ${c.baud} baud with --ip ${c.deviceIp} --peer ${c.hostIp}? The link stays up; --down takes it down\n`);
    return 1;
  }
  tryThis(c, after, iface, how);
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  // The userspace host side needs only the serial port (the dialout group on Linux): it is host
  // connect's --user-net mode, flags and all, run here in the foreground.
  if (argv.includes('--user-net')) return (await import('../host-connect.ts')).main(argv);
  const c = parseCommand('connect', argv, parseConnectArgs, CONNECT_USAGE);
  if (typeof c === 'number') return c;
  try {
    if (!c.dryRun && process.getuid?.() !== 0) {
      throw new CliError(`connect needs root (slattach, ip, TUN): sudo npm run connect -- ${argv.join(' ')}`);
    }
    if (c.down) return await down(c);
    if (!c.dryRun) {
      mkdirSync(RUN_DIR, { recursive: true });
      if (existsSync(stateFile(c.port))) {
        const s = JSON.parse(readFileSync(stateFile(c.port), 'utf8')) as State;
        if (alive(s.pid)) throw new CliError(`${c.port} is connected already (${s.iface}): --down first`);
      }
      if (!existsSync(c.port)) throw new CliError(`no such port ${c.port}: check the path (ls /dev/tty*)`);
      const taken = addressTaken([c.hostIp, c.deviceIp]);
      if (taken !== null) {
        throw new CliError(`${taken}: pick a free pair with --host-ip/--device-ip (and flash the board with the same --ip/--peer)`);
      }
    }
    const slip = kernelSlip();
    const canSlattach = slip !== null && onPath('slattach') && (slip === 'loaded' || onPath('modprobe'));
    if (c.via === 'slattach' && !canSlattach) {
      throw new CliError(slip === null ? 'this kernel has no SLIP driver (no /sys/module/slip, no slip module): use --via tun' : 'slattach (Debian: net-tools) is not installed');
    }
    if (c.via === 'slattach' || (c.via === 'auto' && canSlattach)) return await upSlattach(c, slip!);
    if (c.via === 'auto') say(`this kernel has no SLIP driver: host connect over TUN instead`);
    return await upTun(c);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`connect: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

runAsCommand(import.meta.url, 'connect', main);
