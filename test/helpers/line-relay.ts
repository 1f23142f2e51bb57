/**
 * A flaky cable for the soak and fault tests: host connect's pty on one side, a fresh pty pair
 * of its own on the other (the firmware opens that one's slave), and every octet copied across
 * in this process, where a phase of loss and bit flips can be switched on and off while
 * traffic runs (the kernel's netem is not always there). Per octet, with the probabilities
 * given: dropped, or one of its bits flipped. Seeded (Xorshift32).
 */
import { SerialLink } from '../../src/drivers/serial-link.ts';
import { FdLink } from '../../src/drivers/fd-link.ts';
import { openPtyPair, type PtyHandles } from '../../src/drivers/pty.ts';
import { Xorshift32 } from '../../src/random.ts';

export interface RelayStats {
  octets: number;
  dropped: number;
  flipped: number;
  /** Octets the receiving side's ring had no room for (dropped, as an overrun UART would). */
  overruns: number;
}

/** Least octets between two bit flips in one direction: more than two whole SLIP frames (MTU 1006, every octet escaped). */
const FLIP_GAP = 4096;

export class LineRelay {
  readonly stats: RelayStats = { octets: 0, dropped: 0, flipped: 0, overruns: 0 };
  /** Per-octet probabilities (0..1) while a phase is on. */
  dropP = 0;
  flipP = 0;
  private readonly rng: Xorshift32;
  private host: SerialLink;
  private readonly pty: PtyHandles;
  private readonly device: FdLink;
  private readonly buf = new Uint8Array(16384);
  /**
   * Octets since the last flip, per direction (0: host to device, 1: back). Flips are kept at
   * least FLIP_GAP octets apart, so no frame carries two: the Internet checksum catches every
   * single-bit error, but two flips of the same bit position in opposite directions cancel in it
   * (one pair in 32 gets through), and at 3e-5 per octet such a pair arrived about once in a
   * few one-minute soaks: wrong data TCP cannot see, the checksum's limit, not the stack's.
   */
  private readonly sinceFlip = [FLIP_GAP, FLIP_GAP];

  private constructor(host: SerialLink, pty: PtyHandles, seed: number) {
    this.host = host;
    this.pty = pty;
    this.rng = new Xorshift32(seed || 1);
    this.device = new FdLink(pty.masterFd, { closeFd: false, name: 'relay pty master' });
    host.onActivity(() => this.pump());
    this.device.onActivity(() => this.pump());
  }

  /**
   * Joins the line to a new host side (host connect restarted with a fresh pty); the device side
   * is untouched, as a device's UART is when the host's program is killed.
   */
  async attachHost(hostPath: string): Promise<void> {
    const old = this.host;
    const host = await SerialLink.open(hostPath, { lock: false });
    this.host = host;
    host.onActivity(() => {
      if (this.host === host) this.pump();
    });
    await old.close().catch(() => {});
    this.pump();
  }

  /** Opens host connect's side (`hostPath`) and a new pty pair; the firmware opens `devicePath`. */
  static async open(hostPath: string, seed = 1): Promise<LineRelay> {
    const host = await SerialLink.open(hostPath, { lock: false });
    return new LineRelay(host, openPtyPair(), seed);
  }

  /** The path the firmware opens. */
  get devicePath(): string {
    return this.pty.slavePath;
  }

  /** Loss and bit flips on (per-octet probabilities) or off (0, 0). */
  faults(dropP: number, flipP: number): void {
    this.dropP = dropP;
    this.flipP = flipP;
  }

  async close(): Promise<void> {
    await this.device.close();
    await this.host.close();
    this.pty.close();
  }

  private pump(): void {
    this.move(this.host, this.device);
    this.move(this.device, this.host);
  }

  private move(from: SerialLink | FdLink, to: SerialLink | FdLink): void {
    const dir = from === this.host ? 0 : 1;
    for (;;) {
      const n = from.read(0, this.buf, 0, this.buf.length);
      if (n <= 0) return;
      let len = 0;
      for (let i = 0; i < n; i++) {
        let b = this.buf[i]!;
        if (this.dropP > 0 && this.rng.next() / 4294967296 < this.dropP) {
          this.stats.dropped++;
          continue;
        }
        this.sinceFlip[dir]!++;
        if (this.flipP > 0 && this.sinceFlip[dir]! >= FLIP_GAP && this.rng.next() / 4294967296 < this.flipP) {
          b ^= 1 << this.rng.below(8);
          this.stats.flipped++;
          this.sinceFlip[dir] = 0;
        }
        this.buf[len++] = b;
      }
      this.stats.octets += n;
      const w = to.write(0, this.buf, 0, len);
      if (w < len) this.stats.overruns += len - w;
    }
  }
}
