/**
 * Error catalog of src/api. Manifest and validation problems are not errors but lists of issues
 * (manifest.ts, validate.ts); the CLI and the API server wrap them in their own coded errors.
 */
import { defineError } from '../core/errors.js';

export const InvalidQuantity = defineError(
  'MBX_API_INVALID_QUANTITY',
  (text: string, why: string) =>
    `invalid quantity "${text}": ${why}; write a number with an optional suffix, e.g. "128Mi", "1G", "500m", "0.5" or "1e3"`,
  { httpStatus: 422 },
);

export const InvalidSelector = defineError(
  'MBX_API_INVALID_SELECTOR',
  (what: string) => `invalid label selector: ${what}`,
  { httpStatus: 422 },
);
