/**
 * slipstack/net: node:net's API over slipstack.
 *
 *   import { openDevice, createServer } from 'slipstack/net';
 *   await openDevice({ port: '/dev/ttyUSB0', password: undefined });
 *   createServer((socket) => socket.pipe(socket)).listen(7000);
 *
 * `createServer`, `connect` / `createConnection`, `Server` and `Socket` behave as node:net's do
 * (see socket.ts and server.ts for where they cannot), on a `Network`: the one `openDevice()`
 * started, the one `setDefaultNetwork()` named, or `{ network }` in the options. Node libraries
 * that take a stream.Duplex (node:http's 'connection', ws, MQTT clients) take these sockets.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { Server, type ServerOptions } from './server.ts';
import { Socket, type SocketConnectOptions, type SocketConstructorOptions } from './socket.ts';

export { Network, getDefaultNetwork, setDefaultNetwork, type NetLoop, type NetworkOptions } from './network.ts';
export { Server, type ListenOptions, type ServerOptions } from './server.ts';
export { Socket, type SocketConnectOptions, type SocketConstructorOptions } from './socket.ts';
export { type NetError } from './errors.ts';
export { openDevice, type RunningDevice, type OpenDeviceOptions } from './device.ts';
export { VirtualLoop } from './virtual-loop.ts';
export { isIP, isIPv4, isIPv6 };

/** node:net's createServer([options][, connectionListener]). */
export function createServer(options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void): Server {
  if (typeof options === 'function') return new Server({}, options);
  return new Server(options ?? {}, connectionListener);
}

export type NetConnectOptions = SocketConnectOptions & SocketConstructorOptions;

/** node:net's connect(options[, connectListener]) and connect(port[, host][, connectListener]). */
export function connect(options: NetConnectOptions | number, hostOrListener?: string | (() => void), listener?: () => void): Socket {
  if (typeof options === 'number') {
    const socket = new Socket({});
    return socket.connect(options, hostOrListener as string, listener);
  }
  const ctor: SocketConstructorOptions = {};
  if (options.allowHalfOpen !== undefined) ctor.allowHalfOpen = options.allowHalfOpen;
  if (options.network !== undefined) ctor.network = options.network;
  if (options.readableHighWaterMark !== undefined) ctor.readableHighWaterMark = options.readableHighWaterMark;
  if (options.writableHighWaterMark !== undefined) ctor.writableHighWaterMark = options.writableHighWaterMark;
  const socket = new Socket(ctor);
  return socket.connect(options, typeof hostOrListener === 'function' ? hostOrListener : listener);
}

/** Alias of `connect`, as in node:net. */
export const createConnection = connect;
