/**
 * Request ids and trace propagation: x-request-id is generated when absent; W3C traceparent and
 * B3 (multi-header and single `b3`) keep the trace id and get a new span id per hop, with the
 * incoming span as parent.
 *
 * Ids need to be unique, not secret (Envoy draws them from its ordinary random generator), so they
 * come from V8's Math.random (xorshift128+, seeded from the OS) through a byte-to-hex table: no
 * node:crypto, which costs ~3.4 MB RSS per sidecar and an OpenSSL call per id.
 */

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** 32 random bits as 8 lowercase hex chars. */
function hex32(): string {
  const x = (Math.random() * 4294967296) >>> 0;
  return (HEX[x >>> 24] as string) + (HEX[(x >>> 16) & 255] as string) + (HEX[(x >>> 8) & 255] as string) + (HEX[x & 255] as string);
}

/** n bytes of randomness (n a multiple of 4) as 2n lowercase hex chars. */
export function randomHexBytes(n: number): string {
  if (n === 8) return hex32() + hex32();
  let s = '';
  for (let i = 0; i < n; i += 4) s += hex32();
  return s;
}

/** A version 4 UUID (RFC 9562): 122 random bits, version nibble 4, variant bits 10. */
export function newRequestId(): string {
  const a = hex32();
  const b = (Math.random() * 4294967296) >>> 0;
  const c = (Math.random() * 4294967296) >>> 0;
  const d = hex32();
  const b1 = (HEX[b >>> 24] as string) + (HEX[(b >>> 16) & 255] as string);
  const b2 = (HEX[0x40 | ((b >>> 8) & 15)] as string) + (HEX[b & 255] as string);
  const c1 = (HEX[0x80 | ((c >>> 24) & 63)] as string) + (HEX[(c >>> 16) & 255] as string);
  const c2 = (HEX[(c >>> 8) & 255] as string) + (HEX[c & 255] as string);
  return `${a}-${b1}-${b2}-${c1}-${c2}${d}`;
}

type Headers = Record<string, string | string[] | undefined>;
const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Rewrites trace headers in place on the upstream header object. A new trace is started when
 * the request carries none, so every hop after this proxy can be joined up.
 */
export function propagateTrace(h: Headers): void {
  const span = randomHexBytes(8);
  const tp = h.traceparent;
  const m = typeof tp === 'string' ? TRACEPARENT_RE.exec(tp) : null;
  if (m) h.traceparent = `00-${m[2]}-${span}-${m[4]}`;
  else h.traceparent = `00-${randomHexBytes(16)}-${span}-01`;

  const b3 = h['x-b3-traceid'];
  if (typeof b3 === 'string') {
    const parent = h['x-b3-spanid'];
    if (typeof parent === 'string') h['x-b3-parentspanid'] = parent;
    h['x-b3-spanid'] = span;
  }
  const single = h.b3;
  if (typeof single === 'string') {
    const parts = single.split('-');
    if (parts.length >= 2) h.b3 = `${parts[0]}-${span}${parts[2] ? `-${parts[2]}` : ''}-${parts[1]}`;
  }
}
