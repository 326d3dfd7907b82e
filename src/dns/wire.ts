/**
 * Raw DNS header work that must not depend on a full decode: replies to packets dns-packet cannot
 * parse (FORMERR), echoing the question byte for byte, and rewriting ids for forwarding.
 */

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

export const HEADER_SIZE = 12;

export interface RawHeader {
  id: number;
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function readHeader(buf: Buffer): RawHeader | undefined {
  if (buf.length < HEADER_SIZE) return undefined;
  return {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

export function opcodeOf(flags: number): number {
  return (flags >> 11) & 0xf;
}

/**
 * End offset of the first question (name + type + class), or undefined when it runs past the buffer
 * or uses a compression pointer (legal in theory, never sent by real clients in a query's question).
 */
export function questionEnd(buf: Buffer): number | undefined {
  let off = HEADER_SIZE;
  let total = 0;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    if ((len & 0xc0) !== 0) return undefined;
    total += len + 1;
    if (total > 255) return undefined;
    off += 1 + len;
  }
  off += 4;
  return off <= buf.length ? off : undefined;
}

/**
 * A reply made of the request's header (id, opcode, RD kept) with `rcode`, plus the question echoed
 * when `questionEndOffset` is given. No answer records.
 */
export function rawReply(req: Buffer, rcode: number, extraFlags: number, questionEndOffset?: number): Buffer {
  const qlen = questionEndOffset === undefined ? 0 : questionEndOffset - HEADER_SIZE;
  const out = Buffer.alloc(HEADER_SIZE + qlen);
  const reqFlags = req.readUInt16BE(2);
  out.writeUInt16BE(req.readUInt16BE(0), 0);
  out.writeUInt16BE(FLAG_QR | (reqFlags & 0x7800) | (reqFlags & FLAG_RD) | extraFlags | (rcode & 0xf), 2);
  out.writeUInt16BE(qlen > 0 ? 1 : 0, 4);
  if (qlen > 0) req.copy(out, HEADER_SIZE, HEADER_SIZE, questionEndOffset);
  return out;
}

/**
 * Builds `header + question + rest`: `encodedWithoutQuestion` is a dns-packet encoding with no
 * questions; the request's question bytes are spliced in so the echo is exact (case included).
 */
export function spliceQuestion(encodedWithoutQuestion: Buffer, req: Buffer, questionEndOffset: number): Buffer {
  const q = req.subarray(HEADER_SIZE, questionEndOffset);
  const out = Buffer.allocUnsafe(encodedWithoutQuestion.length + q.length);
  encodedWithoutQuestion.copy(out, 0, 0, HEADER_SIZE);
  out.writeUInt16BE(1, 4);
  q.copy(out, HEADER_SIZE);
  encodedWithoutQuestion.copy(out, HEADER_SIZE + q.length, HEADER_SIZE);
  return out;
}

/** Compares two question sections ignoring ASCII case (0x20 bit randomisation must still match). */
export function sameQuestion(a: Buffer, aEnd: number, b: Buffer, bEnd: number): boolean {
  if (aEnd !== bEnd) return false;
  for (let i = HEADER_SIZE; i < aEnd; i++) {
    let x = a[i]!;
    let y = b[i]!;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * True when every label of the question name is made of letters, digits, '-', '_' or '*'. Every name
 * in the cluster zone is; a label holding a '.' byte or binary would decode to a different name.
 */
export function plainQuestionName(buf: Buffer, questionEndOffset: number): boolean {
  const end = questionEndOffset - 4;
  for (let off = HEADER_SIZE; off < end; ) {
    const len = buf[off]!;
    if (len === 0) break;
    for (let i = off + 1; i <= off + len; i++) {
      const c = buf[i]!;
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2a;
      if (!ok) return false;
    }
    off += len + 1;
  }
  return true;
}
