/**
 * TunDevice: a Linux TUN interface (layer 3, IFF_TUN | IFF_NO_PI), the host's end of the
 * host connect (SLIP <-> TUN).
 *
 * Open /dev/net/tun, ioctl(TUNSETIFF) with a 40-octet `struct ifreq` (16-octet name, short
 * flags); each read(2) then returns exactly one IP packet and each write(2) injects one.
 * Readiness comes from `FdPoll` (epoll on Node's loop, no thread), reads and writes are
 * non-blocking libc calls. Only IPv4 passes: everything else (a TUN interface sends IPv6
 * router solicitations as soon as it is up) is dropped and counted in `droppedNonIpv4`.
 *
 * Two ways to receive: `onPacket(cb)` pushes each packet as it is read (the buffer is reused:
 * copy out before returning), or, without a callback, `onActivity` fires and `receive()` pulls
 * one packet at a time. `setReceiving(false)` stops reading, so the kernel queues (then drops)
 * instead of us: back pressure when the serial line is full.
 *
 * `configureTun` runs iproute2 (`ip addr add LOCAL peer PEER dev NAME`, `ip link set NAME up mtu
 * M`). Everything works inside a network namespace when the process runs in it
 * (`ip netns exec NS node …`).
 */
import { execFile } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import type { LinkClosed } from './link.ts';
import { ActivityListeners, ClosedSignal } from './link.ts';
import { FdPoll } from './fd-poll.ts';
import { EAGAIN, EINTR, libc } from './libc.ts';
import { NEVER } from '../time.ts';

/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
/** sizeof(struct ifreq) on Linux; IFNAMSIZ is 16 (15 characters and a NUL). */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const IFREQ_FLAGS = 16;

/** Packets read per readiness callback at most, so one busy interface cannot starve the loop. */
const READ_BURST = 64;

export type TunErrorCode = 'ENOENT' | 'EPERM' | 'EBUSY' | 'EINVAL' | 'ENOIP' | 'EIO';

export class TunError extends Error {
  readonly code: TunErrorCode;
  constructor(code: TunErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TunError';
    this.code = code;
  }
}

export interface TunStats {
  /** IPv4 packets delivered (pushed or pulled). */
  rxPackets: number;
  rxBytes: number;
  /** Packets that were not IPv4 (IPv6 router solicitations and the like), dropped. */
  droppedNonIpv4: number;
  txPackets: number;
  txBytes: number;
  /** Writes the kernel refused (queue full or a malformed packet). */
  txErrors: number;
}

export interface TunOptions {
  /** Largest packet read, in octets. Defaults to 65535 (any MTU). */
  maxPacket?: number;
}

/** Defaults of TunOptions. */
export const DEFAULT_TUN_OPTIONS: Readonly<Required<TunOptions>> = Object.freeze({
  maxPacket: 65535,
});

/** Receives one IPv4 packet: `buf[off..off+len)`, valid only during the call. */
export type PacketListener = (buf: Uint8Array, off: number, len: number) => void;

