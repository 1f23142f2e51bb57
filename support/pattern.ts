/**
 * Test data for test/, hw/ and bench/: deterministic pseudo-random octets from a seed, and the
 * SHA-256 that transfers are checked with. One definition, so a seed names the same octets
 * everywhere (harness code: src/ and firmware-bridge/ never import it).
 */
import { createHash } from 'node:crypto';
import { Xorshift32 } from '../src/random.ts';

/**
 * `len` octets: the low octets of Xorshift32 (src/random.ts) seeded with `seed`, one value per
 * octet. Seeds map as the generator maps them (0 and 1 give the same octets).
 */
export function randomBytes(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  new Xorshift32(seed).fill(out);
  return out;
}

/** SHA-256 of `bytes`, 64 lowercase hex digits. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
