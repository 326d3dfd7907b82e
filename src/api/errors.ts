/**
 * Error catalog of src/api: manifests, validation, quantities.
 * Callers branch on `code`; `details.issues` carries the machine-readable list where there is one.
 */
import { defineError } from '../core/errors.js';

export const InvalidQuantity = defineError(
  'MBX_API_INVALID_QUANTITY',
  (text: string, why: string) =>
    `invalid quantity "${text}": ${why}; write a number with an optional suffix, e.g. "128Mi", "1G", "500m", "0.5" or "1e3"`,
  { httpStatus: 422 },
);

export const InvalidManifest = defineError(
  'MBX_API_INVALID_MANIFEST',
  (count: number, first: string) =>
    `${count} problem(s) in the manifests, nothing was applied; first: ${first}; fix every listed problem and apply again`,
  { httpStatus: 422 },
);

export const InvalidObject = defineError(
  'MBX_API_INVALID_OBJECT',
  (kind: string, name: string, summary: string) =>
    `${kind} "${name}" is invalid: ${summary}; fix the listed fields and send it again`,
  { httpStatus: 422 },
);
