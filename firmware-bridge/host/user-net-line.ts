/**
 * The serial line for the userspace host side on any OS: on Linux SerialLink (reads the fd
 * through libc: no spinning on a hung-up tty, detects an unplugged adapter), elsewhere
 * SerialStreamLink (serialport's own stream: macOS, Windows). SerialLink is imported only when
 * used, so on other OSes nothing Linux-only is loaded.
 */
import type { DriverLink } from '../../src/drivers/link.ts';
import { SerialStreamError, SerialStreamLink } from '../../src/drivers/serial-stream-link.ts';
import { SLIP_END } from '../../src/phy/slip.ts';

export interface UserNetLineOptions {
  baud: number;
  rtscts: boolean;
  /** Force serialport's stream even on Linux (tests of the portable path). Defaults to false. */
  portable?: boolean;
}

/** Opens `port`; rejects with an Error whose message is one line saying why. */
export async function openUserNetLine(port: string, options: UserNetLineOptions): Promise<DriverLink> {
  if (process.platform === 'linux' && options.portable !== true) {
    const { SerialLink } = await import('../../src/drivers/serial-link.ts');
    return SerialLink.open(port, { baud: options.baud, rtscts: options.rtscts, wakeOn: SLIP_END });
  }
  try {
    return await SerialStreamLink.open(port, { baud: options.baud, rtscts: options.rtscts });
  } catch (e) {
    if (e instanceof SerialStreamError) throw new Error(e.message);
    throw e;
  }
}
