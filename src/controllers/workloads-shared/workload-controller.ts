/** The options and wiring the ReplicaSet, Deployment and Job controller factories share. */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { Controller, type Reconciler } from '../../reconcile/controller.js';
import type { InformerFactory } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import type { AdmitPod, WorkloadEvents } from './pod-control.js';

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

/** The options every workload reconciler takes, passed on only where set. */
export function reconcilerOptions(options: WorkloadControllerOptions): { store: Store; events: WorkloadEvents; log: Logger; clock?: Clock; admitPod?: AdmitPod } {
  return {
    store: options.store,
    events: options.events,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.admitPod ? { admitPod: options.admitPod } : {}),
  };
}

/** A Controller for a workload reconciler, two workers unless told otherwise; the caller adds its watches. */
export function workloadController(name: string, reconciler: Reconciler, options: WorkloadControllerOptions): Controller {
  return new Controller({
    name,
    reconciler,
    workers: options.workers ?? 2,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
