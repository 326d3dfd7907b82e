/** Error catalog of the Service controllers: ClusterIP/NodePort allocation and endpoints. */
import { defineError } from '../../core/errors.js';

export const ClusterIpOutOfRange = defineError(
  'MBX_SERVICES_CLUSTER_IP_OUT_OF_RANGE',
  (ip: string, cidr: string) =>
    `spec.clusterIP: Invalid value: "${ip}": provided IP is not in the valid range. The range of valid IPs is ${cidr}; leave spec.clusterIP empty to get one allocated`,
  { httpStatus: 422 },
);

export const ClusterIpAllocated = defineError(
  'MBX_SERVICES_CLUSTER_IP_ALLOCATED',
  (ip: string, owner: string) =>
    `spec.clusterIP: Invalid value: "${ip}": provided IP is already allocated (to Service ${owner}); pick another address or leave spec.clusterIP empty`,
  { httpStatus: 422 },
);

export const ClusterIpRangeFull = defineError(
  'MBX_SERVICES_CLUSTER_IP_RANGE_FULL',
  (cidr: string) =>
    `spec.clusterIP: Internal error: failed to allocate a serviceIP: range is full (${cidr}); delete unused Services or start meshbox with a larger --service-cidr`,
  { httpStatus: 500, retryable: true },
);

export const ClusterIpImmutable = defineError(
  'MBX_SERVICES_CLUSTER_IP_IMMUTABLE',
  (from: string, to: string) =>
    `spec.clusterIP: Invalid value: "${to}": field is immutable (it is "${from}"); delete and create the Service again to change it`,
  { httpStatus: 422 },
);

export const ClusterIpInvalid = defineError(
  'MBX_SERVICES_CLUSTER_IP_INVALID',
  (ip: string) => `spec.clusterIP: Invalid value: "${ip}": must be a valid IPv4 address, "None", or empty to allocate one`,
  { httpStatus: 422 },
);

export const NodePortOutOfRange = defineError(
  'MBX_SERVICES_NODE_PORT_OUT_OF_RANGE',
  (port: number, range: string) =>
    `spec.ports[].nodePort: Invalid value: ${port}: provided port is not in the valid range. The range of valid ports is ${range}; leave nodePort empty to get one allocated`,
  { httpStatus: 422 },
);

export const NodePortAllocated = defineError(
  'MBX_SERVICES_NODE_PORT_ALLOCATED',
  (port: number, owner: string) =>
    `spec.ports[].nodePort: Invalid value: ${port}: provided port is already allocated (to Service ${owner}); pick another port or leave nodePort empty`,
  { httpStatus: 422 },
);

export const NodePortRangeFull = defineError(
  'MBX_SERVICES_NODE_PORT_RANGE_FULL',
  (range: string) => `spec.ports[].nodePort: Internal error: range is full (${range}); delete unused NodePort Services`,
  { httpStatus: 500, retryable: true },
);

export const InvalidServiceCidr = defineError(
  'MBX_SERVICES_INVALID_CIDR',
  (cidr: string) => `service CIDR "${cidr}" is not an IPv4 CIDR with a prefix of /8 to /30; pass one like 10.96.0.0/16`,
);
