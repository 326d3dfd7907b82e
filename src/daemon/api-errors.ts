/** Error catalog of the API server (the store's codes come from src/store/errors.ts). */
import { defineError } from '../core/errors.js';

export const BadRequest = defineError('MBX_API_BAD_REQUEST', (what: string) => what, { httpStatus: 400 });

export const RouteNotFound = defineError(
  'MBX_API_ROUTE_NOT_FOUND',
  (path: string) => `the server could not find the requested resource (${path}): check the kind and API version (see GET /api and /apis)`,
  { httpStatus: 404 },
);

export const MethodNotAllowed = defineError(
  'MBX_API_METHOD_NOT_ALLOWED',
  (method: string, path: string) => `method ${method} is not supported on ${path}`,
  { httpStatus: 405 },
);

export const BodyTooLarge = defineError(
  'MBX_API_BODY_TOO_LARGE',
  (limit: number) => `request body is larger than ${limit} bytes: split the manifests into several applies`,
  { httpStatus: 413 },
);

export const UnsupportedMediaType = defineError(
  'MBX_API_UNSUPPORTED_MEDIA_TYPE',
  (type: string, supported: string) => `content type "${type}" is not supported here; use ${supported}`,
  { httpStatus: 415 },
);

export const InvalidObject = defineError(
  'MBX_API_INVALID',
  (kind: string, name: string, issues: string) => `${kind} "${name}" is invalid: ${issues}`,
  { httpStatus: 422 },
);

export const NamespaceNotFound = defineError(
  'MBX_API_NAMESPACE_NOT_FOUND',
  (ns: string) => `namespace "${ns}" not found: create it first (kind: Namespace) or apply it in the same apply`,
  { httpStatus: 404 },
);

export const NamespaceTerminating = defineError(
  'MBX_API_NAMESPACE_TERMINATING',
  (ns: string) => `namespace "${ns}" is being deleted: wait until it is gone, then create it again`,
  { httpStatus: 403 },
);

export const NotSupported = defineError(
  'MBX_API_NOT_SUPPORTED',
  (what: string) => `${what} is not available in this daemon (no pod runtime is attached)`,
  { httpStatus: 501 },
);

export const SocketInUse = defineError(
  'MBX_API_SOCKET_IN_USE',
  (path: string) => `another process is serving the API at ${path}: stop that daemon (\`meshbox down\`) or use another --state-dir`,
);
