/**
 * TelnetClient: a small scripted telnet client on a TcpSocket, for the telnet and xfer tests
 * (virtual time) and the hardware suite (real lines). It answers option negotiation as netkit
 * telnet does (DO ECHO, DO SGA, WILL NAWS with an 80 x 24 window, refuses everything else, each
 * offer once), sends lines ending in CR LF, and collects what arrives as text with the commands
 * taken out. Harness code: it allocates (arrays, strings) and keeps every octet for assertions.
 */
import { Telnet, TelnetOption, telnetVerbName } from '../firmware-bridge/telnet/protocol.ts';
import { SocketError } from '../src/socket/error.ts';
import type { TcpSocket } from '../src/socket/tcp/socket.ts';
import { NEVER, type Pollable } from '../src/time.ts';

const { IAC, WILL, WONT, DO, DONT, SB, SE } = Telnet;
const { ECHO, SGA, NAWS } = TelnetOption;

/** Octets handed to one `send` call at most. */
const SEND_CHUNK = 1024;

// Decoder states: data, after IAC, after IAC <verb> (the option follows), inside SB, IAC inside SB.
const DATA = 0;
const COMMAND = 1;
const OPTION = 2;
const SUBNEGOTIATION = 3;
const SUBNEGOTIATION_IAC = 4;

export interface TelnetClientOptions {
  /** Answer the server's offers as netkit telnet does; false answers nothing. Defaults to true. */
  autoNegotiate?: boolean;
}

export class TelnetClient implements Pollable {
  readonly sock: TcpSocket;
  /** Every octet received, raw. */
  readonly raw: number[] = [];
  /** Data octets received, commands removed (and NUL, the padding of CR NUL), as text. */
  text = '';
  /** Negotiations received, as "WILL 1", "DO 31" and so on. */
  readonly negotiations: string[] = [];
  /** The server closed the connection (or it failed). */
  eof = false;
  /** The socket is closed on this side; `poll` does nothing more. */
  closed = false;
  /** When false the client answers nothing (for tests that negotiate by hand). */
  autoNegotiate: boolean;
  private cursor = 0;
  private readonly out: number[] = [];
  private readonly buffer = new Uint8Array(4096);
  private state = DATA;
  private verb = 0;
  private readonly answered = new Set<string>();

  constructor(sock: TcpSocket, options: TelnetClientOptions = {}) {
    this.sock = sock;
    this.autoNegotiate = options.autoNegotiate ?? true;
  }

  /** Queues octets to send as they are (commands included). */
  send(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]! & 0xff);
  }

  /** Queues `text`, one octet per character (its low 8 bits). */
  sendText(text: string): void {
    for (let i = 0; i < text.length; i++) this.out.push(text.charCodeAt(i) & 0xff);
  }

  /** Types a line: `text` and CR LF. */
  line(text: string): void {
    this.sendText(`${text}\r\n`);
  }

  /** Text received and not yet taken. */
  get unread(): string {
    return this.text.slice(this.cursor);
  }

  /** True when `pattern` is in the text not yet taken. */
  has(pattern: string): boolean {
    return this.text.indexOf(pattern, this.cursor) >= 0;
  }

  /**
   * The text not yet taken up to and including `pattern`, and moves past it.
   * @throws Error when `pattern` has not arrived (check `has` first when that is not a failure).
   */
  take(pattern: string): string {
    const at = this.text.indexOf(pattern, this.cursor);
    if (at < 0) throw new Error(`expected ${JSON.stringify(pattern)} in ${JSON.stringify(this.unread)}`);
    const chunk = this.text.slice(this.cursor, at + pattern.length);
    this.cursor = at + pattern.length;
    return chunk;
  }

  /** Closes this side (FIN), once. */
  close(): void {
    if (this.closed) return;
    this.sock.close();
    this.closed = true;
  }

  poll(_now: number): boolean {
    if (this.closed) return false;
    const s = this.sock;
    let progress = false;
    while (this.out.length > 0) {
      const chunk = Uint8Array.from(this.out.slice(0, SEND_CHUNK));
      const n = s.send(chunk, 0, chunk.length);
      if (n <= 0) break;
      this.out.splice(0, n);
      progress = true;
    }
    for (;;) {
      const n = s.recv(this.buffer, 0, this.buffer.length);
      if (n > 0) {
        for (let i = 0; i < n; i++) this.decode(this.buffer[i]!);
        progress = true;
        continue;
      }
      // 0: the server's FIN; anything but WouldBlock: the connection ended. Close our side too.
      if (n !== SocketError.WouldBlock && !this.eof) {
        this.eof = true;
        this.close();
        progress = true;
      }
      break;
    }
    return progress;
  }

  pollAt(now: number): number {
    // Once closed the socket may already serve another connection: this client waits for nothing.
    if (this.closed) return NEVER;
    return this.out.length > 0 && this.sock.sendSpace > 0 ? now : NEVER;
  }

  private decode(b: number): void {
    this.raw.push(b);
    switch (this.state) {
      case DATA:
        if (b === IAC) this.state = COMMAND;
        else if (b !== 0) this.text += String.fromCharCode(b);
        return;
      case COMMAND:
        if (b === WILL || b === WONT || b === DO || b === DONT) {
          this.verb = b;
          this.state = OPTION;
        } else if (b === SB) {
          this.state = SUBNEGOTIATION;
        } else {
          if (b === IAC) this.text += '\xff'; // IAC IAC: a data octet 255
          this.state = DATA;
        }
        return;
      case OPTION:
        this.state = DATA;
        this.negotiated(this.verb, b);
        return;
      case SUBNEGOTIATION:
        if (b === IAC) this.state = SUBNEGOTIATION_IAC;
        return;
      default:
        this.state = b === SE ? DATA : SUBNEGOTIATION;
        return;
    }
  }

  private negotiated(verb: number, option: number): void {
    const name = `${telnetVerbName(verb)} ${option}`;
    this.negotiations.push(name);
    if (!this.autoNegotiate || this.answered.has(name)) return;
    this.answered.add(name);
    if (verb === WILL && (option === ECHO || option === SGA)) this.send([IAC, DO, option]);
    else if (verb === WILL) this.send([IAC, DONT, option]);
    else if (verb === DO && option === NAWS) this.send([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]);
    else if (verb === DO) this.send([IAC, WONT, option]);
  }
}
