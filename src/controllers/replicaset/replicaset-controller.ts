/** Wires the ReplicaSet reconciler to its informers: ReplicaSets (root), their pods, orphan pods. */
import type { Controller } from '../../reconcile/controller.js';
import { orphanToOwners } from '../workloads-shared/orphan-mapper.js';
import { PODS, REPLICASETS, type ReplicaSet } from '../workloads-shared/types.js';
import { reconcilerOptions, workloadController, type WorkloadControllerOptions } from '../workloads-shared/workload-controller.js';
import { ReplicaSetReconciler } from './replicaset-reconciler.js';

export type { WorkloadControllerOptions } from '../workloads-shared/workload-controller.js';

export function createReplicaSetController(options: WorkloadControllerOptions): Controller {
  const rsInformer = options.informers.informerFor(REPLICASETS);
  const podInformer = options.informers.informerFor(PODS);
  return workloadController('replicaset-controller', new ReplicaSetReconciler(reconcilerOptions(options)), options)
    .for(rsInformer)
    .owns(podInformer, 'ReplicaSet', 'apps/v1')
    .watches(podInformer, orphanToOwners(rsInformer, (o) => (o as ReplicaSet).spec?.selector));
}
