/**
 * The net layer's one door into the TCP core.
 *
 * Everything `src/drivers/net/` does with a TcpStack or a TcpSocket goes through the functions here, so
 * that a change to the core's application interface is a change to this file alone.
 *
 * Octets cross this door only through the caller's long-lived staging buffer (see Network), so
 * the core's copies always meet a buffer whose whole-buffer views already exist: nothing in the
 * core allocates, whatever Buffers the application writes.
 */
import { SocketError } from '../../socket/error.ts';
import type { TcpSocket } from '../../socket/tcp/socket.ts';
import { TcpStack } from '../../socket/tcp/stack.ts';
import { TcpState } from '../../socket/tcp/state.ts';

export type { TcpSocket };
export { SocketError, TcpStack, TcpState };

// ---------------------------------------------------------------------------------------------
// The stack: listeners and connections

/** Active open from this host (the stack knows its address and MSS); an ephemeral local port unless `localPort` is given. Null when the table is full. */
export function openConnection(tcp: TcpStack, now: number, remoteAddr: number, remotePort: number, localPort: number): TcpSocket | null {
  return tcp.connect(now, remoteAddr, remotePort, localPort);
}

/** A listener handle (>= 0) or a SocketError (AddressInUse, Invalid, WouldBlock when no listener slot is free). */
export function listen(tcp: TcpStack, port: number, backlog: number): number {
  return tcp.listen(port, backlog);
}

export function unlisten(tcp: TcpStack, listener: number): void {
  tcp.unlisten(listener);
}

/** The oldest established connection waiting on `listener`, now owned by the caller; or null. */
export function accept(tcp: TcpStack, listener: number): TcpSocket | null {
  return tcp.accept(listener);
}

/** True when `accept` would return a connection. */
export function hasAcceptable(tcp: TcpStack, listener: number): boolean {
  return tcp.hasAcceptable(listener);
}

/** True when some socket (listener or connection) uses local port `port`. */
export function portInUse(tcp: TcpStack, port: number): boolean {
  for (let l = 0; l < 256; l++) if (tcp.listenerPort(l) === port) return true;
  const sockets = tcp.sockets;
  for (let i = 0; i < sockets.length; i++) {
    const s = sockets[i]!;
    if (s.inUse && s.state !== TcpState.Closed && s.localPort === port) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// One connection

export function state(sock: TcpSocket): number {
  return sock.state;
}

/** The SocketError that ended the connection, 0 if none. */
export function error(sock: TcpSocket): number {
  return sock.error;
}

export function isEstablishedOrLater(sock: TcpSocket): boolean {
  return sock.state >= TcpState.Established;
}

export function isClosed(sock: TcpSocket): boolean {
  return sock.state === TcpState.Closed;
}

export function isConnecting(sock: TcpSocket): boolean {
  return sock.state === TcpState.SynSent || sock.state === TcpState.SynReceived;
}

/** The peer's FIN has arrived in order: no more data will come. */
export function remoteClosed(sock: TcpSocket): boolean {
  return sock.remoteClosed;
}

/** Our FIN is queued (shutdown or close was asked for). */
export function finQueued(sock: TcpSocket): boolean {
  return sock.finQueued;
}

export function recvQueue(sock: TcpSocket): number {
  return sock.recvQueue;
}

export function sendQueue(sock: TcpSocket): number {
  return sock.sendQueue;
}

/** Octets `send` takes now: ring room while the connection can carry data (queued before ESTABLISHED too). */
export function sendSpace(sock: TcpSocket): number {
  if (sock.state === TcpState.SynSent || sock.state === TcpState.SynReceived) return sock.finQueued ? 0 : sock.tx.window;
  return sock.sendSpace;
}

/** Copies into the send ring; octets taken, or a SocketError. */
export function send(sock: TcpSocket, src: Uint8Array, off: number, len: number): number {
  return sock.send(src, off, len);
}

/** Copies out of the receive ring; octets, 0 at end of stream, or a SocketError (WouldBlock: nothing yet). */
export function recv(sock: TcpSocket, dst: Uint8Array, off: number, len: number): number {
  return sock.recv(dst, off, len);
}

/** FIN after the queued data (RFC 9293 §3.10.4). */
export function shutdown(sock: TcpSocket): void {
  sock.shutdown();
}

/** Gives the socket back to the table: graceful (FIN) unless unread data makes it a RST. */
export function close(sock: TcpSocket): void {
  sock.close();
}

/** RST now (when synchronized) and CLOSED; `close` must still follow to give the socket back. */
export function abort(sock: TcpSocket): void {
  sock.abort();
}

export function setNagle(sock: TcpSocket, on: boolean): void {
  sock.nagle = on;
}

export function setKeepalive(sock: TcpSocket, on: boolean): void {
  sock.keepalive = on;
}

export function localAddr(sock: TcpSocket): number {
  return sock.localAddr;
}

export function localPort(sock: TcpSocket): number {
  return sock.localPort;
}

export function remoteAddr(sock: TcpSocket): number {
  return sock.remoteAddr;
}

export function remotePort(sock: TcpSocket): number {
  return sock.remotePort;
}
