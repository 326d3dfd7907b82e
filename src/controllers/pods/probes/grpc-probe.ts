/**
 * grpc probes: one unary call to grpc.health.v1.Health/Check over plaintext HTTP/2 (kubelet
 * pkg/probe/grpc). The two messages are hand-encoded protobuf:
 *   HealthCheckRequest  { string service = 1; }        -> 0x0a <len> <utf8>
 *   HealthCheckResponse { ServingStatus status = 1; }  -> 0x08 <varint>
 */
import http2 from 'node:http2';
import { dialError, formatHostPort } from './dial-error.js';
import type { ProbeResult } from './probe-target.js';

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** gRPC status codes the messages below name */
const GRPC_UNIMPLEMENTED = 12;
const GRPC_CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];

export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), encodeVarint(name.length), name]);
  return frame(body);
}

/** Encodes a response message (used by tests' health servers). */
export function encodeHealthCheckResponse(status: number): Buffer {
  return frame(status === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x08]), encodeVarint(status)]));
}

/** Decodes the `service` of a framed request (used by tests' health servers). */
export function decodeHealthCheckRequest(framed: Buffer): string {
  const msg = unframe(framed);
  let service = '';
  forEachField(msg, (field, wire, value) => {
    if (field === 1 && wire === 2 && Buffer.isBuffer(value)) service = value.toString('utf8');
  });
  return service;
}

/** The status of a framed HealthCheckResponse (0 when the field is absent, as proto3 defaults). */
export function decodeHealthCheckResponse(framed: Buffer): number {
  const msg = unframe(framed);
  let status = 0;
  forEachField(msg, (field, wire, value) => {
    if (field === 1 && wire === 0 && typeof value === 'number') status = value;
  });
  return status;
}

export async function grpcProbe(action: { port: number; service?: string }, podIP: string, timeoutMs: number): Promise<ProbeResult> {
  const service = action.service ?? '';
  const authority = formatHostPort(podIP, action.port);
  const seconds = `${timeoutMs / 1000}s`;
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const session = http2.connect(`http://${authority}`);
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(r);
    };
    // one socket timer bounds connect and call; the message depends on how far we got
    session.setTimeout(timeoutMs, () =>
      done(
        connected
          ? { outcome: 'failure', output: `timeout: health rpc did not complete within ${seconds}` }
          : { outcome: 'failure', output: `timeout: failed to connect service "${authority}" within ${seconds}: context deadline exceeded` },
      ),
    );
    session.on('connect', () => (connected = true));
    const connectFailed = (err: Error): ProbeResult => {
      const cause = (err as { cause?: unknown }).cause ?? err;
      return { outcome: 'failure', output: `timeout: failed to connect service "${authority}" within ${seconds}: ${dialError(podIP, action.port, cause)}` };
    };
    session.on('error', (err) => done(connectFailed(err)));
    const req = session.request({
      ':method': 'POST',
      ':path': HEALTH_CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
      'user-agent': 'kube-probe/1.30',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    let httpStatus = 0;
    const takeStatus = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
      if (typeof h['grpc-message'] === 'string') grpcMessage = decodeURIComponent(h['grpc-message']);
    };
    req.on('response', (h) => {
      httpStatus = Number(h[':status']);
      takeStatus(h); // a trailers-only response carries the status in the headers
    });
    req.on('trailers', takeStatus);
    req.on('data', (c: Buffer) => chunks.push(c));
    // a refused connection surfaces on the pending stream before the session reports it
    req.on('error', (err) => done(connected ? { outcome: 'failure', output: `error: health rpc probe failed: ${err.message}` } : connectFailed(err)));
    req.on('end', () => {
      if (httpStatus !== 200 && grpcStatus === undefined) {
        return done({ outcome: 'failure', output: `error: health rpc probe failed: rpc error: code = Unknown desc = unexpected HTTP status code received from server: ${httpStatus}` });
      }
      if (grpcStatus === GRPC_UNIMPLEMENTED) {
        return done({ outcome: 'failure', output: `this server does not implement the grpc health protocol (grpc.health.v1.Health): ${grpcMessage}` });
      }
      if (grpcStatus !== 0) {
        const name = GRPC_CODE_NAMES[grpcStatus ?? 2] ?? `Code(${grpcStatus})`;
        return done({ outcome: 'failure', output: `error: health rpc probe failed: rpc error: code = ${name} desc = ${grpcMessage}` });
      }
      let status: number;
      try {
        status = decodeHealthCheckResponse(Buffer.concat(chunks));
      } catch (err) {
        return done({ outcome: 'failure', output: `error: health rpc probe failed: ${(err as Error).message}` });
      }
      if (status !== 1) {
        return done({ outcome: 'failure', output: `service unhealthy (responded with "${SERVING_STATUS[status] ?? String(status)}")` });
      }
      done({ outcome: 'success', output: 'service healthy' });
    });
    req.end(encodeHealthCheckRequest(service));
  });
}

// === protobuf / gRPC framing ===

function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0); // not compressed
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function unframe(framed: Buffer): Buffer {
  if (framed.length < 5) throw new Error('grpc: short message frame');
  if (framed[0] !== 0) throw new Error('grpc: compressed messages are not supported');
  const len = framed.readUInt32BE(1);
  if (framed.length < 5 + len) throw new Error('grpc: truncated message');
  return framed.subarray(5, 5 + len);
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, i + 1];
    mul *= 128;
  }
  throw new Error('protobuf: bad varint');
}

/** Walks the fields of a message; skips unknown ones as protobuf requires. */
function forEachField(msg: Buffer, fn: (field: number, wire: number, value: number | Buffer) => void): void {
  let pos = 0;
  while (pos < msg.length) {
    const [key, p1] = readVarint(msg, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [v, p2] = readVarint(msg, p1);
      fn(field, wire, v);
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(msg, p1);
      if (p2 + len > msg.length) throw new Error('protobuf: truncated field');
      fn(field, wire, msg.subarray(p2, p2 + len));
      pos = p2 + len;
    } else if (wire === 1) pos = p1 + 8;
    else if (wire === 5) pos = p1 + 4;
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
}
