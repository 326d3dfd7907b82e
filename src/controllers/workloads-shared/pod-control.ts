/**
 * What the ReplicaSet and Job controllers do to pods and to their own status, in one place
 * (Kubernetes' PodControl): create pods from the owner's template through the API server's
 * admission, delete pods with a uid precondition, and write a status only when it changed.
 */
import type { KubeObject, Pod } from '../../api/types.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/types.js';
import { isStale } from './controller-ref.js';
import { podFromTemplate } from './pod-template.js';
import { PODS, type PodTemplateSpec } from './types.js';

/** Anything with Kubernetes' event methods (EventRecorder). */
export interface WorkloadEvents {
  normal(obj: KubeObject, reason: string, message: string): unknown;
  warning(obj: KubeObject, reason: string, message: string): unknown;
}

/**
 * What the API server does to a new pod (defaults, admission: node binding, finalizer, sidecar
 * injection). Controllers write to the store directly, so the daemon passes its admission here.
 */
export type AdmitPod = (pod: Pod) => Pod;

export class PodControl {
  readonly #store: Store;
  readonly #events: WorkloadEvents;
  readonly #admit: AdmitPod;

  constructor(store: Store, events: WorkloadEvents, admitPod: AdmitPod | undefined) {
    this.#store = store;
    this.#events = events;
    this.#admit = admitPod ?? ((p) => p);
  }

  /** Creates `count` pods controlled by `owner`; a failed create throws (the pods made before it stay). */
  createPods(owner: KubeObject, template: PodTemplateSpec, count: number, log: Logger, extraLabels?: Record<string, string>): Pod[] {
    const created: Pod[] = [];
    for (let i = 0; i < count; i++) {
      const pod = this.#store.create(PODS, this.#admit(podFromTemplate(template, owner, extraLabels))) as Pod;
      created.push(pod);
      this.#events.normal(owner, 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      log.debug({ pod: pod.metadata.name }, 'created pod');
    }
    return created;
  }

  /** Deletes the pods; returns how many this call deleted (one already gone or replaced is skipped). */
  deletePods(owner: KubeObject, pods: readonly Pod[], log: Logger): number {
    let deleted = 0;
    for (const pod of pods) {
      try {
        // uid precondition: never delete a newer pod that reused the name
        this.#store.delete(PODS, pod.metadata.namespace, pod.metadata.name, { uid: pod.metadata.uid as string });
      } catch (err) {
        if (isStale(err)) continue;
        throw err;
      }
      deleted++;
      this.#events.normal(owner, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      log.debug({ pod: pod.metadata.name }, 'deleted pod');
    }
    return deleted;
  }
}

/** Writes `status` onto `obj` unless it is what the object already has. */
export function writeStatusIfChanged<S>(store: Store, resource: string, obj: KubeObject & { status?: S }, status: S): void {
  if (JSON.stringify(obj.status ?? {}) === JSON.stringify(status)) return;
  try {
    store.updateStatus(resource, { ...obj, status });
  } catch (err) {
    // changed meanwhile: its watch event brings us back with the newer object
    if (!isStale(err)) throw err;
  }
}
