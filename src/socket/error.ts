/**
 * Socket error codes: negative numbers returned by socket calls (0 or more means success).
 * Named after their POSIX cousins so they read familiarly in logs.
 */
export const SocketError = {
  /** No room now (send ring full, or nothing to receive); try again after `poll`. */
  WouldBlock: -1,
  /** The datagram can never fit (larger than the ring, or DF set and larger than the MTU). */
  MessageTooBig: -2,
  /** The socket is not bound / not open. */
  NotBound: -3,
  /** The port is taken by another socket. */
  AddressInUse: -4,
  /** An argument is out of range. */
  Invalid: -5,
  // -6 was Unreachable, which nothing ever returned; the number stays unused.
  /** The connection timed out. */
  TimedOut: -7,
  /** The peer reset the connection. */
  ConnectionReset: -8,
  /** The connection was refused. */
  ConnectionRefused: -9,
  /** The socket is closed or shutting down for this direction. */
  NotConnected: -10,
} as const;

/** Text for a SocketError code (for messages; config/UI paths only). */
export function socketErrorName(code: number): string {
  for (const key of Object.keys(SocketError) as (keyof typeof SocketError)[]) {
    if (SocketError[key] === code) return key;
  }
  return `error ${code}`;
}
