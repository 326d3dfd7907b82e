/**
 * Keeps a ClusterRecords current from the store: list, then watch from the list's resourceVersion
 * (no gap, no duplicate work), for pods, services, endpoints and endpointslices. Level-triggered in
 * spirit: every event carries the whole object, and an upsert replaces what was known of it.
 */
import type { KubeObject } from '../api/types.js';
import type { Store, WatchEvent } from '../store/types.js';
import type { ClusterRecords, DnsEndpointSlice, DnsEndpoints, DnsPod, DnsService } from './cluster-records.js';

export const DNS_RESOURCES = ['pods', 'services', 'endpoints', 'endpointslices.discovery.k8s.io'] as const;

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

/** Applies one store event to the records. */
export function applyToClusterRecords(records: ClusterRecords, resource: string, type: WatchEvent['type'], obj: KubeObject): void {
  const deleted = type === 'DELETED';
  switch (resource) {
    case 'pods':
      return deleted ? records.deletePod(keyOf(obj)) : records.upsertPod(obj as unknown as DnsPod);
    case 'services':
      return deleted ? records.deleteService(keyOf(obj)) : records.upsertService(obj as unknown as DnsService);
    case 'endpoints':
      return deleted
        ? records.deleteEndpoints(keyOf(obj))
        : records.upsertEndpoints({ ...(obj as unknown as DnsEndpoints), kind: 'Endpoints' });
    case 'endpointslices.discovery.k8s.io':
      return deleted
        ? records.deleteEndpoints(keyOf(obj), 'EndpointSlice')
        : records.upsertEndpoints({ ...(obj as unknown as DnsEndpointSlice), kind: 'EndpointSlice' });
  }
}

/** Loads everything once and follows changes; returns a function that stops the watches. */
export function syncClusterRecords(store: Store, records: ClusterRecords): () => void {
  const stops: (() => void)[] = [];
  for (const resource of DNS_RESOURCES) {
    const listed = store.list(resource);
    for (const obj of listed.items) applyToClusterRecords(records, resource, 'ADDED', obj);
    stops.push(
      store.watch(resource, { resourceVersion: listed.resourceVersion }, (e) =>
        applyToClusterRecords(records, e.resource, e.type, e.object),
      ),
    );
  }
  return () => {
    for (const stop of stops) stop();
  };
}
