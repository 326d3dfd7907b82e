/**
 * Services (issue 3 items 5-7, 9): ClusterIP/NodePort allocation as admission, the Endpoints and
 * EndpointSlice controllers, the kube-proxy data path (ServiceProxy over netfilter/), and the
 * service environment variables the kubelet injects.
 */
export { ClusterIpAllocator, DEFAULT_NODE_PORT_RANGE, type ClusterIpAllocatorOptions, type PortRange } from './cluster-ip-allocator.js';
export { endpointsController, endpointSliceController, type EndpointsControllerOptions } from './endpoints-controllers.js';
export { EndpointsReconciler, desiredEndpoints } from './endpoints-reconciler.js';
export {
  EndpointSliceReconciler,
  desiredSlices,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_ENDPOINTS_PER_SLICE,
  SERVICE_NAME_LABEL,
  SLICE_RESOURCE,
} from './endpoint-slice-reconciler.js';
export { ServiceProxy, servicePortRules, type ServiceProxyOptions, type ServiceProxyStats, type SyncInfo } from './service-proxy.js';
export { serviceEnvVars } from './service-env-vars.js';
export { isPodReady, podEndpoints, resolveTargetPort, selectorMatches } from './service-endpoints.js';
export * from './errors.js';
export type * from './service-types.js';
