/**
 * PcapFileSink: the file end of `PcapWriter` (src/phy/pcap-writer.ts). Writes synchronously with
 * node:fs, so a capture is complete on disk whenever the process stops. It is a driver: it may
 * allocate, and it is the only part of pcap capture that touches Node.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PcapSink } from '../phy/pcap-writer.ts';

export class PcapFileSink implements PcapSink {
  readonly path: string;
  private fd: number;

  /** Creates (or truncates) the file at `path`. */
  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, 'w');
  }

  /** Writes `bytes[off..off+len)` to the file now; the caller may reuse `bytes` afterwards. */
  write(bytes: Uint8Array, off: number, len: number): void {
    if (this.fd < 0) return;
    let done = 0;
    while (done < len) done += writeSync(this.fd, bytes, off + done, len - done);
  }

  /** Closes the file; later writes are ignored. */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
