/** Error catalog of the mesh control plane. */
import { defineError } from '../core/errors.js';

export const ProxyUnauthorized = defineError(
  'MBX_CONTROLPLANE_UNAUTHORIZED',
  (nodeId: string, reason: string) =>
    `proxy ${nodeId} was refused: ${reason}; the proxy must present the token the daemon put in its pod (MESHBOX_PROXY_TOKEN), restart the pod if it was recreated`,
  { httpStatus: 403 },
);

export const UnknownProxy = defineError(
  'MBX_CONTROLPLANE_UNKNOWN_PROXY',
  (proxyId: string) => `no proxy ${proxyId} is connected to the control plane; list them with \`meshbox proxy-status\``,
  { httpStatus: 404 },
);

export const BadNodeId = defineError(
  'MBX_CONTROLPLANE_BAD_NODE_ID',
  (nodeId: string) =>
    `node id ${JSON.stringify(nodeId)} is not "sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.cluster.local" or "router~IP~NAME.NAMESPACE~..."; fix the proxy's bootstrap node.id`,
  { httpStatus: 400 },
);

export const ProtocolViolation = defineError(
  'MBX_CONTROLPLANE_PROTOCOL',
  (reason: string) => `config stream protocol violation: ${reason}; the proxy and the daemon must run the same meshbox version`,
  { httpStatus: 400 },
);
