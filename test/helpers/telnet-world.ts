/**
 * The world the telnet shell and xfer tests run in: the device stack (192.0.2.2) with a telnet
 * server, the peer stack (192.0.2.1) with scripted telnet clients (support/telnet-client.ts),
 * over a memory device pair in virtual time; and the steps they share: connect, log in, run a
 * command, wait for text, finish with every socket back in the table.
 */
import { expect } from 'chai';
import { TelnetServer, type TelnetServerOptions } from '../../firmware-bridge/telnet/server.ts';
import { MemoryDevicePair } from '../../src/phy/memory.ts';
import type { Pollable } from '../../src/time.ts';
import { HOST_A, HOST_B } from '../../support/addresses.ts';
import { TelnetClient, type TelnetClientOptions } from '../../support/telnet-client.ts';
import { testPool } from './pools.ts';
import { VirtualClock, runIdle, runUntil } from './sim.ts';
import { stackPair, type StackPair } from './tcp-sim.ts';

/** The shell's prompt (hostname "slipstack"). */
export const PROMPT = 'slipstack> ';
/** The server's password unless a test gives another. */
export const TELNET_TEST_PASSWORD = 's3cret pass';

export interface TelnetWorld {
  clock: VirtualClock;
  pair: StackPair;
  link: MemoryDevicePair;
  telnet: TelnetServer;
  /** Every client `connect` made, in order. */
  clients: TelnetClient[];
  /** What `run` and `expectText` poll: both stacks, the server, the clients, anything a test adds. */
  parts: Pollable[];
  /** The server's password (what `login` types). */
  password: string;
  /** Options of every client `connect` makes. */
  clientOptions: TelnetClientOptions;
  /** Virtual ms `run` and `expectText` wait at most unless told otherwise. */
  limitMs: number;
}

export interface TelnetWorldOptions {
  /** Server options over the defaults (password TELNET_TEST_PASSWORD, version 1.2.3, peer 192.0.2.1, started at 0). */
  server?: Partial<TelnetServerOptions>;
  /** Options of every client. Defaults to none (negotiation answered). */
  client?: TelnetClientOptions;
  /** Default wait of `run` and `expectText`, virtual ms. Defaults to 30 000. */
  limitMs?: number;
}

export function telnetWorld(options: TelnetWorldOptions = {}): TelnetWorld {
  const link = new MemoryDevicePair(testPool({ slots: 128 }), testPool({ slots: 128 }));
  const pair = stackPair(link.a, link.b, { sockets: 8 });
  const server: TelnetServerOptions = {
    password: TELNET_TEST_PASSWORD, version: '1.2.3', imageSha256: 'ab'.repeat(32), peer: HOST_A, startedAt: 0, ...options.server,
  };
  const telnet = new TelnetServer(pair.b, pair.tcpB, server);
  return {
    clock: new VirtualClock(), pair, link, telnet, clients: [], parts: [pair.a, pair.b, telnet],
    password: server.password ?? '', clientOptions: options.client ?? {}, limitMs: options.limitMs ?? 30_000,
  };
}

/** A client connecting to port 23, polled from now on. */
export function connect(w: TelnetWorld): TelnetClient {
  const sock = w.pair.tcpA.connect(w.clock.now, HOST_B, 23)!;
  const client = new TelnetClient(sock, w.clientOptions);
  w.clients.push(client);
  w.parts.push(client);
  return client;
}

/** Runs until `client` has received `pattern` (after its cursor), then takes the text up to it. */
export function expectText(w: TelnetWorld, client: TelnetClient, pattern: string, limitMs = w.limitMs): string {
  runUntil(w.clock, w.parts, () => client.has(pattern), limitMs);
  return client.take(pattern);
}

/** Runs the world until `done()` or `limitMs` of virtual time; whether `done()` became true. */
export function run(w: TelnetWorld, done: () => boolean, limitMs = w.limitMs): boolean {
  return runUntil(w.clock, w.parts, done, limitMs);
}

/**
 * Connects and logs in; returns the client at its first prompt. With `waitOutBackoff`, first
 * runs until the server's device-wide login back-off (if any) is over.
 */
export function login(w: TelnetWorld, waitOutBackoff = false): TelnetClient {
  if (waitOutBackoff) run(w, () => w.telnet.loginLimiter.backoffLeft(w.clock.now) === 0, 10 * 60_000);
  const c = connect(w);
  expectText(w, c, 'Password: ');
  c.line(w.password);
  expectText(w, c, PROMPT);
  return c;
}

/** Sends a command and returns its output (up to, not including, the next prompt). */
export function command(w: TelnetWorld, c: TelnetClient, line: string): string {
  c.line(line);
  return expectText(w, c, PROMPT).slice(0, -PROMPT.length);
}

/** Closes the server, runs until everything is idle, and checks every socket went back. */
export function finish(w: TelnetWorld): void {
  w.telnet.close();
  runIdle(w.clock, w.parts, 10 * 60_000);
  expect(w.pair.tcpA.used, 'peer sockets in use').to.equal(0);
  expect(w.pair.tcpB.used, 'device sockets in use').to.equal(0);
  w.link.close();
}
