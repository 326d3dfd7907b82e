/** Error catalog of the object store. Codes are stable; the API server maps httpStatus to a Status. */
import { defineError } from '../core/errors.js';

export const NotFound = defineError(
  'MBX_STORE_NOT_FOUND',
  (resource: string, namespace: string | undefined, name: string) =>
    `${resource} "${name}" not found${namespace ? ` in namespace "${namespace}"` : ''}: check the name and namespace (list them with \`meshbox get ${resource.split('.')[0]}\`)`,
  { httpStatus: 404 },
);

export const AlreadyExists = defineError(
  'MBX_STORE_ALREADY_EXISTS',
  (resource: string, namespace: string | undefined, name: string) =>
    `${resource} "${name}" already exists${namespace ? ` in namespace "${namespace}"` : ''}: choose another name, or update it (\`meshbox apply\`)`,
  { httpStatus: 409 },
);

export const Conflict = defineError(
  'MBX_STORE_CONFLICT',
  (resource: string, name: string, why: string) =>
    `operation on ${resource} "${name}" conflicts: ${why}; read the latest version and try again`,
  { httpStatus: 409, retryable: true },
);

export const Invalid = defineError(
  'MBX_STORE_INVALID',
  (what: string) => `invalid request: ${what}`,
  { httpStatus: 422 },
);

export const Expired = defineError(
  'MBX_STORE_EXPIRED',
  (rv: string, oldest: string) =>
    `resourceVersion ${rv} is too old (the change log starts after ${oldest}): list again and watch from the list's resourceVersion`,
  { httpStatus: 410 },
);
