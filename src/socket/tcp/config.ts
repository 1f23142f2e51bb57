/**
 * TCP configuration, statistics and the shared context every TCP socket of a stack sees, and
 * the protocol constants the socket's parts share (DEFAULT_MSS, TS_OPTION_LEN).
 *
 * Values are plain numbers in ms and octets; every default is the one RFC 9293 and its
 * companions (RFC 6298 timers, RFC 1122 keepalive, RFC 6928 initial window) give, or what Linux
 * does where the RFCs leave a choice.
 */
import type { TcpRepr } from '../../wire/tcp.ts';
import type { TcpState } from './state.ts';

/** MSS assumed when the peer sends none (RFC 9293 §3.7.1), octets. */
export const DEFAULT_MSS = 536;
/** Octets the timestamp option takes in every segment once negotiated (10 + 2 NOPs, RFC 7323 Appendix A). */
export const TS_OPTION_LEN = 12;

/** Protocol settings of a TcpStack, shared by its sockets. Times in ms; every field has a default in DEFAULT_TCP_CONFIG. */
export interface TcpConfig {
  /** Initial retransmission timeout, ms (RFC 6298 §2.1). Defaults to 1000. */
  rtoInitialMs: number;
  /** Lower bound of the RTO, ms (RFC 6298 §2.4: 1 s; Linux uses 200). Defaults to 1000. */
  rtoMinMs: number;
  /** Upper bound of the RTO, ms (RFC 6298 §2.5). Defaults to 60000. */
  rtoMaxMs: number;
  /** Retransmissions of one segment before the connection is dropped with TimedOut. Defaults to 12. */
  maxRetries: number;
  /** Retransmissions of a SYN before connect fails with TimedOut. Defaults to 6. */
  synRetries: number;
  /** Maximum segment lifetime, ms; TIME-WAIT lasts 2·MSL. Defaults to 30000. */
  mslMs: number;
  /** How long an orphaned socket may sit in FIN-WAIT-2, ms. Defaults to 60000. */
  finWait2TimeoutMs: number;
  /** Longest an ACK is delayed, ms (RFC 9293 §3.8.6.3: under 0.5 s; Linux 40). 0 = never delay. Defaults to 40. */
  delayedAckMs: number;
  /** Keepalive idle time before the first probe, ms (RFC 1122 §4.2.3.6: 2 h). Defaults to 7200000. */
  keepaliveIdleMs: number;
  /** Interval between keepalive probes, ms. Defaults to 75000. */
  keepaliveIntervalMs: number;
  /** Unanswered keepalive probes before the connection is dropped. Defaults to 10. */
  keepaliveCount: number;
  /** Challenge ACKs per second (RFC 5961 §7), shared by the stack. Defaults to 10. */
  challengeAcksPerSecond: number;
  /** Offer window scaling (RFC 7323). Defaults to true. */
  windowScaling: boolean;
  /** Offer timestamps (RFC 7323). Defaults to true. */
  timestamps: boolean;
  /** Offer SACK (RFC 2018). Defaults to true. */
  sack: boolean;
  /** Nagle's algorithm on new sockets (RFC 896). Defaults to true. */
  nagle: boolean;
  /** Keepalive on new sockets. Defaults to false. */
  keepalive: boolean;
}

/** Defaults of TcpConfig; frozen. */
export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  rtoInitialMs: 1000,
  rtoMinMs: 1000,
  rtoMaxMs: 60_000,
  maxRetries: 12,
  synRetries: 6,
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  delayedAckMs: 40,
  keepaliveIdleMs: 2 * 60 * 60 * 1000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 10,
  challengeAcksPerSecond: 10,
  windowScaling: true,
  timestamps: true,
  sack: true,
  nagle: true,
  keepalive: false,
});

/** Stack-wide TCP counters (RFC 4022 MIB names where one exists). */
export interface TcpStats {
  activeOpens: number;
  passiveOpens: number;
  /** Connection attempts that failed (refused, timed out, reset in SYN-RECEIVED). */
  attemptFails: number;
  /** Connections reset from ESTABLISHED or CLOSE-WAIT. */
  estabResets: number;
  inSegs: number;
  outSegs: number;
  retransSegs: number;
  outRsts: number;
  /** Segments dropped: bad checksum. */
  chkerr: number;
  /** Segments dropped: bad length or data offset. */
  lenerr: number;
  /** Segments dropped: a malformed option. */
  optErr: number;
  /** Segments dropped: an illegal flag combination (SYN with RST or FIN). */
  badFlags: number;
  /** Segments outside the receive window (answered with an ACK). */
  outOfWindow: number;
  /** Segments dropped by PAWS (RFC 7323 §5). */
  pawsDrops: number;
  challengeAcks: number;
  challengeAcksLimited: number;
  /** SYNs refused because the socket table was full. */
  synTableFull: number;
  /** SYNs refused because the listener's backlog was full. */
  listenOverflow: number;
  /** Segments for no socket (answered with RST). */
  noSocket: number;
  fastRetransmits: number;
  rtoExpirations: number;
  sackRecoveries: number;
  zeroWindowProbes: number;
  keepaliveProbes: number;
  /** Connections dropped after too many retransmissions or keepalive probes. */
  timeouts: number;
  /** Out-of-order segments that could not be tracked (too many holes). */
  oooDrops: number;
  /** Segments that arrived with no pool slot free for the reply. */
  memerr: number;
  /** Orphaned TIME-WAIT connections ended early because the table was full and a socket was needed (lwIP tcp_kill_timewait). */
  timeWaitRecycled: number;
}

/** A TcpStats with every counter at zero. */
export function newTcpStats(): TcpStats {
  return {
    activeOpens: 0, passiveOpens: 0, attemptFails: 0, estabResets: 0, inSegs: 0, outSegs: 0, retransSegs: 0,
    outRsts: 0, chkerr: 0, lenerr: 0, optErr: 0, badFlags: 0, outOfWindow: 0, pawsDrops: 0, challengeAcks: 0,
    challengeAcksLimited: 0, synTableFull: 0, listenOverflow: 0, noSocket: 0, fastRetransmits: 0,
    rtoExpirations: 0, sackRecoveries: 0, zeroWindowProbes: 0, keepaliveProbes: 0, timeouts: 0, oooDrops: 0,
    memerr: 0, timeWaitRecycled: 0,
  };
}

/**
 * Optional tracer: told about every state transition and every segment in or out. Arguments
 * are primitives and objects that already exist, so a tracer costs nothing when it is null.
 */
export interface TcpTracer {
  /** A transition `from` => `to`; `socket` is the socket's index in its table. */
  state(socket: number, from: TcpState, to: TcpState): void;
  /** A segment received (`outgoing` false) or sent; `repr` is only valid during the call. */
  segment(socket: number, outgoing: boolean, repr: TcpRepr): void;
}

/** What a socket needs from its stack: configuration, counters, this host's end, ISNs, the challenge-ACK budget. */
export interface TcpContext {
  readonly config: TcpConfig;
  readonly stats: TcpStats;
  tracer: TcpTracer | null;
  /** This host's IPv4 address (int32): the local end of an active open. */
  readonly localAddr: number;
  /** MSS this host advertises, octets (its interface's MTU less 40). */
  readonly localMss: number;
  /** A local port for an active open to remoteAddr:remotePort that no other connection uses. */
  ephemeralPort(remoteAddr: number, remotePort: number): number;
  /** RFC 6528 initial sequence number for a connection. */
  isn(now: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number;
  /** RFC 5961 §7: true if a challenge ACK may be sent now (consumes one). */
  takeChallengeAck(now: number): boolean;
}
