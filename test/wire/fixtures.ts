/**
 * Shared by the header tests: the two addresses of the fixtures, and helpers to lay a fixture
 * into a 0xa5-filled buffer (so stray writes show) and read octets back.
 */

/** 192.0.2.1 and 192.0.2.2 as int32, as the core keeps addresses (support/addresses.ts), named for the header tests. */
export { HOST_A as HOST, HOST_B as DEVICE } from '../../support/addresses.ts';

/** The fixture at `off` in a buffer of 0xa5 with `tail` spare octets after it. */
export function place(fixture: readonly number[], off = 0, tail = 0): Uint8Array {
  const b = new Uint8Array(off + fixture.length + tail).fill(0xa5);
  b.set(fixture, off);
  return b;
}

/** `len` octets of `b` from `off`, as a plain array for deep equality. */
export function octets(b: Uint8Array, off: number, len: number): number[] {
  return Array.from(b.slice(off, off + len));
}
