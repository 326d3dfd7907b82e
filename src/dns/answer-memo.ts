/**
 * Memo of encoded cluster answers. Cluster answers depend only on the question bytes, the size limit
 * of the transport and the records, so a repeated question (the common case: every pod asks the same
 * few names) is answered by copying the earlier answer and patching id and RD, with no decode, lookup
 * or encode. Any change to the records (their serial moves) empties the memo.
 *
 * Only plain queries qualify: one question, no answer/authority records, and no additional record
 * except one well-formed OPT ending the packet. Anything else takes the full path.
 */
import { FLAG_RD, HEADER_SIZE, type RawHeader } from './wire.js';

const TYPE_OPT = 41;

export interface MemoKey {
  key: string;
  /** largest answer the client takes (512, its EDNS size capped at 4096, or 65535 on TCP) */
  maxSize: number;
}

/** The memo key of a plain query, or undefined when the query must take the full path. */
export function memoKey(req: Buffer, h: RawHeader, qEnd: number, tcp: boolean): MemoKey | undefined {
  if (h.qdcount !== 1 || h.ancount !== 0 || h.nscount !== 0) return undefined;
  let maxSize = 512;
  let edns = 0;
  if (h.arcount === 0) {
    if (qEnd !== req.length) return undefined;
  } else if (h.arcount === 1) {
    // OPT: root name (0), type 41, class = UDP size, TTL = ext-rcode/version/flags, rdlen, rdata
    if (req.length < qEnd + 11 || req[qEnd] !== 0 || req.readUInt16BE(qEnd + 1) !== TYPE_OPT) return undefined;
    if (req[qEnd + 6] !== 0) return undefined; // EDNS version other than 0: full path
    if (qEnd + 11 + req.readUInt16BE(qEnd + 9) !== req.length) return undefined;
    maxSize = Math.min(4096, Math.max(512, req.readUInt16BE(qEnd + 3)));
    edns = 1;
  } else {
    return undefined;
  }
  if (tcp) maxSize = 65535;
  return { key: `${req.toString('latin1', HEADER_SIZE, qEnd)}|${maxSize}|${edns}`, maxSize };
}

interface Entry {
  answer: Buffer;
  nxdomain: boolean;
}

export class AnswerMemo {
  #entries = new Map<string, Entry>();
  #serial = -1;
  #maxEntries: number;

  constructor(maxEntries = 4096) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A copy of the memoised answer with the request's id and RD, or undefined. */
  get(key: string, serial: number, req: Buffer): { answer: Buffer; nxdomain: boolean } | undefined {
    if (serial !== this.#serial) {
      this.#entries.clear();
      this.#serial = serial;
      return undefined;
    }
    const e = this.#entries.get(key);
    if (!e) return undefined;
    const out = Buffer.from(e.answer);
    out.writeUInt16BE(req.readUInt16BE(0), 0);
    out.writeUInt16BE((out.readUInt16BE(2) & ~FLAG_RD) | (req.readUInt16BE(2) & FLAG_RD), 2);
    return { answer: out, nxdomain: e.nxdomain };
  }

  put(key: string, serial: number, answer: Buffer, nxdomain: boolean): void {
    if (serial !== this.#serial) {
      this.#entries.clear();
      this.#serial = serial;
    }
    // Wholesale reset when full: cheaper than LRU bookkeeping, and the hot names come back at once.
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(key, { answer, nxdomain });
  }
}
