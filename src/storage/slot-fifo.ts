/**
 * SlotFifo: a fixed-capacity FIFO of pool slot indices (the frame queues of devices and
 * wrappers: decoded frames waiting for `receive()`, frames waiting to be encoded, frames
 * released by the fault injector).
 *
 * The indices live in one Int32Array sized at construction, as a ring; nothing allocates after
 * that. A full FIFO refuses (`push` returns false) and an empty one answers -1, the pool's own
 * "no slot", so callers count a drop instead of catching anything. The FIFO never frees what it
 * holds: whoever shifts an index owns that slot (`close()` of a device drains it into the pool).
 */

export class SlotFifo {
  /** Most indices held at once. */
  readonly capacity: number;
  private readonly slots: Int32Array;
  /** Position in `slots` of the oldest index. */
  private head = 0;
  private count = 0;

  /** @param capacity indices held at once, an integer >= 1. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`SlotFifo: capacity must be an integer >= 1, got ${capacity}`);
    this.capacity = capacity;
    this.slots = new Int32Array(capacity);
  }

  /** Indices held now. */
  get length(): number {
    return this.count;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  isFull(): boolean {
    return this.count === this.capacity;
  }

  /** Appends `slot` at the tail; false (and nothing changes) when full. */
  push(slot: number): boolean {
    if (this.count === this.capacity) return false;
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.slots[tail] = slot;
    this.count++;
    return true;
  }

  /** Removes and returns the oldest index (the caller now owns that slot), or -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const slot = this.slots[this.head]!;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return slot;
  }

  /** The oldest index without removing it, or -1 when empty. */
  peek(): number {
    return this.count === 0 ? -1 : this.slots[this.head]!;
  }

  /** Forgets every index (their slots are not freed: drain with `shift` for that). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
