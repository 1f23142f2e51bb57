/**
 * A TcpTracer that prints, for `--verbose` and debugging: one line per state transition
 * (`tcp#3 SYN-SENT => ESTABLISHED`) and per segment
 * (`tcp#3 > 49152 -> 23 seq=1000 ack=2001 [ACK,PSH] win=512 len=12`).
 *
 * It builds strings, so it allocates; it exists only when tracing is switched on. With no tracer
 * installed (`stack.tracer = null`, the default) the stack pays one null check per event.
 */
import { TcpFlag, type TcpRepr } from '../../wire/tcp.ts';
import type { TcpTracer } from './config.ts';
import { TCP_STATE_NAMES, type TcpState } from './state.ts';

const FLAG_NAMES: readonly [number, string][] = [
  [TcpFlag.Syn, 'SYN'], [TcpFlag.Fin, 'FIN'], [TcpFlag.Rst, 'RST'], [TcpFlag.Psh, 'PSH'],
  [TcpFlag.Ack, 'ACK'], [TcpFlag.Urg, 'URG'], [TcpFlag.Ece, 'ECE'], [TcpFlag.Cwr, 'CWR'],
];

/** `[SYN,ACK]` style names of a flags byte. */
export function formatFlags(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if ((flags & bit) !== 0) names.push(name);
  return `[${names.join(',')}]`;
}

/** One line describing a segment, tcpdump-like; sequence numbers unsigned. */
export function formatSegment(repr: TcpRepr): string {
  let line = `${repr.srcPort} -> ${repr.dstPort} seq=${repr.seq >>> 0}`;
  if ((repr.flags & TcpFlag.Ack) !== 0) line += ` ack=${repr.ack >>> 0}`;
  line += ` ${formatFlags(repr.flags)} win=${repr.window} len=${repr.payloadLen}`;
  if (repr.mss !== 0) line += ` mss=${repr.mss}`;
  if (repr.windowScale >= 0) line += ` wscale=${repr.windowScale}`;
  if (repr.sackPermitted) line += ' sackOK';
  if (repr.hasTimestamp) line += ` TS=${repr.tsVal >>> 0}/${repr.tsEcr >>> 0}`;
  for (let i = 0; i < repr.sackCount; i++) line += ` sack=${repr.sackLeft[i]! >>> 0}-${repr.sackRight[i]! >>> 0}`;
  if ((repr.flags & TcpFlag.Urg) !== 0) line += ` urg=${repr.urgent}`;
  return line;
}

/** Options of a TextTcpTracer. */
export interface TextTracerOptions {
  /** Print segments as well as transitions. Defaults to true. */
  segments?: boolean;
}

/** A tracer that hands each line to `write` (for example a console or log-file writer). */
export class TextTcpTracer implements TcpTracer {
  private readonly write: (line: string) => void;
  private readonly segments: boolean;

  constructor(write: (line: string) => void, options: TextTracerOptions = {}) {
    this.write = write;
    this.segments = options.segments ?? true;
  }

  state(socket: number, from: TcpState, to: TcpState): void {
    this.write(`tcp#${socket} ${TCP_STATE_NAMES[from]} => ${TCP_STATE_NAMES[to]}`);
  }

  segment(socket: number, outgoing: boolean, repr: TcpRepr): void {
    if (this.segments) this.write(`tcp#${socket} ${outgoing ? '>' : '<'} ${formatSegment(repr)}`);
  }
}
