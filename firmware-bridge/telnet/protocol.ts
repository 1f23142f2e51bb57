/**
 * Telnet protocol pieces, independent of sockets: command and option codes (RFC 854, 855, 857,
 * 858, 1073), option negotiation by the RFC 1143 "Q method" (which cannot loop), and a byte
 * decoder for the NVT stream (commands, negotiation, subnegotiation, newline forms).
 *
 * Both work one octet at a time over fixed memory and report through a handler object, so a
 * session can stop between any two octets and feeding bytes allocates nothing.
 */

/** RFC 854 command codes (each follows IAC). */
export const Telnet = {
  SE: 240,
  NOP: 241,
  /** Data Mark: the data-stream part of a Synch. */
  DM: 242,
  BRK: 243,
  /** Interrupt Process (what a client sends for Ctrl-C). */
  IP: 244,
  /** Abort Output. */
  AO: 245,
  /** Are You There. */
  AYT: 246,
  /** Erase Character. */
  EC: 247,
  /** Erase Line. */
  EL: 248,
  GA: 249,
  SB: 250,
  WILL: 251,
  WONT: 252,
  DO: 253,
  DONT: 254,
  IAC: 255,
} as const;

/** Option codes this server knows by name. */
export const TelnetOption = {
  /** RFC 857. */
  ECHO: 1,
  /** RFC 858. */
  SGA: 3,
  /** RFC 859. */
  STATUS: 5,
  /** RFC 860. */
  TIMING_MARK: 6,
  /** RFC 1091. */
  TERMINAL_TYPE: 24,
  /** RFC 1073: Negotiate About Window Size. */
  NAWS: 31,
  /** RFC 1079. */
  TERMINAL_SPEED: 32,
  /** RFC 1184. */
  LINEMODE: 34,
  /** RFC 1572. */
  NEW_ENVIRON: 39,
} as const;

/** Names for traces and tests. */
export function telnetVerbName(verb: number): string {
  switch (verb) {
    case Telnet.WILL: return 'WILL';
    case Telnet.WONT: return 'WONT';
    case Telnet.DO: return 'DO';
    case Telnet.DONT: return 'DONT';
    default: return `${verb}`;
  }
}

// RFC 1143 §7 option states (the queue bit is not kept: this side never changes its mind
// while a request is outstanding).
const NO = 0;
const YES = 1;
const WANTNO = 2;
const WANTYES = 3;

/**
 * Option negotiation state for both directions, RFC 1143 "Q method" without the queue.
 *
 * `us[opt]` is whether this side performs option `opt` (WILL/WONT from us, DO/DONT from the peer);
 * `him[opt]` is whether the peer performs it. An option is only ever enabled when it is in the
 * matching accept list; everything else is refused once and then left alone, so two
 * implementations following RFC 854's rules cannot loop.
 */
export class TelnetOptions {
  private readonly us = new Uint8Array(256);
  private readonly him = new Uint8Array(256);
  private readonly acceptUs = new Uint8Array(256);
  private readonly acceptHim = new Uint8Array(256);

  /**
   * @param usOptions options this side agrees to perform (for example ECHO, SGA)
   * @param himOptions options this side agrees to let the peer perform (for example NAWS, SGA)
   */
  constructor(usOptions: readonly number[], himOptions: readonly number[]) {
    for (const o of usOptions) this.acceptUs[o & 0xff] = 1;
    for (const o of himOptions) this.acceptHim[o & 0xff] = 1;
  }

  /** Forgets every negotiation (a new connection). */
  reset(): void {
    this.us.fill(NO);
    this.him.fill(NO);
  }

  /** True when this side performs `option`. */
  usEnabled(option: number): boolean {
    return this.us[option & 0xff] === YES;
  }

  /** True when this side performs `option` or has offered to. */
  usEnabledOrAsked(option: number): boolean {
    const s = this.us[option & 0xff];
    return s === YES || s === WANTYES;
  }

  /** True when the peer performs `option`. */
  himEnabled(option: number): boolean {
    return this.him[option & 0xff] === YES;
  }

  /** Offers to perform `option`: returns WILL to send, or 0 when nothing is to be sent. */
  askUs(option: number): number {
    const o = option & 0xff;
    if (this.us[o] !== NO || this.acceptUs[o] === 0) return 0;
    this.us[o] = WANTYES;
    return Telnet.WILL;
  }

  /** Asks the peer to perform `option`: returns DO to send, or 0. */
  askHim(option: number): number {
    const o = option & 0xff;
    if (this.him[o] !== NO || this.acceptHim[o] === 0) return 0;
    this.him[o] = WANTYES;
    return Telnet.DO;
  }

  /**
   * The peer sent `verb option` (WILL, WONT, DO or DONT). Updates the state and returns the verb
   * to answer with, or 0 when no answer is due (RFC 854: never acknowledge a mode already in
   * effect; RFC 1143 §7 for the transitions).
   */
  receive(verb: number, option: number): number {
    const o = option & 0xff;
    switch (verb) {
      case Telnet.WILL:
        return this.receiveEnable(this.him, this.acceptHim, o, Telnet.DO, Telnet.DONT);
      case Telnet.WONT:
        return this.receiveDisable(this.him, o, Telnet.DONT);
      case Telnet.DO:
        return this.receiveEnable(this.us, this.acceptUs, o, Telnet.WILL, Telnet.WONT);
      case Telnet.DONT:
        return this.receiveDisable(this.us, o, Telnet.WONT);
      default:
        return 0;
    }
  }

