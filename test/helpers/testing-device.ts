/**
 * TestingDevice (smoltcp `TestingDevice`): a Device whose input the test writes frame by frame
 * and whose output the test reads back as copies. Slots come from a watched test pool.
 */
import { TxPriority, type Device, type DeviceCapabilities } from '../../src/phy/device.ts';
import type { PacketPool } from '../../src/storage/packet-pool.ts';
import { NEVER } from '../../src/time.ts';

export class TestingDevice implements Device {
  readonly capabilities: DeviceCapabilities;
  readonly pool: PacketPool;
  /** Frames waiting to be received: slot indices. */
  private readonly rxQueue: number[] = [];
  /** Copies of every transmitted frame, oldest first. */
  readonly sent: Uint8Array[] = [];
  /** The TxPriority each frame in `sent` was transmitted with. */
  readonly sentPriority: TxPriority[] = [];
  /** Frames the test tried to inject when the pool was empty. */
  injectFailures = 0;

  constructor(pool: PacketPool, checksum = true) {
    this.pool = pool;
    this.capabilities = { mtu: pool.mtu, checksum };
  }

  /** Queues a frame for the stack to receive (truncated to the MTU). Returns false if the pool is empty. */
  inject(frame: Uint8Array): boolean {
    const slot = this.pool.alloc();
    if (slot < 0) {
      this.injectFailures++;
      return false;
    }
    const n = Math.min(frame.length, this.pool.mtu);
    this.pool.bytes.set(frame.subarray(0, n), this.pool.start[slot]!);
    this.pool.len[slot] = n;
    this.rxQueue.push(slot);
    return true;
  }

  receive(_now: number): number {
    return this.rxQueue.shift() ?? -1;
  }

  transmit(_now: number, slot: number, priority: TxPriority = TxPriority.Data): void {
    const start = this.pool.start[slot]!;
    this.sent.push(this.pool.bytes.slice(start, start + this.pool.len[slot]!));
    this.sentPriority.push(priority);
    this.pool.free(slot);
  }

  canTransmit(_now: number): boolean {
    return true;
  }

  pollAt(now: number): number {
    return this.rxQueue.length > 0 ? now : NEVER;
  }

  /** Takes and returns everything transmitted so far. */
  drain(): Uint8Array[] {
    this.sentPriority.length = 0;
    return this.sent.splice(0, this.sent.length);
  }
}
