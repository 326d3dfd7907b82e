/**
 * The workload controllers (ReplicaSet, Deployment, Job) and the client-side rollout helpers, in
 * one place for the daemon and the CLI.
 *
 * Daemon wiring (after the pod controller, sharing its InformerFactory):
 *   for (const c of createWorkloadControllers({ store, informers, log })) { await c.start(); controllers.push(c); }
 * The GarbageCollector must run too: it deletes a deleted Deployment's ReplicaSets and their pods.
 */
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Controller } from '../../reconcile/controller.js';
import { EventRecorder } from '../../reconcile/events.js';
import type { InformerFactory } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import { createDeploymentController } from '../deployment/deployment-controller.js';
import { createJobController } from '../job/job-controller.js';
import { createReplicaSetController } from '../replicaset/replicaset-controller.js';
import type { AdmitPod } from './pod-control.js';

export { createReplicaSetController, type WorkloadControllerOptions } from '../replicaset/replicaset-controller.js';
export { ReplicaSetReconciler } from '../replicaset/replicaset-reconciler.js';
export { PodControl, writeStatusIfChanged, type AdmitPod, type WorkloadEvents } from './pod-control.js';
export { createDeploymentController } from '../deployment/deployment-controller.js';
export { DeploymentReconciler } from '../deployment/deployment-reconciler.js';
export { createJobController, type JobControllerOptions } from '../job/job-controller.js';
export { JobReconciler } from '../job/job-reconciler.js';
export {
  rolloutStatus,
  rolloutHistory,
  formatRolloutHistory,
  revisionTemplate,
  rolloutUndoPatch,
  rolloutRestartPatch,
  mergePatch,
  type RolloutStatus,
  type RolloutHistoryRow,
  type RolloutUndo,
} from '../deployment/rollout.js';
export { runRollout, type RolloutApi, type RolloutAction, type RolloutOptions } from '../deployment/rollout-actions.js';
export { computePodTemplateHash, POD_TEMPLATE_HASH_LABEL } from '../deployment/pod-template-hash.js';
export * from './types.js';

export interface WorkloadControllersOptions {
  store: Store;
  informers: InformerFactory;
  log: Logger;
  clock?: Clock;
  /** the API server's admission for new pods, e.g. `(pod) => admit(resolveResource('pods')!, pod) as Pod` */
  admitPod?: AdmitPod;
}

/** The three controllers, each with its own event source component as in Kubernetes. */
export function createWorkloadControllers(o: WorkloadControllersOptions): Controller[] {
  const base = { store: o.store, informers: o.informers, ...(o.clock ? { clock: o.clock } : {}), ...(o.admitPod ? { admitPod: o.admitPod } : {}) };
  const recorder = (component: string) => new EventRecorder({ store: o.store, component, log: o.log, ...(o.clock ? { clock: o.clock } : {}) });
  return [
    createReplicaSetController({ ...base, events: recorder('replicaset-controller'), log: o.log.child({ component: 'replicaset-controller' }) }),
    createDeploymentController({ ...base, events: recorder('deployment-controller'), log: o.log.child({ component: 'deployment-controller' }) }),
    createJobController({ ...base, events: recorder('job-controller'), log: o.log.child({ component: 'job-controller' }) }),
  ];
}
