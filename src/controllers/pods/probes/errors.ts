/** Error catalog of probes and lifecycle hooks (kubelet prober and handler runner). */
import { defineError } from '../../../core/errors.js';

export const ProbePortNotFound = defineError(
  'MBX_PROBE_PORT_NOT_FOUND',
  (port: string, container: string) =>
    `couldn't find port: ${port} in container ${container}: name the port in spec.containers[].ports or give the probe a port number`,
  { httpStatus: 422 },
);

export const ProbeInvalidPort = defineError(
  'MBX_PROBE_INVALID_PORT',
  (port: string) => `invalid port number: ${port}: use a port between 1 and 65535`,
  { httpStatus: 422 },
);

export const ProbeNoAction = defineError(
  'MBX_PROBE_NO_ACTION',
  (what: string) => `${what} has no action: set exactly one of exec, httpGet, tcpSocket or grpc`,
  { httpStatus: 422 },
);

/** A lifecycle hook failed; the message is the kubelet's ("Exec lifecycle hook (...) for Container ..."). */
export const HookFailed = defineError('MBX_PROBE_HOOK_FAILED', (message: string) => message);

export const HookUnsupported = defineError(
  'MBX_PROBE_HOOK_UNSUPPORTED',
  (message: string) => `${message}: tcpSocket is deprecated for lifecycle hooks and does nothing in Kubernetes; use exec, httpGet or sleep`,
  { httpStatus: 422 },
);
