/**
 * Parse results of the wire layer: numeric codes, never exceptions.
 *
 * Every `Repr.parse()` and `checkLen()` returns one of these; `WireError.Ok` (0) means the bytes
 * were accepted. The packet path counts rejections by code and frees the slot; nothing in
 * src/wire throws on untrusted input.
 */

export const WireError = {
  /** Accepted. */
  Ok: 0,
  /** Fewer octets than the header or a length field says are there. */
  Truncated: 1,
  /** IPv4 version field is not 4. */
  BadVersion: 2,
  /** A header-length field is impossible (IHL < 5, TCP data offset < 5). */
  BadHeaderLength: 3,
  /** A total-length field is impossible (smaller than its own header). */
  BadLength: 4,
  /** The Internet checksum does not verify. */
  BadChecksum: 5,
  /** A TCP option is malformed (length 0 or 1, wrong fixed length, runs past the header). */
  BadOption: 6,
  /** A flag combination no sender may produce (TCP SYN+RST, SYN+FIN). */
  BadFlags: 7,
  /** Well-formed but not handled here. */
  Unsupported: 8,
} as const;

/** One of the `WireError` codes. */
export type WireErrorCode = (typeof WireError)[keyof typeof WireError];
