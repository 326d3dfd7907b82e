/**
 * The EndpointSlice (discovery.k8s.io/v1) controller. Per Service with a selector: slices labelled
 * `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, at most 100 endpoints
 * each, one group of slices per distinct port list. Every pod with an IP is in (terminating ones
 * too, with ready=false, serving=<Ready>, terminating=true), so consumers can drain gracefully.
 *
 * Names are deterministic, `<service>-<hash of the port list and chunk index>`, so a reconcile that
 * runs twice (or after a restart) converges on the same objects instead of making new ones. A
 * Service without endpoints keeps one empty placeholder slice, as Kubernetes does.
 */
import { createHash } from 'node:crypto';
import type { Pod } from '../../api/types.js';
import type { Store } from '../../store/types.js';
import { splitKey, type Informer, type ReconcileContext, type Reconciler } from '../../reconcile/index.js';
import {
  canonical,
  endpointIdentity,
  endpointLabels,
  managedObjectMeta,
  podEndpoints,
  sameManagedMeta,
  wantsManagedEndpoints,
  type PodEndpoint,
} from './service-endpoints.js';
import type { EndpointPort, EndpointSlice, Service, SliceEndpoint } from './service-types.js';

export const SLICE_RESOURCE = 'endpointslices.discovery.k8s.io';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** Kubernetes' own value, so tools that look for controller-managed slices find these. */
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface EndpointSliceReconcilerOptions {
  store: Store;
  services: Informer<Service>;
  pods: Informer<Pod>;
  maxEndpointsPerSlice?: number;
}

export class EndpointSliceReconciler implements Reconciler {
  readonly #store: Store;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #max: number;

  constructor(opts: EndpointSliceReconcilerOptions) {
    this.#store = opts.store;
    this.#services = opts.services;
    this.#pods = opts.pods;
    this.#max = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? 'default';
    const svc = this.#services.get(ns, name);
    const existing = this.#store.list(SLICE_RESOURCE, {
      namespace: ns,
      labelSelector: `${SERVICE_NAME_LABEL}=${name},${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    }).items as EndpointSlice[];
    const desired = wantsManagedEndpoints(svc) ? desiredSlices(svc, this.#pods.list(ns), this.#max) : [];
    const byName = new Map(existing.map((s) => [s.metadata.name, s]));
    let writes = 0;
    for (const want of desired) {
      const have = byName.get(want.metadata.name);
      byName.delete(want.metadata.name);
      if (!have) {
        this.#store.create(SLICE_RESOURCE, want);
        writes++;
      } else if (!sameSlice(have, want)) {
        this.#store.update(SLICE_RESOURCE, { ...want, metadata: { ...want.metadata, resourceVersion: have.metadata.resourceVersion! } });
        writes++;
      }
    }
    for (const stale of byName.values()) {
      this.#store.delete(SLICE_RESOURCE, ns, stale.metadata.name);
      writes++;
    }
    if (writes > 0) ctx.log.debug({ writes, slices: desired.length }, 'endpoint slices updated');
  }
}

/** The slices a Service should have, given the pods of its namespace. */
export function desiredSlices(svc: Service, pods: readonly Pod[], maxPerSlice = MAX_ENDPOINTS_PER_SLICE): EndpointSlice[] {
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: SliceEndpoint[] }>();
  for (const ep of podEndpoints(svc, pods)) {
    const portsKey = canonical(ep.ports);
    let g = groups.get(portsKey);
    if (!g) groups.set(portsKey, (g = { ports: ep.ports, endpoints: [] }));
    g.endpoints.push(sliceEndpoint(ep));
  }
  const out: EndpointSlice[] = [];
  const keys = [...groups.keys()].sort();
  for (const portsKey of keys) {
    const g = groups.get(portsKey)!;
    for (let i = 0; i * maxPerSlice < g.endpoints.length; i++) {
      out.push(slice(svc, `${portsKey}#${i}`, g.ports, g.endpoints.slice(i * maxPerSlice, (i + 1) * maxPerSlice)));
    }
  }
  if (out.length === 0) out.push(slice(svc, 'placeholder', [], []));
  return out;
}

export function sliceName(svcName: string, key: string): string {
  return `${svcName}-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
}

function slice(svc: Service, key: string, ports: EndpointPort[], endpoints: SliceEndpoint[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: managedObjectMeta(svc, sliceName(svc.metadata.name, key), {
      ...endpointLabels(svc),
      [SERVICE_NAME_LABEL]: svc.metadata.name,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    }),
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

function sliceEndpoint(ep: PodEndpoint): SliceEndpoint {
  return {
    addresses: [ep.ip],
    conditions: { ready: ep.ready, serving: ep.serving, terminating: ep.terminating },
    ...endpointIdentity(ep),
  };
}

function sameSlice(a: EndpointSlice, b: EndpointSlice): boolean {
  return (
    canonical(a.endpoints ?? []) === canonical(b.endpoints) &&
    canonical(a.ports ?? []) === canonical(b.ports ?? []) &&
    a.addressType === b.addressType &&
    sameManagedMeta(a, b)
  );
}
