/**
 * The Endpoints (v1) controller: one Endpoints object per Service with a selector, named as the
 * Service, holding ready pods in `addresses` and not-ready ones in `notReadyAddresses`; terminating
 * pods leave it (unless publishNotReadyAddresses). Subsets group addresses that serve the same
 * ports (a named targetPort may resolve differently per pod). Writes only when something changed.
 */
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
import type { EndpointAddress, EndpointSubset, Endpoints, Service } from './service-types.js';

export interface EndpointsReconcilerOptions {
  store: Store;
  services: Informer<Service>;
  pods: Informer<Pod>;
}

export class EndpointsReconciler implements Reconciler {
  readonly #store: Store;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;

  constructor(opts: EndpointsReconcilerOptions) {
    this.#store = opts.store;
    this.#services = opts.services;
    this.#pods = opts.pods;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? 'default';
    const svc = this.#services.get(ns, name);
    const existing = this.#store.get('endpoints', ns, name) as Endpoints | undefined;
    if (!wantsManagedEndpoints(svc)) {
      // Only what meshbox made goes: Endpoints of a selector-less Service are the user's.
      if (existing && ownedBy(existing, svc)) {
        this.#store.delete('endpoints', ns, name);
        ctx.log.debug('deleted the Endpoints of a Service that is gone or has no selector');
      }
      return;
    }
    const desired = desiredEndpoints(svc, this.#pods.list(ns));
    if (!existing) {
      this.#store.create('endpoints', desired);
      return;
    }
    if (sameEndpoints(existing, desired)) return;
    this.#store.update('endpoints', { ...desired, metadata: { ...desired.metadata, resourceVersion: existing.metadata.resourceVersion! } });
  }
}

/** The Endpoints object a Service should have, given the pods of its namespace. */
export function desiredEndpoints(svc: Service, pods: readonly Pod[]): Endpoints {
  const groups = new Map<string, EndpointSubset>();
  for (const ep of podEndpoints(svc, pods)) {
    if (ep.terminating && !svc.spec.publishNotReadyAddresses) continue;
    const portsKey = canonical(ep.ports);
    let subset = groups.get(portsKey);
    if (!subset) {
      subset = ep.ports.length > 0 ? { ports: ep.ports } : {};
      groups.set(portsKey, subset);
    }
    const list = ep.ready ? (subset.addresses ??= []) : (subset.notReadyAddresses ??= []);
    list.push(address(ep));
  }
  const subsets = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: managedObjectMeta(svc, svc.metadata.name, endpointLabels(svc)),
    subsets,
  };
}

function address(ep: PodEndpoint): EndpointAddress {
  return { ip: ep.ip, ...endpointIdentity(ep) };
}

function sameEndpoints(a: Endpoints, b: Endpoints): boolean {
  return canonical(a.subsets ?? []) === canonical(b.subsets ?? []) && sameManagedMeta(a, b);
}

function ownedBy(ep: Endpoints, svc: Service | undefined): boolean {
  const ref = ep.metadata.ownerReferences?.find((r) => r.kind === 'Service' && r.controller === true);
  if (!ref) return false;
  return !svc || ref.uid === svc.metadata.uid;
}
