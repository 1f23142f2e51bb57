/**
 * Errors the way node:net makes them: an Error whose message reads like Node's
 * (`connect ECONNREFUSED 192.0.2.2:80`), with `code`, `errno` (negative, as libuv reports it),
 * `syscall`, and `address` / `port` where Node gives them.
 */
import { constants } from 'node:os';
import { SocketError } from './tcp-binding.ts';

/** An Error with Node's system-error fields. */
export interface NetError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

const DESCRIPTIONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  ENOBUFS: 'no buffer space available',
  EINVAL: 'invalid argument',
};

/**
 * A system error as Node builds one. `withDescription` gives the `listen EADDRINUSE: address
 * already in use 0.0.0.0:80` form (uvExceptionWithHostPort), otherwise `connect ECONNREFUSED
 * 192.0.2.2:80` (exceptionWithHostPort).
 */
export function netError(code: string, syscall: string, address?: string, port?: number, withDescription = false): NetError {
  let message = withDescription ? `${syscall} ${code}: ${DESCRIPTIONS[code] ?? code}` : `${syscall} ${code}`;
  if (address !== undefined) message += port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  const e = new Error(message) as NetError;
  e.code = code;
  const n = (constants.errno as Record<string, number>)[code];
  e.errno = n !== undefined ? -n : 0;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined && port > 0) e.port = port;
  return e;
}

/** The Node code for a core SocketError. */
export function codeOf(socketError: number): string {
  switch (socketError) {
    case SocketError.ConnectionRefused: return 'ECONNREFUSED';
    case SocketError.ConnectionReset: return 'ECONNRESET';
    case SocketError.TimedOut: return 'ETIMEDOUT';
    case SocketError.AddressInUse: return 'EADDRINUSE';
    case SocketError.WouldBlock: return 'ENOBUFS';
    case SocketError.NotConnected: return 'EPIPE';
    default: return 'EINVAL';
  }
}

/** An error with Node's own `ERR_*` code (argument and state errors, not system errors). */
export function codedError(code: string, message: string, type: new (m: string) => Error = Error): Error & { code: string } {
  const e = new type(message) as Error & { code: string };
  e.code = code;
  return e;
}
