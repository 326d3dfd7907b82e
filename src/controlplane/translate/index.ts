export * from './mesh-types.js';
export { MeshIndex, labelsMatch, hostMatches, type MeshService, type MeshPort, type MeshEndpoint } from './mesh-index.js';
export { SnapshotBuilder, OUTBOUND_PORT, INBOUND_PORT, domainsFor, egressAllows, type GatewayIdentity, type ProxySnapshot } from './snapshot-builder.js';
export { RouteTranslator, clusterName, type TranslationWarning } from './build-routes.js';
export { portProtocol } from './protocol.js';
export { effectivePolicy, policyForPort } from './traffic-policy.js';