export class TunDevice {
  /** The interface name the kernel gave (a template like `slip%d` is filled in). */
  readonly name: string;
  readonly fd: number;
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, droppedNonIpv4: 0, txPackets: 0, txBytes: 0, txErrors: 0 };
  readonly closed: Promise<LinkClosed>;
  private readonly signal = new ClosedSignal();
  private readonly activity = new ActivityListeners();
  private readonly scratch: Uint8Array;
  private readonly poller: FdPoll;
  private listener: PacketListener | null = null;
  private receiving = true;
  /** Pull mode: the fd reported readable and `receive` has not yet hit EAGAIN. */
  private pending = false;
  private open = true;

  private constructor(fd: number, name: string, maxPacket: number) {
    this.fd = fd;
    this.name = name;
    this.scratch = new Uint8Array(maxPacket);
    this.closed = this.signal.promise;
    this.poller = new FdPoll(fd, (status, readable) => this.onReady(status, readable));
    this.poller.set(true, false);
  }

  /**
   * Creates (or attaches to) the TUN interface `name` (default `slip%d`: the kernel picks the
   * number). The interface exists, down and without an address, until `close()` or exit.
   * Throws TunError: no /dev/net/tun, not root (CAP_NET_ADMIN), name in use or invalid.
   */
  static open(name = 'slip%d', options: TunOptions = {}): TunDevice {
    const nameBytes = Buffer.from(name, 'latin1');
    if (nameBytes.length === 0 || nameBytes.length >= IFNAMSIZ) {
      throw new TunError('EINVAL', `invalid interface name "${name}": 1 to ${IFNAMSIZ - 1} characters`);
    }
    let fd: number;
    try {
      fd = openSync('/dev/net/tun', fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    } catch (error) {
      throw tunOpenError(error as NodeJS.ErrnoException);
    }
    const c = libc();
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(nameBytes, 0);
    const flags = IFF_TUN | IFF_NO_PI;
    ifr[IFREQ_FLAGS] = flags & 0xff;
    ifr[IFREQ_FLAGS + 1] = flags >>> 8;
    if (c.ioctlPtr(fd, TUNSETIFF, ifr) < 0) {
      const errno = c.errno();
      closeSync(fd);
      if (errno === 1 /* EPERM */) {
        throw new TunError('EPERM', 'TUN needs root (CAP_NET_ADMIN): run with sudo');
      }
      if (errno === 16 /* EBUSY */) {
        throw new TunError('EBUSY', `TUN interface ${name} is in use by another program`);
      }
      throw new TunError('EIO', `TUNSETIFF ${name}: ${c.strerror(errno)}`);
    }
    const end = ifr.indexOf(0);
    const actual = Buffer.from(ifr.buffer, 0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end).toString('latin1');
    return new TunDevice(fd, actual, options.maxPacket ?? DEFAULT_TUN_OPTIONS.maxPacket);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Push mode: every IPv4 packet read is passed to `listener` (replaces any previous one). */
  onPacket(listener: PacketListener): void {
    this.listener = listener;
  }

  /** Called when packets arrive (pull mode) or after a push burst; wire it to `HostLoop.wake`. */
  onActivity(listener: () => void): void {
    this.activity.add(listener);
  }

  /** Stops (false) or resumes (true) reading from the kernel. */
  setReceiving(on: boolean): void {
    this.receiving = on;
    if (this.open) this.poller.set(on && !this.pending, false);
  }

  /**
   * Pull mode: copies the next IPv4 packet into `dst[off..]` and returns its length, or 0 when
   * none is waiting. A packet longer than `len` is truncated to `len` (size `dst` for the MTU).
   */
  receive(dst: Uint8Array, off: number, len: number): number {
    if (!this.open) return 0;
    const c = libc();
    for (;;) {
      const n = c.read(this.fd, this.scratch, this.scratch.length);
      if (n < 0) {
        const errno = c.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) {
          this.pending = false;
          if (this.receiving) this.poller.set(true, false);
          return 0;
        }
        this.shutdown({ disconnected: true, reason: `TUN ${this.name}: read failed: ${c.strerror(errno)}` });
        return 0;
      }
      if (n === 0 || this.scratch[0]! >>> 4 !== 4) {
        this.stats.droppedNonIpv4++;
        continue;
      }
      const take = n < len ? n : len;
      dst.set(take === this.scratch.length ? this.scratch : this.scratch.subarray(0, take), off);
      this.stats.rxPackets++;
      this.stats.rxBytes += n;
      return take;
    }
  }

  /** Pull mode: `now` while a packet may be waiting, else NEVER. */
  pollAt(now: number): number {
    return this.pending ? now : NEVER;
  }

  /** Injects one IP packet `buf[off..off+len)` into the kernel. Returns false if it refused (counted). */
  write(buf: Uint8Array, off: number, len: number): boolean {
    if (!this.open) return false;
    const c = libc();
    const view = off === 0 && len === buf.length ? buf : buf.subarray(off, off + len);
    for (;;) {
      const n = c.write(this.fd, view, len);
      if (n === len) {
        this.stats.txPackets++;
        this.stats.txBytes += len;
        return true;
      }
      if (n < 0 && c.errno() === EINTR) continue;
      this.stats.txErrors++;
      return false;
    }
  }

  /** Closes the fd; the interface disappears (unless made persistent elsewhere). */
  close(): void {
    this.shutdown({ disconnected: false, reason: `TUN ${this.name} closed` });
  }

  private onReady(status: number, readable: boolean): void {
    if (!this.open) return;
    if (status < 0) {
      this.shutdown({ disconnected: true, reason: `TUN ${this.name}: poll error ${status}` });
      return;
    }
    if (!readable) return;
    if (this.listener === null) {
      // Pull mode: stop polling until `receive` drains to EAGAIN (the poll is level-triggered).
      this.pending = true;
      this.poller.set(false, false);
      this.activity.notify();
      return;
    }
    const c = libc();
    for (let i = 0; i < READ_BURST && this.open && this.receiving && this.listener !== null; i++) {
      const n = c.read(this.fd, this.scratch, this.scratch.length);
      if (n < 0) {
        const errno = c.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        this.shutdown({ disconnected: true, reason: `TUN ${this.name}: read failed: ${c.strerror(errno)}` });
        return;
      }
      if (n === 0 || this.scratch[0]! >>> 4 !== 4) {
        this.stats.droppedNonIpv4++;
        continue;
      }
      this.stats.rxPackets++;
      this.stats.rxBytes += n;
      this.listener(this.scratch, 0, n);
    }
    this.activity.notify();
  }

  private shutdown(why: LinkClosed): void {
    if (!this.open) return;
    this.open = false;
    this.pending = false;
    this.poller.close();
    closeSync(this.fd);
    this.signal.resolve(why);
    this.activity.notify();
  }
}

