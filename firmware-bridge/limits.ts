/**
 * The firmware's limits in one place: every fixed size and count the board, its services and
 * the shell preallocate or enforce, and the defaults and ranges of the flags that size the rest
 * (--mtu, --sockets, --baud). All memory the firmware holds is carved from these at start-up;
 * nothing grows later, so this file and the flags say how much memory a board needs. The few
 * sizes of host connect, the other end of the line, are at the end.
 */

import { VJ_HEADROOM } from '../src/phy/vj.ts';

// Packet memory (board.ts): one Arena holds the pool and every TCP ring.

/** Packet pool slots: frames in flight in both directions, plus fragments waiting for reassembly. */
export const POOL_SLOTS = 64;
/** Each TCP socket's send ring and receive ring, octets each. */
export const TCP_RING_LEN = 16 * 1024;
/** Arena octets beyond the regions carved from it: room for their alignment (8 octets each). */
export const ARENA_SLACK = 64;
/** Frames the SLIP device queues in each direction (decoded and waiting; waiting to be encoded). */
export const SLIP_QUEUE_FRAMES = 16;
/**
 * Largest IPv4 datagram reassembled from fragments or fragmented on the way out, octets: the
 * size of each of the interface's reassembly buffers and of its one fragmentation scratch buffer.
 */
export const REASSEMBLY_SIZE = 16 * 1024;
/** The net API's staging buffer (between Node streams and the TCP rings; the web console), octets. */
export const NET_STAGING_LEN = 16 * 1024;
/** The web console's TCP port unless --http-port says otherwise. */
export const HTTP_PORT_DEFAULT = 80;

// Flags (cli.ts): default, smallest and largest accepted.

/** --mtu, octets (Linux SLIP's own default is 296; IPv4 needs 68). */
export const MTU_FLAG = Object.freeze({ default: 1006, min: 68, max: 65535 });
/** --sockets: TCP sockets in the table; telnet, echo, discard and chargen each serve this many connections at once. */
export const SOCKETS_FLAG = Object.freeze({ default: 64, min: 2, max: 1024 });
/** --idle-timeout, seconds: a logged-in shell with no input for this long is closed (0: never). */
export const IDLE_TIMEOUT_FLAG = Object.freeze({ default: 15 * 60, min: 0, max: 7 * 24 * 3600 });
/**
 * --keepalive, seconds: a TCP connection idle for this long is probed (RFC 1122 §4.2.3.6), and
 * dropped when the peer answers with a RST (it no longer has the connection: it rebooted, or
 * its RST or FIN was lost) or not at all after KEEPALIVE_PROBES probes. 0: off, the RFC's and
 * Linux's default.
 */
export const KEEPALIVE_FLAG = Object.freeze({ default: 0, min: 0, max: 7 * 24 * 3600 });
/** Unanswered keepalive probes before a connection is dropped (Linux: 9). */
export const KEEPALIVE_PROBES = 9;
/** The longest gap between keepalive probes, seconds (Linux: 75); shorter when --keepalive is. */
export const KEEPALIVE_INTERVAL_MAX_S = 75;
/** --services: the services a user can turn off (ping is always answered). */
export const SERVICE_NAMES = Object.freeze(['telnet', 'echo', 'discard', 'chargen', 'udp-echo'] as const);
/** --baud, bits per second, 8N1. */
export const BAUD_FLAG = Object.freeze({ default: 115200, min: 50, max: 20_000_000 });

// Telnet (telnet/server.ts, telnet/session.ts): one session per connection slot.

/** Longest command line, octets; a longer one rings the bell. */
export const TELNET_LINE_LEN = 256;
/** Output buffered per session, octets; what does not fit is dropped and counted. */
export const TELNET_OUTBOX_LEN = 16 * 1024;
/** Octets a session reads from its socket at a time. */
export const TELNET_INPUT_LEN = 512;
/** Longest subnegotiation kept (RFC 855), octets; a longer one is dropped. */
export const TELNET_SUBNEGOTIATION_LEN = 64;
/** Wrong passwords before the connection is closed. */
export const TELNET_MAX_LOGIN_ATTEMPTS = 3;
/** Pause after a wrong password, ms. */
export const TELNET_LOGIN_DELAY_MS = 1000;
/**
 * Failed logins device-wide (login-limiter.ts), across all connections and services: `burst`
 * at once, then `ratePerSecond`; when they run out, every login is refused for `backoffMs`,
 * doubling for each further back-off up to `maxBackoffMs`.
 */
export const LOGIN_LIMIT = Object.freeze({ burst: 10, ratePerSecond: 0.1, backoffMs: 5000, maxBackoffMs: 300_000 });
/** Time allowed to log in, ms. */
export const TELNET_LOGIN_TIMEOUT_MS = 60_000;
/** After exit, longest wait for the client to take the last output, ms. */
export const TELNET_CLOSE_TIMEOUT_MS = 10_000;

