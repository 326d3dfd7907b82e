/**
 * Cluster DNS: the server, the zone it answers from, and how the daemon finds upstream resolvers.
 *
 *   const records = new ClusterRecords({ domain, reverseCidrs: [podCidr, serviceCidr] });
 *   // keep current from store watches: upsertPod/deletePod, upsertService/deleteService,
 *   // upsertEndpoints/deleteEndpoints (v1 Endpoints or discovery/v1 EndpointSlice)
 *   const server = new DnsServer({ records, host: gatewayIp, port: 53, upstreams: await readHostResolvers() });
 *   await server.start();  ...  await server.stop();
 */
export { ClusterRecords, DNS_SCHEMA_VERSION, SERVICE_NAME_LABEL } from './cluster-records.js';
export type {
  ClusterRecordsOptions,
  DnsEndpointSlice,
  DnsEndpoints,
  DnsPod,
  DnsService,
  DnsServicePort,
  LookupResult,
} from './cluster-records.js';
export { DnsServer } from './dns-server.js';
export type { DnsServerOptions, DnsServerStats } from './dns-server.js';
export { readHostResolvers, parseNameservers } from './read-host-resolvers.js';
export { parseUpstream } from './upstream-forwarder.js';
export * from './errors.js';
export { syncClusterRecords, applyToClusterRecords, DNS_RESOURCES } from './sync-cluster-records.js';
export { registerDnsMetrics } from './dns-metrics.js';
