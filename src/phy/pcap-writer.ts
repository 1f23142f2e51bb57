/**
 * PcapWriter: a Device wrapper that records every frame it sees in the classic libpcap format
 * (https://wiki.wireshark.org/Development/LibpcapFileFormat), link type RAW (101: each record is
 * an IPv4 packet with no link header, which is what a SLIP frame carries).
 *
 * The global header is written at construction, then one 16-octet record header plus the frame
 * per frame received and/or transmitted. Timestamps are `epochMs + now` split into seconds and
 * microseconds. Bytes go to a `PcapSink`; the file sink is in `src/drivers/pcap-file.ts`.
 *
 * Promises: no allocation per frame (one fixed 24-octet scratch buffer; the frame itself is
 * passed to the sink straight from the pool); the wrapped device's behaviour is unchanged.
 */
import type { Device, DeviceCapabilities, TxPriority } from './device.ts';
import type { PacketPool } from '../storage/packet-pool.ts';
import { copyBytes } from '../storage/copy.ts';

/**
 * Where pcap bytes go. `write` receives a view of memory the writer reuses (a scratch buffer or a
 * pool slot): the sink must copy what it keeps before returning.
 */
export interface PcapSink {
  write(bytes: Uint8Array, off: number, len: number): void;
}

/** libpcap LINKTYPE_RAW: raw IPv4/IPv6, no link-layer header. */
export const LINKTYPE_RAW = 101;
/** Global header magic (microsecond timestamps), written in little-endian order as libpcap on x86 does. */
export const PCAP_MAGIC = 0xa1b2c3d4;
/** Octets in the global header. */
export const PCAP_GLOBAL_HEADER_LEN = 24;
/** Octets in each record header. */
export const PCAP_RECORD_HEADER_LEN = 16;
/** Largest octets captured per frame. */
export const PCAP_SNAPLEN = 65535;

export interface PcapWriterOptions {
  /** Added to `now` (ms) to form the timestamps: the wall-clock time, in ms, at which `now` was 0. Defaults to 0. */
  epochMs?: number;
  /** Which frames to record. Defaults to 'both'. */
  mode?: 'rx' | 'tx' | 'both';
}

/** Defaults of PcapWriterOptions. */
export const DEFAULT_PCAP_WRITER_OPTIONS: Readonly<Required<PcapWriterOptions>> = Object.freeze({
  epochMs: 0,
  mode: 'both',
});

export interface PcapWriterStats {
  /** Records written. */
  records: number;
  /** Octets handed to the sink (headers included). */
  bytes: number;
}

export class PcapWriter implements Device {
  readonly inner: Device;
  readonly sink: PcapSink;
  readonly stats: PcapWriterStats = { records: 0, bytes: 0 };
  private readonly epochMs: number;
  private readonly recordRx: boolean;
  private readonly recordTx: boolean;
  private readonly scratch = new Uint8Array(PCAP_GLOBAL_HEADER_LEN);
  private readonly view = new DataView(this.scratch.buffer);

  constructor(inner: Device, sink: PcapSink, options: PcapWriterOptions = {}) {
    this.inner = inner;
    this.sink = sink;
    this.epochMs = options.epochMs ?? DEFAULT_PCAP_WRITER_OPTIONS.epochMs;
    const mode = options.mode ?? DEFAULT_PCAP_WRITER_OPTIONS.mode;
    this.recordRx = mode !== 'tx';
    this.recordTx = mode !== 'rx';
    const v = this.view;
    v.setUint32(0, PCAP_MAGIC, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: timestamps are UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, PCAP_SNAPLEN, true);
    v.setUint32(20, LINKTYPE_RAW, true);
    this.emit(this.scratch, 0, PCAP_GLOBAL_HEADER_LEN);
  }

  get capabilities(): DeviceCapabilities {
    return this.inner.capabilities;
  }

  get pool(): PacketPool {
    return this.inner.pool;
  }

  receive(now: number): number {
    const slot = this.inner.receive(now);
    if (slot >= 0 && this.recordRx) this.record(now, slot);
    return slot;
  }

  transmit(now: number, slot: number, priority?: TxPriority): void {
    if (this.recordTx) this.record(now, slot);
    this.inner.transmit(now, slot, priority);
  }

  pollAt(now: number): number {
    return this.inner.pollAt(now);
  }

  canTransmit(now: number): boolean {
    return this.inner.canTransmit(now);
  }

  /** Writes one record: header from the scratch buffer, then the frame straight from the pool. */
  private record(now: number, slot: number): void {
    const pool = this.inner.pool;
    const len = pool.len[slot]!;
    const captured = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
    const t = this.epochMs + now;
    const seconds = Math.floor(t / 1000);
    const v = this.view;
    v.setUint32(0, seconds >>> 0, true);
    v.setUint32(4, (t - seconds * 1000) * 1000, true);
    v.setUint32(8, captured, true);
    v.setUint32(12, len, true);
    this.emit(this.scratch, 0, PCAP_RECORD_HEADER_LEN);
    this.emit(pool.bytes, pool.start[slot]!, captured);
    this.stats.records++;
  }

  private emit(bytes: Uint8Array, off: number, len: number): void {
    this.sink.write(bytes, off, len);
    this.stats.bytes += len;
  }
}

/** A PcapSink that collects into a fixed in-memory buffer (tests). Octets beyond `capacity` are counted in `overflow` and lost. */
export class MemoryPcapSink implements PcapSink {
  readonly bytes: Uint8Array;
  /** Octets collected so far. */
  length = 0;
  /** Octets that did not fit. */
  overflow = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  write(bytes: Uint8Array, off: number, len: number): void {
    const room = this.bytes.length - this.length;
    const n = len < room ? len : room;
    copyBytes(this.bytes, this.length, bytes, off, n);
    this.length += n;
    this.overflow += len - n;
  }
}
