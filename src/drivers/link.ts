/**
 * What every driver in this folder adds to the HAL: a way to wake the host loop when bytes or
 * packets arrive (or a full transmit buffer drains), a `closed` promise that says why a link
 * went away, and octet counters.
 *
 * The stack itself never sees these; `firmware-bridge/` wires `onActivity` to `HostLoop.wake`,
 * and a serial port whose `closed` resolves with `disconnected: true` is waited for and opened
 * again (reopening-serial-link.ts).
 */
import type { ByteLink } from '../phy/device.ts';

/** Why a link stopped. `closed` promises resolve (never reject) with one of these. */
export interface LinkClosed {
  /** True when the other end or the hardware went away (USB unplugged, pty peer closed, I/O error); false after our own `close()`. */
  readonly disconnected: boolean;
  /** One line for a log or an exit message. */
  readonly reason: string;
}

/** Octet counters of one driver link. */
export interface DriverLinkStats {
  /** Octets received from the device into the RX ring. */
  rxBytes: number;
  /** Octets handed to the OS for transmission. */
  txBytes: number;
  /** Received octets dropped because the RX ring was full (a UART FIFO overrun). */
  rxOverflow: number;
  /** `write` calls that accepted fewer octets than offered (TX ring full). */
  writeShort: number;
}

/** A ByteLink backed by the OS: it can wake a loop, be closed, and report why it closed. */
export interface DriverLink extends ByteLink {
  readonly stats: DriverLinkStats;
  /** Resolves once, when the link stops, with the reason. */
  readonly closed: Promise<LinkClosed>;
  /** True until the link is closed or lost. */
  readonly isOpen: boolean;
  /** Calls `listener` (no arguments, synchronously from an I/O callback) when bytes arrive or a refused write would now be accepted. */
  onActivity(listener: () => void): void;
  /** Stops the link and releases the OS resource; `closed` resolves with `disconnected: false`. */
  close(): Promise<void>;
}

/** A small fan-out for `onActivity` listeners. */
export class ActivityListeners {
  private readonly listeners: Array<() => void> = [];

  add(listener: () => void): void {
    this.listeners.push(listener);
  }

  notify(): void {
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i]!();
  }
}

/** A promise that is resolved from outside, once. */
export class ClosedSignal {
  readonly promise: Promise<LinkClosed>;
  private resolveFn: ((value: LinkClosed) => void) | null = null;
  private settled = false;

  constructor() {
    this.promise = new Promise<LinkClosed>((resolve) => {
      this.resolveFn = resolve;
    });
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** Settles with `value`; later calls are ignored. Returns true if this call settled it. */
  resolve(value: LinkClosed): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.resolveFn!(value);
    return true;
  }
}
