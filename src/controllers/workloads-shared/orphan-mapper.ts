/**
 * Maps an orphan (an object without a controlling owner) to the owners whose selector matches it,
 * so they can adopt it (Kubernetes' getPodReplicaSets / getReplicaSetsForDeployment lookups).
 */
import type { KubeObject } from '../../api/types.js';
import type { MapFn } from '../../reconcile/controller.js';
import { objectKey, type Informer } from '../../reconcile/informer.js';
import { selectorFromObject, type LabelSelector } from '../../store/label-selector.js';
import { controllerOf } from './controller-ref.js';

export function orphanToOwners(owners: Informer<KubeObject>, selectorOf: (owner: KubeObject) => LabelSelector | undefined): MapFn {
  return (obj) => {
    if (controllerOf(obj) || !obj.metadata.namespace) return [];
    const keys: string[] = [];
    for (const owner of owners.list(obj.metadata.namespace)) {
      const sel = selectorOf(owner);
      try {
        const compiled = selectorFromObject(sel);
        if (!compiled.empty && compiled.matches(obj.metadata.labels)) keys.push(objectKey(owner));
      } catch {
        // an invalid selector is reported by the owner's own reconcile
      }
    }
    return keys;
  };
}
