/**
 * A pseudo-terminal pair: the virtual serial line of `npm start` (firmware on the master, the
 * host connect on the slave, no hardware).
 *
 * `openPtyPair()` calls libc through koffi: posix_openpt(O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC),
 * grantpt, unlockpt, ptsname_r; then opens the slave once (O_NOCTTY) and makes it raw with
 * cfmakeraw + tcsetattr. Raw matters: a fresh pty echoes, maps CR/LF and eats ^C/^S/^Q, any of
 * which corrupts SLIP. Holding the slave open also keeps the master from reading EIO (hangup)
 * while nobody else has the slave open, so a host connect can come and go.
 *
 * `PtyPair.open()` adds the two ByteLinks: `master` is an FdLink; `slave` is an FdLink on the
 * held slave fd, or a SerialLink that opens the slave path with serialport (which also sets raw
 * mode, and flushes on open: bytes the master sent before that are lost).
 */
import { openSync, realpathSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import type { DriverLink } from './link.ts';
import { DEFAULT_FD_LINK_OPTIONS, FdLink } from './fd-link.ts';
import { DEFAULT_SERIAL_LINK_OPTIONS, SerialLink } from './serial-link.ts';
import { libc, O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDWR, SystemCallError, TCSANOW } from './libc.ts';

/** The raw ends of a pty pair. */
export interface PtyHandles {
  /** The master fd (non-blocking, close-on-exec). */
  readonly masterFd: number;
  /** The slave fd this process holds open (raw, non-blocking, no controlling tty). */
  readonly slaveFd: number;
  /** The slave's path, e.g. /dev/pts/3: what a serial program opens. */
  readonly slavePath: string;
  /** Closes both fds (the master's peer sees a hangup). Safe to call twice. */
  close(): void;
}

export interface PtyOptions {
  /** Make the slave raw (cfmakeraw). Defaults to true. */
  raw?: boolean;
  /**
   * Open the master through this node (a char device 5,2 of the caller's own, made with mknod)
   * instead of /dev/ptmx. A program handed the master as its terminal that changes its tty's
   * mode (slirp does `fchmod(0, 0600)`) then changes that node, not /dev/ptmx for every user.
   */
  ptmxPath?: string;
}

/** Defaults of PtyOptions. */
export const DEFAULT_PTY_OPTIONS: Readonly<Required<PtyOptions>> = Object.freeze({
  raw: true,
  ptmxPath: '',
});

/** `struct termios` is 60 octets on Linux; a larger buffer is harmless. */
const TERMIOS_SIZE = 128;

/** Opens a new pty pair. Throws SystemCallError (e.g. ENOENT without /dev/ptmx). */
export function openPtyPair(options: PtyOptions = {}): PtyHandles {
  const c = libc();
  // Node adds O_CLOEXEC itself to openSync.
  const masterFd = options.ptmxPath ? openSync(options.ptmxPath, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK)
    : c.posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (masterFd < 0) throw new SystemCallError('posix_openpt', c.errno());
  let slaveFd = -1;
  try {
    if (c.grantpt(masterFd) < 0) throw new SystemCallError('grantpt', c.errno());
    if (c.unlockpt(masterFd) < 0) throw new SystemCallError('unlockpt', c.errno());
    const name = new Uint8Array(128);
    const err = c.ptsname_r(masterFd, name, name.length);
    if (err !== 0) throw new SystemCallError('ptsname_r', err);
    const slavePath = Buffer.from(name.buffer, 0, name.indexOf(0)).toString('latin1');
    // Node adds O_CLOEXEC itself.
    slaveFd = openSync(slavePath, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
    if (options.raw ?? DEFAULT_PTY_OPTIONS.raw) makeRaw(slaveFd);
    let closed = false;
    const fdSlave = slaveFd;
    return {
      masterFd,
      slaveFd,
      slavePath,
      close(): void {
        if (closed) return;
        closed = true;
        c.close(fdSlave);
        c.close(masterFd);
      },
    };
  } catch (error) {
    if (slaveFd >= 0) c.close(slaveFd);
    c.close(masterFd);
    throw error;
  }
}

/** cfmakeraw + tcsetattr(TCSANOW) on a tty fd: 8 bits, no echo, no CR/LF mapping, no signals, no XON/XOFF. */
export function makeRaw(fd: number): void {
  const c = libc();
  const termios = new Uint8Array(TERMIOS_SIZE);
  if (c.tcgetattr(fd, termios) < 0) throw new SystemCallError(`tcgetattr(${fd})`, c.errno());
  c.cfmakeraw(termios);
  if (c.tcsetattr(fd, TCSANOW, termios) < 0) throw new SystemCallError(`tcsetattr(${fd})`, c.errno());
}

export interface PtyPairOptions extends PtyOptions {
  /** How to open the slave end: `'fd'` (an FdLink on the held fd, default) or `'serial'` (a SerialLink on the path, as a real port is opened). */
  slave?: 'fd' | 'serial';
  /** Baud for the serial slave (a pty ignores it). Defaults to 115200. */
  baud?: number;
  /** RX ring size per end in octets. Defaults to 65536. */
  rxCapacity?: number;
  /** TX ring size per end in octets. Defaults to 16384. */
  txCapacity?: number;
}

/** Defaults of PtyPairOptions: a raw slave on an FdLink, FdLink's rings, SerialLink's baud. */
export const DEFAULT_PTY_PAIR_OPTIONS: Readonly<Required<PtyPairOptions>> = Object.freeze({
  ...DEFAULT_PTY_OPTIONS,
  slave: 'fd',
  baud: DEFAULT_SERIAL_LINK_OPTIONS.baud,
  rxCapacity: DEFAULT_FD_LINK_OPTIONS.rxCapacity,
  txCapacity: DEFAULT_FD_LINK_OPTIONS.txCapacity,
});

/** A pty pair with a ByteLink on each end. */
export class PtyPair {
  readonly handles: PtyHandles;
  /** The master end (the firmware's serial line in `npm start`). */
  readonly master: FdLink;
  /** The slave end (the host connect's serial port). */
  readonly slave: DriverLink;
  readonly slavePath: string;

  private constructor(handles: PtyHandles, master: FdLink, slave: DriverLink) {
    this.handles = handles;
    this.master = master;
    this.slave = slave;
    this.slavePath = handles.slavePath;
  }

  static async open(options: PtyPairOptions = {}): Promise<PtyPair> {
    const handles = openPtyPair(options);
    const rings = {
      rxCapacity: options.rxCapacity ?? DEFAULT_PTY_PAIR_OPTIONS.rxCapacity,
      txCapacity: options.txCapacity ?? DEFAULT_PTY_PAIR_OPTIONS.txCapacity,
    };
    try {
      // The handles own the fds; the links must not close them twice.
      const master = new FdLink(handles.masterFd, { ...rings, closeFd: false, name: 'pty master' });
      let slave: DriverLink;
      if ((options.slave ?? DEFAULT_PTY_PAIR_OPTIONS.slave) === 'serial') {
        try {
          slave = await SerialLink.open(handles.slavePath, { ...rings, baud: options.baud ?? DEFAULT_PTY_PAIR_OPTIONS.baud });
        } catch (error) {
          await master.close();
          throw error;
        }
      } else {
        slave = new FdLink(handles.slaveFd, { ...rings, closeFd: false, name: `pty slave ${handles.slavePath}` });
      }
      return new PtyPair(handles, master, slave);
    } catch (error) {
      handles.close();
      throw error;
    }
  }

  /** Closes both links and both fds. */
  async close(): Promise<void> {
    await this.slave.close();
    await this.master.close();
    this.handles.close();
  }
}

/** A pty slave's own name, /dev/pts/N (not a symlink to one). */
export const PTY_SLAVE_NAME = /^\/dev\/pts\/\d+$/;

/**
 * True if `path` (a symlink is followed) is a pty's slave, /dev/pts/N: a "serial port" with no
 * baud of its own, which moves data as fast as its two ends do.
 */
export function isPtyPath(path: string): boolean {
  try {
    return PTY_SLAVE_NAME.test(realpathSync(path));
  } catch {
    return false;
  }
}