// Services and shell commands.

/** TCP echo and discard: octets moved per recv/send call. */
export const SERVICE_SCRATCH_LEN = 4096;
/** UDP echo: each of the socket's receive and send rings, octets. */
export const UDP_ECHO_BUFFER_LEN = 16 * 1024;
/** chargen: octets queued per send call. */
export const CHARGEN_SCRATCH_LEN = 512;
/** ping: sequence numbers remembered for duplicate detection. */
export const PING_SEEN_WINDOW = 1024;
/** ping in the shell: requests per run (-c; without -c a run stops after this many or Ctrl-C). */
export const PING_MAX_COUNT = 1000;
/** ping -s: payload octets, 8..PING_MAX_DATA_LEN (the first 8 carry the send time). */
export const PING_MAX_DATA_LEN = 512;
/** ping -i: interval between requests, ms (iputils lets a user go down to 200 ms). */
export const PING_INTERVAL_MS = Object.freeze({ min: 200, max: 10_000 });
/** xfer: longest run, ms; a transfer still going is reset and reported. */
export const XFER_MAX_DURATION_MS = 3_600_000;
/** xfer: octets of pattern generated at a time (a multiple of 4). */
export const XFER_CHUNK_LEN = 1024;
/** xfer: octets read from the peer per recv call. */
export const XFER_RX_LEN = 2048;
/** Largest `xfer` size: 2^40 octets (a terabyte; the limit only keeps the counters exact). */
export const XFER_MAX_OCTETS = 2 ** 40;

/** How long a shutdown (SIGINT, SIGTERM) waits at most for connections to settle, ms. */
export const SHUTDOWN_GRACE_MS = 3000;
/**
 * Interrupt coalescing on the serial line (FdLinkOptions.busyOctets): a burst of this many
 * octets makes the line busy. More than a ping, a keystroke or an ACK (those are never held
 * back); about a tty's largest VMIN (255).
 */
export const SERIAL_BUSY_OCTETS = 256;

/**
 * FdLinkOptions.busyOctets for a line: SERIAL_BUSY_OCTETS where its rate is bounded (a real
 * serial port at its baud, or a pty whose writer paces to one with --uart-timing), else 0. An
 * unpaced pty moves data as fast as the two processes can: reads on a period would cap it
 * (4 KiB a read, one read a period), so it is read on arrival.
 */
export function serialBusyOctets(rateBounded: boolean): number {
  return rateBounded ? SERIAL_BUSY_OCTETS : 0;
}
/**
 * The longest period of the reads while the line is busy, ms (see serialBusyPollMs). The ACK a
 * turn sends reaches a paced pty at the next turn, so a segment waits up to two periods for its
 * ACK: 20 ms keeps that inside a 16 KiB window at 3 Mbaud (30 ms did not: 11 % less goodput).
 */
export const SERIAL_BUSY_POLL_MAX_MS = 20;
/**
 * At most this many octets arrive between two reads of a busy line: a periodic read reads on past
 * full reads (N_TTY hands over 4 095 octets a read), and one that brings this much
 * (FdLinkOptions.busyBatchOctets, the same number) sends the line back to reading on arrival.
 */
export const SERIAL_BUSY_READ_OCTETS = 12288;

/**
 * The period of the reads while the line is busy (FdLinkOptions.busyPollMs) at `baud`: 20 ms, or
 * less where the line would bring more than SERIAL_BUSY_READ_OCTETS in that time (above about
 * 6 Mbaud). A frame arriving on a busy line waits up to this long; at 3 Mbaud 20 ms is six
 * 1006-octet frames.
 */
export function serialBusyPollMs(baud: number): number {
  const octetsPerMs = baud / 10_000;
  return Math.max(1, Math.min(SERIAL_BUSY_POLL_MAX_MS, Math.floor(SERIAL_BUSY_READ_OCTETS / octetsPerMs)));
}

// Profiles (--profile): the sizes above, and smaller ones for a microcontroller-sized board.

/** What a --profile sets: the board's fixed sizes, and the defaults of --mtu and --sockets. */
export interface BoardProfile {
  /** --mtu when the flag is not given, octets. */
  mtu: number;
  /** --sockets when the flag is not given. */
  sockets: number;
  poolSlots: number;
  /**
   * Octets in front of every pool slot where the header decompressor rebuilds a compressed
   * TCP/IP header without moving the data; with less, it moves the data (a copy of at most one
   * MTU) instead.
   */
  slotHeadroom: number;
  tcpRingLen: number;
  slipQueueFrames: number;
  /** Octets the SLIP device reads from the line at a time (its one read buffer). */
  slipReadChunk: number;
  reassemblyBuffers: number;
  reassemblySize: number;
  /** Telnet sessions served at once; 0 for one per TCP socket. */
  telnetSessions: number;
  telnetOutboxLen: number;
  /** TCP echo and discard scratch, and chargen's queue-at-a-time, octets. */
  serviceScratchLen: number;
  udpEchoBufferLen: number;
  /**
   * Most octets of ArrayBuffer memory the board may allocate at start (pool, rings, reassembly,
   * SLIP buffers, services, sessions), or null for no budget. `pool` shows it; a test holds the
   * profile to it.
   */
  memoryBudget: number | null;
}

