/**
 * The few libc calls the pty and TUN drivers need, bound once through koffi (no compiler, no
 * addon of our own). Loaded lazily on first use, so importing a driver on a machine without
 * glibc fails only when that driver is opened.
 *
 * Every binding returns the raw C result; on -1 the caller reads `errno()`. Buffers passed as
 * `void *` are handed to C by address (koffi does not copy TypedArray memory for sync calls).
 * Linux x86-64/arm64 constants only: this is the host side of a Linux peer.
 */
import koffi from 'koffi';
import type { KoffiFunc } from 'koffi';

/** open(2) flags (Linux, generic and x86). */
export const O_RDWR = 0x2;
export const O_NOCTTY = 0x100;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;

/** fcntl(2) commands. */
export const F_GETFL = 3;
export const F_SETFL = 4;

/** poll(2) event bits. */
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

/** errno values we branch on. */
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;

/** timerfd_create(2): the monotonic clock, and its flags (the same bits as O_NONBLOCK and O_CLOEXEC). */
export const CLOCK_MONOTONIC = 1;
export const TFD_NONBLOCK = O_NONBLOCK;
export const TFD_CLOEXEC = O_CLOEXEC;

/** Size of a `struct itimerspec` (two `struct timespec` of two 64-bit fields) in octets. */
export const ITIMERSPEC_SIZE = 32;

/** tcsetattr(3) action: apply now. */
export const TCSANOW = 0;

/** Size of a `struct pollfd` (int fd; short events; short revents) in octets. */
export const POLLFD_SIZE = 8;

export interface Libc {
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  close(fd: number): number;
  /** poll(2); `fds` is an array of `struct pollfd`. Also callable as `poll.async(…, cb)` on the libuv threadpool. */
  poll: KoffiFunc<(fds: Uint8Array, nfds: number, timeoutMs: number) => number>;
  pipe2(fds: Int32Array, flags: number): number;
  fcntlInt(fd: number, cmd: number, arg: number): number;
  ioctlPtr(fd: number, request: number, arg: Uint8Array): number;
  posix_openpt(flags: number): number;
  grantpt(fd: number): number;
  unlockpt(fd: number): number;
  ptsname_r(fd: number, buf: Uint8Array, len: number): number;
  tcgetattr(fd: number, termios: Uint8Array): number;
  tcsetattr(fd: number, action: number, termios: Uint8Array): number;
  cfmakeraw(termios: Uint8Array): void;
  timerfd_create(clockid: number, flags: number): number;
  /** `newValue` is a `struct itimerspec` (ITIMERSPEC_SIZE octets); the old value is not asked for. */
  timerfd_settime(fd: number, flags: number, newValue: Int32Array, oldValue: null): number;
  strerror(errnum: number): string;
  errno(): number;
}

let bound: Libc | null = null;

/** The libc bindings, loaded on first call. Throws if libc.so.6 cannot be loaded. */
export function libc(): Libc {
  if (bound !== null) return bound;
  const lib = koffi.load('libc.so.6');
  const fcntl = lib.func('int fcntl(int fd, int cmd, ...)');
  const ioctl = lib.func('int ioctl(int fd, unsigned long request, ...)');
  bound = {
    read: lib.func('long read(int fd, void *buf, size_t count)'),
    write: lib.func('long write(int fd, const void *buf, size_t count)'),
    close: lib.func('int close(int fd)'),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)') as Libc['poll'],
    pipe2: lib.func('int pipe2(int *fds, int flags)'),
    // fcntl and ioctl are variadic: the variadic tail is typed at each call.
    fcntlInt: (fd, cmd, arg) => fcntl(fd, cmd, 'int', arg) as number,
    ioctlPtr: (fd, request, arg) => ioctl(fd, request, 'void *', arg) as number,
    posix_openpt: lib.func('int posix_openpt(int flags)'),
    grantpt: lib.func('int grantpt(int fd)'),
    unlockpt: lib.func('int unlockpt(int fd)'),
    ptsname_r: lib.func('int ptsname_r(int fd, void *buf, size_t buflen)'),
    tcgetattr: lib.func('int tcgetattr(int fd, void *termios)'),
    tcsetattr: lib.func('int tcsetattr(int fd, int action, const void *termios)'),
    cfmakeraw: lib.func('void cfmakeraw(void *termios)'),
    timerfd_create: lib.func('int timerfd_create(int clockid, int flags)'),
    timerfd_settime: lib.func('int timerfd_settime(int fd, int flags, const void *new_value, void *old_value)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    errno: () => koffi.errno(),
  };
  return bound;
}

/** An Error for a failed libc call: `"<what>: <strerror> (errno N)"`, with `.code` = the errno name. */
export class SystemCallError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(what: string, errno: number) {
    const c = libc();
    super(`${what}: ${c.strerror(errno)} (errno ${errno})`);
    this.name = 'SystemCallError';
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

function errnoName(errno: number): string {
  const table = koffi.os.errno;
  for (const name in table) if (table[name] === errno) return name;
  return `E${errno}`;
}

/** Sets O_NONBLOCK on `fd` (and keeps its other status flags). Throws SystemCallError. */
export function setNonBlocking(fd: number): void {
  const c = libc();
  const flags = c.fcntlInt(fd, F_GETFL, 0);
  if (flags < 0 || c.fcntlInt(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw new SystemCallError(`fcntl(${fd}, O_NONBLOCK)`, c.errno());
  }
}
