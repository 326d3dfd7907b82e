/** Wires the ReplicaSet reconciler to its informers: ReplicaSets (root), their pods, orphan pods. */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { Controller } from '../../reconcile/controller.js';
import type { InformerFactory } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import { orphanToOwners } from '../workloads-shared/orphan-mapper.js';
import { PODS, REPLICASETS, type ReplicaSet } from '../workloads-shared/types.js';
import { ReplicaSetReconciler, type AdmitPod, type WorkloadEvents } from './replicaset-reconciler.js';

export interface WorkloadControllerOptions {
  store: Store;
  informers: InformerFactory;
  /** an EventRecorder with component "replicaset-controller" (or any WorkloadEvents) */
  events: WorkloadEvents;
  log: Logger;
  clock?: Clock;
  workers?: number;
  /** the API server's admission for pods the controllers create (node binding, finalizer, injection) */
  admitPod?: AdmitPod;
}

export function createReplicaSetController(options: WorkloadControllerOptions): Controller {
  const rsInformer = options.informers.informerFor(REPLICASETS);
  const podInformer = options.informers.informerFor(PODS);
  const reconciler = new ReplicaSetReconciler({
    store: options.store,
    events: options.events,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.admitPod ? { admitPod: options.admitPod } : {}),
  });
  return new Controller({
    name: 'replicaset-controller',
    reconciler,
    workers: options.workers ?? 2,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  })
    .for(rsInformer)
    .owns(podInformer, 'ReplicaSet', 'apps/v1')
    .watches(podInformer, orphanToOwners(rsInformer, (o) => (o as ReplicaSet).spec?.selector));
}
