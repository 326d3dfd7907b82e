/**
 * Controller wiring for the Endpoints and EndpointSlice reconcilers: the Service is the root; a pod
 * maps to every Service of its namespace whose selector matches it (before and after a change, so a
 * relabelled pod leaves the old Service), and the managed objects map back to their Service.
 */
import type { KubeObject, Pod } from '../../api/types.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/types.js';
import { Controller, objectKey, type Informer, type InformerFactory, type Reconciler } from '../../reconcile/index.js';
import { EndpointSliceReconciler, SERVICE_NAME_LABEL, SLICE_RESOURCE } from './endpoint-slice-reconciler.js';
import { EndpointsReconciler } from './endpoints-reconciler.js';
import { selectorMatches } from './service-endpoints.js';
import type { Service } from './service-types.js';

export interface EndpointsControllerOptions {
  store: Store;
  informers: InformerFactory;
  log?: Logger;
  workers?: number;
}

function servicesForPod(services: Informer<Service>): (obj: KubeObject) => string[] {
  return (obj) => {
    const ns = obj.metadata.namespace ?? 'default';
    return services
      .list(ns)
      .filter((s) => selectorMatches(s.spec?.selector, obj.metadata.labels))
      .map((s) => objectKey(s));
  };
}

/**
 * The Service-rooted controller both reconcilers run in: Services are the root and a pod maps to the
 * Services that select it; the caller adds the watch on its own managed objects.
 */
function serviceRootedController(
  name: string,
  opts: EndpointsControllerOptions,
  makeReconciler: (informers: { services: Informer<Service>; pods: Informer<Pod> }) => Reconciler,
): Controller {
  const services = opts.informers.informerFor<Service>('services');
  const pods = opts.informers.informerFor<Pod>('pods');
  return new Controller({
    name,
    reconciler: makeReconciler({ services, pods }),
    workers: opts.workers ?? 2,
    ...(opts.log ? { log: opts.log } : {}),
  })
    .for(services as unknown as Informer<KubeObject>)
    .watches(pods as unknown as Informer<KubeObject>, servicesForPod(services));
}

export function endpointsController(opts: EndpointsControllerOptions): Controller {
  const controller = serviceRootedController('endpoints', opts, (i) => new EndpointsReconciler({ store: opts.store, ...i }));
  return controller.for(opts.informers.informerFor('endpoints'));
}

export function endpointSliceController(opts: EndpointsControllerOptions): Controller {
  const controller = serviceRootedController('endpointslice', opts, (i) => new EndpointSliceReconciler({ store: opts.store, ...i }));
  return controller.watches(opts.informers.informerFor(SLICE_RESOURCE), (s) => {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${s.metadata.namespace ?? 'default'}/${svc}`] : [];
  });
}