/** `--profile default`: the sizes above (about 3.8 MB with 64 sockets). */
export const DEFAULT_PROFILE: Readonly<BoardProfile> = Object.freeze({
  mtu: MTU_FLAG.default,
  sockets: SOCKETS_FLAG.default,
  poolSlots: POOL_SLOTS,
  slotHeadroom: VJ_HEADROOM,
  tcpRingLen: TCP_RING_LEN,
  slipQueueFrames: SLIP_QUEUE_FRAMES,
  slipReadChunk: 4096,
  reassemblyBuffers: 2,
  reassemblySize: REASSEMBLY_SIZE,
  telnetSessions: 0,
  telnetOutboxLen: TELNET_OUTBOX_LEN,
  serviceScratchLen: SERVICE_SCRATCH_LEN,
  udpEchoBufferLen: UDP_ECHO_BUFFER_LEN,
  memoryBudget: null,
});

/**
 * `--profile small`: ping, telnet (2 sessions), echo, discard and chargen in at most 64 KiB of
 * packet memory, MTU 296 (Linux SLIP's default), 4 TCP sockets. Running out of slots or sockets
 * is a counted drop or a refused connection, as always.
 */
export const SMALL_PROFILE: Readonly<BoardProfile> = Object.freeze({
  mtu: 296,
  sockets: 4,
  poolSlots: 16,
  slotHeadroom: 0,
  tcpRingLen: 2048,
  slipQueueFrames: 4,
  slipReadChunk: 512,
  reassemblyBuffers: 1,
  reassemblySize: 1500,
  telnetSessions: 2,
  telnetOutboxLen: 2048,
  serviceScratchLen: 512,
  udpEchoBufferLen: 1024,
  memoryBudget: 64 * 1024,
});

/** The profiles by --profile name. */
export const PROFILES: Readonly<Record<string, Readonly<BoardProfile>>> = Object.freeze({ default: DEFAULT_PROFILE, small: SMALL_PROFILE });

// Host connect (host-connect.ts): the host end of the line, SLIP <-> TUN.

/** Packet pool slots of the host end. */
export const HOST_POOL_SLOTS = 64;
/** Frames its SLIP device queues in each direction (a TUN delivers bursts). */
export const HOST_SLIP_QUEUE_FRAMES = 32;
/** Smallest TUN read buffer, octets (the MTU when that is larger). */
export const HOST_TUN_MIN_PACKET = 2048;

// The host side's addresses (host/addresses.ts): the pairs `npm start` tries, in this order.

/**
 * Link address pairs (host, device) `npm start` picks from when no --ip/--peer is given: the
 * first pair neither of whose addresses is already local or routed over another interface. They
 * come from the documentation ranges of RFC 5737, which no real network routes: 192.0.2.0/24,
 * then 198.51.100.0/24, then 203.0.113.0/24.
 */
export const LINK_ADDRESS_PAIRS: readonly (readonly [host: string, device: string])[] = Object.freeze([
  ['192.0.2.1', '192.0.2.2'], ['192.0.2.5', '192.0.2.6'],
  ['198.51.100.1', '198.51.100.2'], ['198.51.100.5', '198.51.100.6'],
  ['203.0.113.1', '203.0.113.2'], ['203.0.113.5', '203.0.113.6'],
]);

// The userspace host side (host/user-net.ts): our own stack as the host end, host ports forwarded.

/** Host ports forwarded to the device's services unless --forward replaces them: [host port, device port]. */
export const USER_NET_FORWARDS: readonly (readonly [hostPort: number, devicePort: number])[] = Object.freeze([
  [2323, 23], [2307, 7], [2309, 9], [2319, 19], [8080, HTTP_PORT_DEFAULT],
]);
/** The address forwards listen on unless --bind says otherwise (this machine only). */
export const USER_NET_BIND = '127.0.0.1';
/** TCP sockets of the userspace host side: one per forwarded connection. */
export const USER_NET_SOCKETS = 64;
/** Send and receive ring of each of its TCP sockets, octets. */
export const USER_NET_RING_LEN = 16 * 1024;
/** The userspace host side's control port on 127.0.0.1, where `npm run ping` asks it to ping the device. */
export const USER_NET_CONTROL_PORT = 2300;
/** Frames its SLIP device queues in each direction. */
export const USER_NET_SLIP_QUEUE_FRAMES = 32;