  private receiveEnable(state: Uint8Array, accept: Uint8Array, o: number, yes: number, no: number): number {
    switch (state[o]) {
      // RFC 1143: NO -> agree (YES, send the positive answer) or refuse (send the negative one).
      case NO:
        if (accept[o] === 1) {
          state[o] = YES;
          return yes;
        }
        return no;
      // Already on: an acknowledgment must not be acknowledged.
      case YES:
        return 0;
      // We asked for off and got on: the peer is in error; treat the option as off.
      case WANTNO:
        state[o] = NO;
        return 0;
      // The answer to our own request.
      default:
        state[o] = YES;
        return 0;
    }
  }

  private receiveDisable(state: Uint8Array, o: number, no: number): number {
    switch (state[o]) {
      // Already off: nothing to say.
      case NO:
        return 0;
      // RFC 854: a request to disable must always be honoured.
      case YES:
        state[o] = NO;
        return no;
      // The answer to our request, or a refusal of our offer.
      default:
        state[o] = NO;
        return 0;
    }
  }
}

/** What the decoder reports, one call per event. */
export interface TelnetHandler {
  /** One data octet. CR LF, CR NUL and a bare LF each arrive as a single CR (0x0d). */
  telnetData(byte: number): void;
  /** A command that is not negotiation: NOP, DM, BRK, IP, AO, AYT, EC, EL, GA. */
  telnetCommand(command: number): void;
  /** IAC WILL / WONT / DO / DONT `option`. */
  telnetNegotiation(verb: number, option: number): void;
  /** IAC SB `option` parameters IAC SE; IAC IAC undone. `bytes[0..len)` is valid during the call only. */
  telnetSubnegotiation(option: number, bytes: Uint8Array, len: number): void;
}

// Decoder states.
const DATA = 0;
const IAC = 1;
const VERB = 2;
const SB_OPTION = 3;
const SB = 4;
const SB_IAC = 5;

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/** The NVT input decoder (RFC 854): feed it octets, it calls the handler. */
export class TelnetDecoder {
  private state = DATA;
  private verb = 0;
  /** The previous data octet was CR: a following LF or NUL belongs to it. */
  private afterCr = false;
  private sbOption = 0;
  private sbLen = 0;
  private sbOverflow = false;
  private readonly sb: Uint8Array;
  /** Subnegotiations dropped because they were longer than the buffer. */
  sbOverflows = 0;

  /** @param sbMax octets of subnegotiation parameters kept (longer ones are dropped). Defaults to 64. */
  constructor(sbMax = 64) {
    this.sb = new Uint8Array(sbMax);
  }

  reset(): void {
    this.state = DATA;
    this.afterCr = false;
    this.sbLen = 0;
    this.sbOverflow = false;
  }

  /** Decodes one octet. */
  feed(b: number, h: TelnetHandler): void {
    switch (this.state) {
      case DATA:
        if (b === Telnet.IAC) {
          this.state = IAC;
          return;
        }
        // RFC 854 "NVT": CR LF is a newline and CR NUL a bare CR; both end a line here, and so
        // does a bare LF (what many clients send).
        if (this.afterCr) {
          this.afterCr = false;
          if (b === LF || b === NUL) return;
        }
        if (b === CR) {
          this.afterCr = true;
          h.telnetData(CR);
          return;
        }
        h.telnetData(b === LF ? CR : b);
        return;
      case IAC:
        this.command(b, h);
        return;
      case VERB:
        this.state = DATA;
        h.telnetNegotiation(this.verb, b);
        return;
      case SB_OPTION:
        this.sbOption = b;
        this.sbLen = 0;
        this.sbOverflow = false;
        this.state = SB;
        return;
      case SB:
        if (b === Telnet.IAC) this.state = SB_IAC;
        else this.sbPut(b);
        return;
      default: // SB_IAC
        if (b === Telnet.IAC) {
          this.sbPut(b);
          this.state = SB;
          return;
        }
        if (b === Telnet.SE) {
          this.state = DATA;
          if (this.sbOverflow) this.sbOverflows++;
          else h.telnetSubnegotiation(this.sbOption, this.sb, this.sbLen);
          return;
        }
        // RFC 855 requires IAC SE; anything else ends the subnegotiation and is read as a command.
        this.command(b, h);
        return;
    }
  }

  private command(b: number, h: TelnetHandler): void {
    switch (b) {
      case Telnet.IAC:
        // IAC IAC: the data octet 255.
        this.state = DATA;
        this.afterCr = false;
        h.telnetData(0xff);
        return;
      case Telnet.WILL:
      case Telnet.WONT:
      case Telnet.DO:
      case Telnet.DONT:
        this.verb = b;
        this.state = VERB;
        return;
      case Telnet.SB:
        this.state = SB_OPTION;
        return;
      default:
        this.state = DATA;
        h.telnetCommand(b);
        return;
    }
  }

  private sbPut(b: number): void {
    if (this.sbLen < this.sb.length) this.sb[this.sbLen++] = b;
    else this.sbOverflow = true;
  }
}
