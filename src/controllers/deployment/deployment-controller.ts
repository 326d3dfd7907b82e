/**
 * Wires the Deployment reconciler: Deployments (root), their ReplicaSets, orphan ReplicaSets, and
 * pods (through their ReplicaSet to its Deployment, for availability changes).
 */
import type { KubeObject } from '../../api/types.js';
import { controllerOwnerKey, type Controller } from '../../reconcile/controller.js';
import type { Informer } from '../../reconcile/informer.js';
import { workloadController, type WorkloadControllerOptions } from '../workloads-shared/workload-controller.js';
import { orphanToOwners } from '../workloads-shared/orphan-mapper.js';
import { DEPLOYMENTS, PODS, REPLICASETS, type Deployment } from '../workloads-shared/types.js';
import { DeploymentReconciler } from './deployment-reconciler.js';

export function createDeploymentController(options: WorkloadControllerOptions): Controller {
  const deployInformer = options.informers.informerFor(DEPLOYMENTS);
  const rsInformer = options.informers.informerFor(REPLICASETS);
  const podInformer = options.informers.informerFor(PODS);
  const reconciler = new DeploymentReconciler({
    store: options.store,
    events: options.events,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return workloadController('deployment-controller', reconciler, options)
    .for(deployInformer)
    .owns(rsInformer, 'Deployment', 'apps/v1')
    .watches(rsInformer, orphanToOwners(deployInformer, (o) => (o as Deployment).spec?.selector))
    .watches(podInformer, podToDeployment(rsInformer));
}

function podToDeployment(rsInformer: Informer<KubeObject>) {
  return (pod: KubeObject): string[] => {
    const rsKey = controllerOwnerKey(pod, 'ReplicaSet', 'apps/v1');
    if (!rsKey) return [];
    const rs = rsInformer.getByKey(rsKey);
    if (!rs) return [];
    const key = controllerOwnerKey(rs, 'Deployment', 'apps/v1');
    return key ? [key] : [];
  };
}
