/**
 * The one place where failures become responses (linkerd's rescue). Deep code throws typed errors
 * from errors.ts; this maps them to a status, an Envoy response flag and the `x-meshbox-error`
 * header, with gRPC requests answered the gRPC way (HTTP 200 + grpc-status trailers-only).
 */
import { describeError, firstMeshboxError } from '../core/errors.js';
import { FLAG_BY_CODE, type ResponseFlag } from './errors.js';

export interface Rescued {
  status: number;
  flag: ResponseFlag | '-';
  reason: string;
}

export function classify(err: unknown): Rescued {
  const me = firstMeshboxError(err);
  const flag = me ? (FLAG_BY_CODE[me.code] ?? '-') : '-';
  const status = (me?.details?.status as number | undefined) ?? me?.httpStatus ?? 500;
  return { status, flag, reason: describeError(err).replace(/[\r\n]+/g, ' ') };
}

/** Envoy's HTTP → gRPC status mapping for proxy-generated responses. */
export function grpcStatusFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: return 14;
    case 504: return 4;
    default: return 2;
  }
}

/** Minimal response surface shared by http.ServerResponse and http2's compat response. */
export interface ResponseLike {
  headersSent: boolean;
  writableEnded: boolean;
  destroyed?: boolean;
  writeHead(status: number, headers?: Record<string, string | number | string[]>): unknown;
  end(body?: string | Buffer): unknown;
  destroy(err?: Error): unknown;
}

/** Writes the synthetic response; if the response had started, the stream is reset instead. */
export function sendRescue(res: ResponseLike, r: Rescued, isGrpc: boolean, requestId: string | undefined): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    // Mid-response failure: the only honest signal left is an abrupt end.
    res.destroy();
    return;
  }
  const header = `${r.flag} ${r.reason}`;
  if (isGrpc) {
    const h: Record<string, string> = {
      'content-type': 'application/grpc',
      'grpc-status': String(grpcStatusFor(r.status)),
      'grpc-message': encodeURIComponent(r.reason),
      'x-meshbox-error': header,
    };
    if (requestId) h['x-request-id'] = requestId;
    res.writeHead(200, h);
    res.end();
    return;
  }
  const body = `${header}\n`;
  const h: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-meshbox-error': header,
  };
  if (requestId) h['x-request-id'] = requestId;
  res.writeHead(r.status, h);
  res.end(body);
}
