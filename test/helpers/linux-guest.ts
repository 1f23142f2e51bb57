/**
 * A Linux kernel with the real SLIP driver, as a peer: Debian's `linux-image-amd64` kernel
 * (whose `slip.ko` and `slhc.ko` are the code every `slattach` user runs) booted in QEMU from a
 * small initramfs with busybox and net-tools' `slattach`. The host kernel here has no SLIP
 * driver, which is why a guest is needed.
 *
 * The guest has no network device (`-nic none`), two 16550 UARTs and a virtio console:
 *   ttyS0  the serial line, a pty on this host: the firmware opens it as its serial port
 *   ttyS1  the kernel console, to a log file
 *   hvc0   a command channel (a unix socket): a shell reads lines, the harness reads the output
 * Under QEMU's TCG (this machine has /dev/kvm but no VT-x for it) the last chunk of input sent to
 * a guest, on a UART or a virtio console alike, was seen to stay undelivered until more input
 * followed; so while the harness waits for output it sends a harmless keepalive (`keepalive`).
 * Traffic on the serial line itself never waits long: the other side always has more to say.
 *
 * Built once and cached in .tmp/qemu/: the kernel package is extracted there (`dpkg-deb -x`), and
 * the initramfs is written there as a plain newc cpio (the kernel takes it uncompressed). Nothing
 * is downloaded here: `.ci/run` fetches the kernel package with `apt-get download` (no install,
 * no hooks) and the tools from test/tools.txt; without them the suite is pending, saying which.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools, noteSkip } from './tools.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the kernel package, its extraction and the initramfs live (git-ignored). */
export const GUEST_DIR = join(ROOT, '.tmp', 'qemu');
/** What `.ci/run` fetches into GUEST_DIR. */
export const KERNEL_PACKAGE = 'linux-image-amd64';

/** Outside programs the guest suite needs (each is in test/tools.txt with its Debian package). */
const TOOLS = ['qemu-system-x86_64', 'busybox', 'slattach', 'dpkg-deb'];

/** The kernel image package in GUEST_DIR (the versioned one the meta-package depends on), or null. */
function kernelDeb(): string | null {
  if (!existsSync(GUEST_DIR)) return null;
  const debs = readdirSync(GUEST_DIR).filter((f) => /^linux-image-\d.*-amd64_.*\.deb$/.test(f) && !f.includes('-dbg')).sort();
  return debs.length > 0 ? join(GUEST_DIR, debs[debs.length - 1]!) : null;
}

