/** Error catalog of the Prometheus text exposition shared by the control plane and the CLI. */
import { defineError } from '../../core/errors.js';

export const BadExposition = defineError(
  'MBX_TELEMETRY_BAD_EXPOSITION',
  (line: number, reason: string) =>
    `line ${line} of the metrics text is not valid Prometheus text exposition (0.0.4): ${reason}; fix the exporter that produced it`,
  { httpStatus: 502 },
);
