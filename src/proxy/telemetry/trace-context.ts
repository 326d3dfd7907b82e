/**
 * Request ids and trace propagation: x-request-id is generated when absent; W3C traceparent and
 * B3 (multi-header and single `b3`) keep the trace id and get a new span id per hop, with the
 * incoming span as parent. Random hex comes from a pooled buffer to keep the hot path cheap.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

/** n bytes of randomness as 2n lowercase hex chars. */
export function randomHexBytes(n: number): string {
  if (offset + n > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const s = pool.toString('hex', offset, offset + n);
  offset += n;
  return s;
}

export function newRequestId(): string {
  return randomUUID();
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
