/** The workload a pod belongs to, as Istio's telemetry names it: the Deployment of its ReplicaSet, else its controller, else the pod. */
import type { KubeObject } from './types.js';

export function workloadName(pod: KubeObject): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return pod.metadata.name;
  // a ReplicaSet made by a Deployment is named <deployment>-<pod-template-hash>
  if (owner.kind === 'ReplicaSet') return owner.name.replace(/-[a-z0-9]{5,10}$/, '');
  return owner.name;
}
