/**
 * TCP connection states (RFC 9293 §3.3.2), their names, and the predicates the rest of the TCP
 * code asks about a state.
 *
 * `TcpState` is a const object and a union type of its values, so a `switch` over a state can
 * be checked for exhaustiveness by the compiler (`assertNever` in the default branch). The
 * numeric order is the RFC's: every state from ESTABLISHED on is synchronized.
 */

/** The TCP connection states, numbered in RFC 9293 §3.3.2 order. */
export const TcpState = {
  Closed: 0,
  Listen: 1,
  SynSent: 2,
  SynReceived: 3,
  Established: 4,
  FinWait1: 5,
  FinWait2: 6,
  CloseWait: 7,
  Closing: 8,
  LastAck: 9,
  TimeWait: 10,
} as const;

/** One of the eleven states of RFC 9293 §3.3.2. */
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/** RFC 9293 names of the states, indexed by TcpState value. */
export const TCP_STATE_NAMES: readonly string[] = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT',
  'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/**
 * The default branch of a `switch` that must cover every state: the compiler rejects the call
 * when a state is missing (its argument is then not `never`). Unreachable at run time.
 */
export function assertNever(state: never): never {
  throw new Error(`unhandled TCP state ${String(state)}`);
}

/** RFC 9293 §3.5: ESTABLISHED and every state after it are synchronized. */
export function isSynchronized(s: TcpState): boolean {
  return s >= TcpState.Established;
}

/** SYN-SENT or SYN-RECEIVED: our SYN is not acknowledged yet. */
export function isOpening(s: TcpState): boolean {
  return s === TcpState.SynSent || s === TcpState.SynReceived;
}

/** ESTABLISHED and CLOSE-WAIT: the application may queue data (RFC 9293 §3.10.2). */
export function isWritable(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.CloseWait;
}

/** ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: segment text is accepted (RFC 9293 §3.10.7.4, seventh). */
export function receivesData(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2;
}

/** States in which data or our FIN may (still) go out: ESTABLISHED, CLOSE-WAIT, FIN-WAIT-1, CLOSING, LAST-ACK. */
export function sendsData(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.CloseWait || s === TcpState.FinWait1 ||
    s === TcpState.Closing || s === TcpState.LastAck;
}