/** True when the ELF file at `path` asks for no interpreter (statically linked). */
function isStatic(path: string): boolean {
  const b = readFileSync(path);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false;
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

function which(command: string): string {
  return execFileSync('sh', ['-c', 'command -v "$0"', command], { encoding: 'utf8' }).trim();
}

/** Why the guest cannot run here (a tool or the kernel package missing), or null when it can. */
export function guestUnavailable(): string | null {
  const missing = missingTools(...TOOLS);
  if (missing !== null) return missing;
  if (!isStatic(which('busybox'))) {
    noteSkip('the Linux SLIP guest: busybox is not the static one (Debian: busybox-static)');
    return 'needs a static busybox (Debian: busybox-static)';
  }
  if (kernelDeb() === null) {
    const why = `needs the Debian kernel package in .tmp/qemu (.ci/run fetches it: cd .tmp/qemu && apt-get download $(apt-cache depends ${KERNEL_PACKAGE} | awk '/Depends: linux-image/{print $2}'))`;
    noteSkip(`the Linux SLIP guest: ${why}`);
    return why;
  }
  return null;
}

/** `describe` for a suite that needs the guest: skipped with the reason when it cannot run. */
export function guestDescribe(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  const why = guestUnavailable();
  if (why === null) return describe(title, fn);
  return describe.skip(`${title} (skipped: ${why})`, fn);
}

// ---------------------------------------------------------------------------------------------
// Building: the kernel and an initramfs.

/** Modules /init loads, in order: SLIP and its compressor, and the virtio console. */
const MODULES = ['slhc', 'slip', 'virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'virtio_console'];
/** Where each module lives under lib/modules/<version>/kernel. */
const MODULE_DIRS: Record<string, string> = {
  slhc: 'drivers/net/slip', slip: 'drivers/net/slip', virtio_console: 'drivers/char',
  virtio_ring: 'drivers/virtio', virtio: 'drivers/virtio', virtio_pci_legacy_dev: 'drivers/virtio',
  virtio_pci_modern_dev: 'drivers/virtio', virtio_pci: 'drivers/virtio',
};

/** What /init prints on the console once the command channel is ready. */
const READY = 'slipstack-guest: ready';

/** The guest's /init: mount what the tools need, load the modules, then serve commands on hvc0. */
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /dev/pts
for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko; done
ip link set lo up
for i in $(seq 200); do [ -e /dev/hvc0 ] && break; sleep 0.05; done
# Commands arrive on hvc0 (raw, no echo: set while it stays open, as hvc resets it on close);
# sh reads them from a pipe, not a terminal, so it prints no prompt, and a foreground program
# (telnet) reads what follows from the same pipe.
exec setsid sh -c 'exec </dev/hvc0 >/dev/hvc0 2>&1; stty raw -echo; echo "${READY}" >/dev/ttyS1; cat | sh'
`;

interface CpioEntry {
  name: string;
  mode: number;
  data: Buffer;
}

/** A newc ("070701") cpio archive, as the kernel's initramfs unpacker reads it. */
function cpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (name: string, mode: number, data: Buffer): void => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = '070701' + fields.map((v) => v.toString(16).padStart(8, '0')).join('');
    const head = Buffer.from(header + name + '\0', 'latin1');
    parts.push(head, pad(head.length), data, pad(data.length));
  };
  for (const e of entries) add(e.name, e.mode, e.data);
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** The shared libraries a dynamic executable loads (from ldd), with the loader. */
function libraries(path: string): string[] {
  const out = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout ?? '';
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line);
    if (m !== null) libs.push(m[1]!);
  }
  return libs;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** The kernel version, e.g. 6.1.0-57-amd64. */
  version: string;
}

/** Extracts the kernel package (once) and writes the initramfs (once per content). */
export function buildGuest(): GuestImage {
  const deb = kernelDeb();
  if (deb === null) throw new Error('no kernel package in .tmp/qemu');
  const tree = join(GUEST_DIR, 'kernel-' + createHash('sha256').update(deb + statSync(deb).size).digest('hex').slice(0, 12));
  if (!existsSync(join(tree, 'done'))) {
    mkdirSync(tree, { recursive: true });
    execFileSync('dpkg-deb', ['-x', deb, tree]);
    writeFileSync(join(tree, 'done'), '');
  }
  const boot = readdirSync(join(tree, 'boot'));
  const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuz === undefined) throw new Error(`no vmlinuz in ${deb}`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  const module = (name: string): Buffer => {
    const moduleDir = join(tree, 'lib', 'modules', version, 'kernel', MODULE_DIRS[name]!);
    const plain = join(moduleDir, `${name}.ko`);
    if (existsSync(plain)) return readFileSync(plain);
    for (const [ext, tool] of [['.xz', 'xz'], ['.zst', 'zstd']] as const) {
      if (existsSync(plain + ext)) return execFileSync(tool, ['-dc', plain + ext], { maxBuffer: 64 << 20 });
    }
    throw new Error(`no ${name}.ko in ${moduleDir}`);
  };

  const busybox = which('busybox');
  const slattach = which('slattach');
  const files: [string, string][] = [['bin/busybox', busybox], ['sbin/slattach', slattach]];
  for (const lib of libraries(slattach)) files.push([lib.slice(1), lib]);
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>(['proc', 'sys', 'dev', 'tmp', 'lib/modules']);
  for (const [at] of files) for (let d = dirname(at); d !== '.'; d = dirname(d)) dirs.add(d);
  for (const d of [...dirs].sort()) entries.push({ name: d, mode: 0o040755, data: Buffer.alloc(0) });
  entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(INIT) });
  for (const [at, from] of files) entries.push({ name: at, mode: 0o100755, data: readFileSync(from) });
  for (const m of MODULES) entries.push({ name: `lib/modules/${m}.ko`, mode: 0o100644, data: module(m) });
  const archive = cpio(entries);
  const initrd = join(GUEST_DIR, `initramfs-${createHash('sha256').update(archive).digest('hex').slice(0, 12)}.cpio`);
  if (!existsSync(initrd)) writeFileSync(initrd, archive);
  return { kernel: join(tree, 'boot', vmlinuz), initrd, version };
}

// ---------------------------------------------------------------------------------------------
// Running.

export interface RunResult {
  /** What the command printed (stdout and stderr together), CR LF left as is. */
  out: string;
  status: number;
}

/** KVM when it can run guests here (the device exists and the CPU shows VT-x or AMD-V), else TCG. */
function kvmUsable(): boolean {
  try {
    if (!existsSync('/dev/kvm')) return false;
    return /\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** The booted guest: its command channel, and the host side of its serial line. */
export class LinuxGuest {
  readonly image: GuestImage;
  /** The pty the guest's ttyS0 is on: the firmware's --port. */
  linePath = '';
  /** 'kvm' or 'tcg'. */
  accel = '';
  /** Boot time, ms. */
  bootMs = 0;
  private qemu: ChildProcess | null = null;
  private sock: net.Socket | null = null;
  private out = '';
  private cursor = 0;
  private seq = 0;
  private readonly dir: string;
  private readonly waiters = new Set<() => void>();

  constructor(image: GuestImage, dir: string) {
    this.image = image;
    this.dir = dir;
  }

  /** The kernel console so far (boot messages, SLIP driver messages). */
  console(): string {
    try {
      return readFileSync(join(this.dir, 'console.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Boots the guest and waits until its shell answers. */
  async start(): Promise<void> {
    const started = Date.now();
    const accels = kvmUsable() ? ['kvm', 'tcg'] : ['tcg'];
    let lastError: Error | null = null;
    for (const accel of accels) {
      try {
        await this.boot(accel, accel === 'kvm' ? 20_000 : 90_000);
        this.accel = accel;
        this.bootMs = Date.now() - started;
        return;
      } catch (e) {
        lastError = e as Error;
        await this.stop();
      }
    }
    throw lastError ?? new Error('the guest did not boot');
  }

  private async boot(accel: string, timeoutMs: number): Promise<void> {
    const sockPath = join(this.dir, 'cmd.sock');
    const args = [
      '-accel', accel, '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-nic', 'none', '-no-reboot',
      '-kernel', this.image.kernel, '-initrd', this.image.initrd, '-append', 'console=ttyS1 panic=-1 quiet',
      '-serial', 'pty',
      '-serial', `file:${join(this.dir, 'console.log')}`,
      '-device', 'virtio-serial-pci', '-chardev', `socket,id=cmd,path=${sockPath},server=on,wait=off`, '-device', 'virtconsole,chardev=cmd',
    ];
    if (accel === 'kvm') args.push('-cpu', 'host');
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.qemu = qemu;
    // Should mocha itself exit without `stop()` (a crash, ^C), the guest goes with it.
    const onExit = (): void => {
      if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
    };
    process.once('exit', onExit);
    qemu.once('exit', () => process.off('exit', onExit));
    let qemuOut = '';
    const onData = (d: Buffer): void => {
      qemuOut += d.toString();
    };
    qemu.stdout!.on('data', onData);
    qemu.stderr!.on('data', onData);
    const deadline = Date.now() + timeoutMs;
    // QEMU names the pty of the first port ("label serial0") once it is up.
    for (;;) {
      const m = /char device redirected to (\/dev\/pts\/\d+) \(label serial0\)/.exec(qemuOut);
      if (m !== null && existsSync(sockPath)) {
        this.linePath = m[1]!;
        break;
      }
      if (qemu.exitCode !== null) throw new Error(`qemu exited: ${qemuOut}`);
      if (Date.now() > deadline) throw new Error(`qemu did not start: ${qemuOut}`);
      await sleep(50);
    }
    this.sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(sockPath, () => resolve(s));
      s.on('error', reject);
    });
    this.sock.setEncoding('latin1');
    this.sock.on('data', (d: string) => {
      this.out += d;
      for (const w of [...this.waiters]) w();
    });
    // Nothing is typed before init has made the channel raw (a cooked tty would echo it back
    // and hold it in its line buffer): init says so on the console.
    while (!this.console().includes(READY)) {
      if (qemu.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the guest did not come up in ${timeoutMs} ms (${accel})\nconsole:\n${this.console()}`);
      }
      await sleep(100);
    }
    await this.sh('echo up', Math.max(1_000, deadline - Date.now()));
  }

  /**
   * Octets sent down the command channel every 100 ms while waiting for output: under QEMU's TCG
   * the last chunk of input to a guest was seen to stay undelivered until more input followed,
   * so something harmless follows: an empty line for the shell; set to '' (nothing) or another
   * octet while a program that would take an empty line as input (telnet) is in the foreground.
   */
  keepalive = '\n';

  /** Resolves with the match once `re` matches the output after the cursor, and moves the cursor past it. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const kick = setInterval(() => {
        if (this.keepalive !== '') this.sock?.write(this.keepalive);
      }, 100);
      const check = (): void => {
        const m = re.exec(this.out.slice(this.cursor));
        if (m === null) return;
        this.cursor += m.index + m[0].length;
        done();
        resolve(m);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`guest: timed out after ${ms} ms waiting for ${re}; output since:\n${this.out.slice(this.cursor)}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(kick);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Output not yet taken by `waitFor`. */
  get unread(): string {
    return this.out.slice(this.cursor);
  }

  /** Sends raw text down the command channel (to the shell, or to a foreground program's stdin). */
  type(text: string): void {
    this.sock!.write(text);
  }

  /** Runs a shell command line in the guest; resolves with its output and exit status. */
  async run(command: string, ms = 60_000): Promise<RunResult> {
    const token = `@@${this.seq++}@@`;
    const from = this.out.length;
    this.cursor = from;
    // In a subshell: busybox runs some applets inside the shell process ("NOFORK"), and after one
    // of them the shell's own output can sit in a stdio buffer until more input arrives.
    this.type(`(${command})\necho "${token} $?"\n`);
    const m = await this.waitFor(new RegExp(`${token} (\\d+)\\n`), ms);
    return { out: this.out.slice(from, this.cursor - m[0].length), status: Number(m[1]) };
  }

  /** `run`, and throws unless the command exits 0. */
  async sh(command: string, ms = 60_000): Promise<string> {
    const r = await this.run(command, ms);
    if (r.status !== 0) throw new Error(`guest: \`${command}\` exited ${r.status}:\n${r.out}`);
    return r.out;
  }

  /**
   * Starts `command` in the foreground and returns at once; what is typed next goes to its stdin.
   * `finished()` then waits for it to exit.
   */
  begin(command: string): { finished(ms?: number): Promise<RunResult> } {
    const token = `@@${this.seq++}@@`;
    const from = this.out.length;
    this.cursor = from;
    this.type(`(${command}); echo "${token} $?"\n`);
    return {
      finished: async (ms = 30_000) => {
        const m = await this.waitFor(new RegExp(`${token} (\\d+)\\n`), ms);
        return { out: this.out.slice(from, this.cursor - m[0].length), status: Number(m[1]) };
      },
    };
  }

  /** Powers the guest off (kills QEMU). Safe to call twice. */
  async stop(): Promise<void> {
    this.sock?.destroy();
    this.sock = null;
    const q = this.qemu;
    this.qemu = null;
    if (q !== null && q.exitCode === null && q.signalCode === null) {
      const exited = new Promise((resolve) => q.on('exit', resolve));
      q.kill('SIGKILL');
      await exited;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

