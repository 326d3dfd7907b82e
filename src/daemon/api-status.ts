/** The API server's rescue: any thrown error becomes a Kubernetes Status object and HTTP status. */
import type { ServerResponse } from 'node:http';
import { firstMeshboxError, describeError } from '../core/errors.js';
import type { KubeStatus } from './api-types.js';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'ServiceUnavailable',
};

export function statusFromError(err: unknown): KubeStatus {
  const mbx = firstMeshboxError(err);
  const code = mbx ? mbx.httpStatus : 500;
  let reason = REASONS[code] ?? 'Unknown';
  if (mbx?.code === 'MBX_STORE_ALREADY_EXISTS') reason = 'AlreadyExists';
  const message = mbx ? describeError(mbx) : `internal error: ${describeError(err)}`;
  const causes: { reason: string; message: string; field?: string }[] = [
    { reason: mbx?.code ?? 'MBX_INTERNAL', message },
  ];
  const issues = mbx?.details?.issues;
  if (Array.isArray(issues)) {
    for (const i of issues as { path: string; message: string }[]) {
      causes.push({ reason: 'FieldValueInvalid', field: i.path, message: i.message });
    }
  }
  const details: NonNullable<KubeStatus['details']> = { causes };
  if (typeof mbx?.details?.name === 'string') details.name = mbx.details.name;
  if (typeof mbx?.details?.kind === 'string') details.kind = mbx.details.kind;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): KubeStatus {
  const status = statusFromError(err);
  if (res.headersSent) {
    res.destroy();
  } else {
    sendJson(res, status.code, status);
  }
  return status;
}
