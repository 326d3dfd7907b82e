/** Helpers shared by the Deployment controller tests (not shipped behaviour). */
import type { Pod } from '../../../api/types.js';
import type { Store } from '../../../store/types.js';
import { isPodActive, isPodReady } from '../../workloads-shared/pod-utils.js';
import { DEPLOYMENTS, PODS, REPLICASETS, type Deployment, type DeploymentSpec, type ReplicaSet } from '../../workloads-shared/types.js';

export function makeDeployment(store: Store, name: string, spec: Partial<DeploymentSpec> = {}, annotations?: Record<string, string>): Deployment {
  return store.create(DEPLOYMENTS, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: 'ns', name, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'host', env: [{ name: 'V', value: '1' }] }] } },
      ...spec,
    },
  }) as Deployment;
}

export function getDeployment(store: Store, name: string): Deployment {
  return store.get(DEPLOYMENTS, 'ns', name) as Deployment;
}

/** Applies an RFC 7386 merge patch, as the API server's PATCH does. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export function patchDeployment(store: Store, name: string, patch: Record<string, unknown>): Deployment {
  const cur = getDeployment(store, name);
  return store.update(DEPLOYMENTS, applyMergePatch(cur, patch) as Deployment) as Deployment;
}

/** Changes the container env so the template differs (a new revision). */
export function setVersion(store: Store, name: string, version: string, changeCause?: string): Deployment {
  const cur = structuredClone(getDeployment(store, name));
  cur.spec.template.spec.containers[0]!.env = [{ name: 'V', value: version }];
  if (changeCause) cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), 'kubernetes.io/change-cause': changeCause };
  return store.update(DEPLOYMENTS, cur) as Deployment;
}

export function replicaSetsOf(store: Store, d: Deployment): ReplicaSet[] {
  return (store.list(REPLICASETS, { namespace: 'ns' }).items as ReplicaSet[]).filter((rs) =>
    rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid),
  );
}

export interface PodCounts {
  active: number;
  ready: number;
  /** all pods of the deployment, terminating included */
  all: number;
  byVersion: Record<string, number>;
}

export function countPods(store: Store, d: Deployment): PodCounts {
  const rsUids = new Set(replicaSetsOf(store, d).map((rs) => rs.metadata.uid));
  const pods = (store.list(PODS, { namespace: 'ns' }).items as Pod[]).filter((p) =>
    p.metadata.ownerReferences?.some((r) => r.controller && rsUids.has(r.uid)),
  );
  const active = pods.filter(isPodActive);
  const byVersion: Record<string, number> = {};
  for (const p of pods) {
    const v = p.spec.containers[0]?.env?.[0]?.value ?? '?';
    byVersion[v] = (byVersion[v] ?? 0) + 1;
  }
  return { active: active.length, ready: active.filter(isPodReady).length, all: pods.length, byVersion };
}
