/**
 * A small tar (POSIX ustar) writer and reader, so the flash image is built the same way on any
 * host and byte for byte the same every time: entries in the order given, one fixed mtime,
 * owner root (0/0), modes 0644 / 0755. A board extracts it with busybox or GNU `tar -x`.
 *
 * The reader understands what `npm pack` produces (ustar, pax `path` records, GNU long names),
 * which is all the flash build reads.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

/** Octets per tar block. */
const BLOCK = 512;

/** One file or directory in an archive. */
export interface TarEntry {
  /** Path inside the archive, '/'-separated, no leading '/'; a directory's ends without '/'. */
  path: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** File content; null for a directory. */
  data: Uint8Array | null;
}

/** The mtime written on every entry: 2000-01-01T00:00:00Z (a fixed time keeps builds identical). */
export const TAR_MTIME = 946_684_800;

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: '${value}' does not fit in ${length} octets`);
  header.set(bytes, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  // length - 1 octal digits, then NUL.
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit in a ${length}-octet field`);
  writeString(header, offset, length - 1, digits);
}

/** Splits a long path into ustar's prefix (<= 155) and name (<= 100) at a '/'. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(entry: TarEntry): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const isDir = entry.data === null;
  const { prefix, name } = splitPath(isDir ? `${entry.path}/` : entry.path);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, entry.mode & 0o7777);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, isDir ? 0 : entry.data!.length);
  writeOctal(h, 136, 12, TAR_MTIME);
  h.fill(0x20, 148, 156); // the checksum field counts as spaces while summing
  h[156] = isDir ? 0x35 : 0x30; // '5' directory, '0' regular file
  writeString(h, 257, 6, 'ustar');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'root');
  writeString(h, 297, 32, 'root');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  // Six octal digits, NUL, space: what every tar writes.
  writeString(h, 148, 6, sum.toString(8).padStart(6, '0'));
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** The archive (uncompressed): each entry's header and data padded to 512, then two zero blocks. */
export function tarBytes(entries: readonly TarEntry[]): Uint8Array {
  let total = 2 * BLOCK;
  for (const e of entries) total += BLOCK + (e.data === null ? 0 : Math.ceil(e.data.length / BLOCK) * BLOCK);
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out.set(header(e), at);
    at += BLOCK;
    if (e.data !== null) {
      out.set(e.data, at);
      at += Math.ceil(e.data.length / BLOCK) * BLOCK;
    }
  }
  return out;
}

/** `tarBytes` gzipped at level 9 (Node's zlib writes no name and mtime 0: the same input gives the same octets). */
export function tarGz(entries: readonly TarEntry[]): Uint8Array {
  return gzipSync(tarBytes(entries), { level: 9 });
}

function readString(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + offset, end - offset).toString('utf8');
}

function readOctal(block: Uint8Array, offset: number, length: number): number {
  const s = readString(block, offset, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Pax extended header records: "<len> key=value\n" ... */
function paxPath(data: Uint8Array): string | null {
  const text = Buffer.from(data).toString('utf8');
  let at = 0;
  while (at < text.length) {
    const space = text.indexOf(' ', at);
    if (space < 0) break;
    const len = Number(text.slice(at, space));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = text.slice(space + 1, at + len - 1);
    if (record.startsWith('path=')) return record.slice(5);
    at += len;
  }
  return null;
}

/**
 * The files and directories in a tar archive (gzipped or not). Symbolic links and other special
 * entries are skipped; a path is taken from a pax or GNU long-name record when there is one.
 */
export function readTar(archive: Uint8Array): TarEntry[] {
  const bytes = archive[0] === 0x1f && archive[1] === 0x8b ? new Uint8Array(gunzipSync(archive)) : archive;
  const entries: TarEntry[] = [];
  let at = 0;
  let longPath: string | null = null;
  while (at + BLOCK <= bytes.length) {
    const block = bytes.subarray(at, at + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = readOctal(block, 124, 12);
    const type = String.fromCharCode(block[156]!);
    const data = bytes.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longPath = paxPath(data);
      continue;
    }
    if (type === 'L') {
      longPath = readString(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = readString(block, 345, 155);
    const name = readString(block, 0, 100);
    let path = longPath ?? (prefix !== '' ? `${prefix}/${name}` : name);
    longPath = null;
    if (path.endsWith('/')) path = path.slice(0, -1);
    const mode = readOctal(block, 100, 8);
    if (type === '0' || type === '\0') entries.push({ path, mode, data: new Uint8Array(data) });
    else if (type === '5') entries.push({ path, mode, data: null });
  }
  return entries;
}
