/**
 * The resource registry: every kind meshbox serves, with its Kubernetes names.
 * The store keys objects by `resource` (plural.group); the API server maps REST paths through it;
 * the CLI resolves kind names, plurals and short names through it.
 */
export interface ResourceType {
  kind: string;
  /** lowercase plural, as in REST paths */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  /** '' for the core group */
  group: string;
  /** the storage/preferred version */
  version: string;
  /** other versions accepted on input (Istio: v1beta1, v1alpha3) */
  acceptedVersions: readonly string[];
  namespaced: boolean;
}

function rt(
  kind: string,
  plural: string,
  group: string,
  version: string,
  shortNames: string[] = [],
  namespaced = true,
  acceptedVersions: string[] = [version],
): ResourceType {
  return { kind, plural, singular: kind.toLowerCase(), shortNames, group, version, acceptedVersions, namespaced };
}

export const RESOURCES: readonly ResourceType[] = [
  rt('Namespace', 'namespaces', '', 'v1', ['ns'], false),
  rt('Pod', 'pods', '', 'v1', ['po']),
  rt('ConfigMap', 'configmaps', '', 'v1', ['cm']),
  rt('Secret', 'secrets', '', 'v1'),
  rt('Event', 'events', '', 'v1', ['ev']),
  rt('ServiceAccount', 'serviceaccounts', '', 'v1', ['sa']),
  rt('Service', 'services', '', 'v1', ['svc']),
  rt('Endpoints', 'endpoints', '', 'v1', ['ep']),
  rt('EndpointSlice', 'endpointslices', 'discovery.k8s.io', 'v1'),
  rt('Deployment', 'deployments', 'apps', 'v1', ['deploy']),
  rt('ReplicaSet', 'replicasets', 'apps', 'v1', ['rs']),
  rt('Job', 'jobs', 'batch', 'v1'),
  rt('NetworkPolicy', 'networkpolicies', 'networking.k8s.io', 'v1', ['netpol']),
  rt('VirtualService', 'virtualservices', 'networking.istio.io', 'v1', ['vs'], true, ['v1', 'v1beta1', 'v1alpha3']),
  rt('DestinationRule', 'destinationrules', 'networking.istio.io', 'v1', ['dr'], true, ['v1', 'v1beta1', 'v1alpha3']),
  rt('Gateway', 'gateways', 'networking.istio.io', 'v1', ['gw'], true, ['v1', 'v1beta1', 'v1alpha3']),
  rt('ServiceEntry', 'serviceentries', 'networking.istio.io', 'v1', ['se'], true, ['v1', 'v1beta1', 'v1alpha3']),
  rt('Sidecar', 'sidecars', 'networking.istio.io', 'v1', [], true, ['v1', 'v1beta1', 'v1alpha3']),
];

/** "pods" or "deployments.apps": the store's key for a resource type. */
export function resourceKey(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** "v1" or "apps/v1". */
export function apiVersionOf(r: ResourceType, version = r.version): string {
  return r.group ? `${r.group}/${version}` : version;
}

const byName = new Map<string, ResourceType>();
for (const r of RESOURCES) {
  for (const n of [r.kind.toLowerCase(), r.plural, r.singular, ...r.shortNames, resourceKey(r)]) byName.set(n, r);
}

/** Resolves a kind as users type it: "po", "pods", "Pod", "deploy", "virtualservices.networking.istio.io". */
export function resolveResource(name: string): ResourceType | undefined {
  return byName.get(name.toLowerCase());
}

/** The resource for an object's apiVersion and kind, if meshbox serves it at that version. */
export function resourceFor(apiVersion: string, kind: string): ResourceType | undefined {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return RESOURCES.find((r) => r.kind === kind && r.group === group && r.acceptedVersions.includes(version));
}

export function resourceByKind(kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}