function tunOpenError(error: NodeJS.ErrnoException): TunError {
  switch (error.code) {
    case 'ENOENT':
    case 'ENODEV':
    case 'ENXIO':
      return new TunError('ENOENT', 'no /dev/net/tun: load the tun module (sudo modprobe tun)', error);
    case 'EACCES':
    case 'EPERM':
      return new TunError('EPERM', 'TUN needs root (CAP_NET_ADMIN): run with sudo', error);
    default:
      return new TunError('EIO', `cannot open /dev/net/tun: ${error.message}`, error);
  }
}

export interface TunAddressing {
  /** This host's address on the link, e.g. 192.0.2.1. */
  local: string;
  /** The device's address (the point-to-point peer), e.g. 192.0.2.2. */
  peer: string;
  /** Interface MTU in octets. Defaults to 1500. */
  mtu?: number;
}

/** Defaults of TunAddressing's optional fields. */
export const DEFAULT_TUN_ADDRESSING: Readonly<Required<Pick<TunAddressing, 'mtu'>>> = Object.freeze({
  mtu: 1500,
});

/**
 * Gives the interface its point-to-point address and brings it up:
 * `ip addr add LOCAL peer PEER dev NAME` then `ip link set NAME up mtu M`.
 * Rejects with TunError `ENOIP` when iproute2 is missing, `EIO` with ip's own message otherwise.
 */
export async function configureTun(name: string, addressing: TunAddressing): Promise<void> {
  await runIp(['addr', 'add', addressing.local, 'peer', addressing.peer, 'dev', name]);
  await runIp(['link', 'set', name, 'up', 'mtu', String(addressing.mtu ?? DEFAULT_TUN_ADDRESSING.mtu)]);
}

/** Runs `ip ARGS…`; resolves on exit 0. */
export function runIp(args: readonly string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new TunError('ENOIP', "the 'ip' command was not found: install iproute2 (sudo apt-get install iproute2)", error));
        return;
      }
      const detail = String(stderr).trim() || error.message;
      reject(new TunError('EIO', `ip ${args.join(' ')}: ${detail}`, error));
    });
  });
}
