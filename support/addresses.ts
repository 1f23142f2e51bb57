/**
 * The two addresses of the serial link in tests and benchmarks (TEST-NET-1, RFC 5737; tests
 * that give them to a kernel do it inside a network namespace of their own), as int32 as the core keeps them: 192.0.2.1 is the host or peer
 * end, 192.0.2.2 the device. Harness code: the firmware takes its addresses from flags.
 */

/** 192.0.2.1: the host (peer) end of the link. */
export const HOST_A = 0xc0000201 | 0;
/** 192.0.2.2: the device end of the link. */
export const HOST_B = 0xc0000202 | 0;
