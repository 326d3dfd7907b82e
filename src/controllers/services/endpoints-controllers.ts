/**
 * Controller wiring for the Endpoints and EndpointSlice reconcilers: the Service is the root; a pod
 * maps to every Service of its namespace whose selector matches it (before and after a change, so a
 * relabelled pod leaves the old Service), and the managed objects map back to their Service.
 */
import type { KubeObject, Pod } from '../../api/types.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/types.js';
import { Controller, objectKey, type Informer, type InformerFactory } from '../../reconcile/index.js';
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

export function endpointsController(opts: EndpointsControllerOptions): Controller {
  const services = opts.informers.informerFor<Service>('services');
  const pods = opts.informers.informerFor<Pod>('pods');
  const endpoints = opts.informers.informerFor('endpoints');
  return new Controller({
    name: 'endpoints',
    reconciler: new EndpointsReconciler({ store: opts.store, services, pods }),
    workers: opts.workers ?? 2,
    ...(opts.log ? { log: opts.log } : {}),
  })
    .for(services as unknown as Informer<KubeObject>)
    .watches(pods as unknown as Informer<KubeObject>, servicesForPod(services))
    .for(endpoints);
}

export function endpointSliceController(opts: EndpointsControllerOptions): Controller {
  const services = opts.informers.informerFor<Service>('services');
  const pods = opts.informers.informerFor<Pod>('pods');
  const slices = opts.informers.informerFor(SLICE_RESOURCE);
  return new Controller({
    name: 'endpointslice',
    reconciler: new EndpointSliceReconciler({ store: opts.store, services, pods }),
    workers: opts.workers ?? 2,
    ...(opts.log ? { log: opts.log } : {}),
  })
    .for(services as unknown as Informer<KubeObject>)
    .watches(pods as unknown as Informer<KubeObject>, servicesForPod(services))
    .watches(slices, (s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      return svc ? [`${s.metadata.namespace ?? 'default'}/${svc}`] : [];
    });
}
