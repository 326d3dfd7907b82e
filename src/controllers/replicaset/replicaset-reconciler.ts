/**
 * The ReplicaSet controller (Kubernetes' pkg/controller/replicaset): keeps spec.replicas active pods
 * that match the selector and are controlled by the ReplicaSet, and reports status.
 *
 * Stale caches: pods are listed from the store itself on every reconcile (the store is local and
 * synchronous), never from the informer, so a cache that has not yet seen the pods this controller
 * just created cannot make it create more (the re-list alternative to client-go's expectations).
 */
import type { Pod } from '../../api/types.js';
import { rfc3339, systemClock, type Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { getCondition } from '../../reconcile/conditions.js';
import type { Logger } from '../../core/logger.js';
import { type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconcile/controller.js';
import { splitKey } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import { claimObjects } from '../workloads-shared/controller-ref.js';
import { PodControl, writeStatusIfChanged, type AdmitPod, type WorkloadEvents } from '../workloads-shared/pod-control.js';
import { workloadSelectorOrStop } from '../workloads-shared/pod-template.js';
import {
  compareForDeletion,
  isPodActive,
  isPodAvailable,
  isPodReady,
  nextAvailableInMs,
} from '../workloads-shared/pod-utils.js';
import { PODS, REPLICASETS, type ReplicaSet, type ReplicaSetStatus } from '../workloads-shared/types.js';

export type { AdmitPod, WorkloadEvents } from '../workloads-shared/pod-control.js';

export interface ReplicaSetReconcilerOptions {
  store: Store;
  events: WorkloadEvents;
  log: Logger;
  clock?: Clock;
  /** most pods created or deleted in one reconcile (Kubernetes' burstReplicas, 500) */
  burst?: number;
  /** the API server's admission for new pods (see AdmitPod) */
  admitPod?: AdmitPod;
}

export class ReplicaSetReconciler implements Reconciler {
  readonly #store: Store;
  readonly #events: WorkloadEvents;
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #pods: PodControl;

  constructor(options: ReplicaSetReconcilerOptions) {
    this.#store = options.store;
    this.#events = options.events;
    this.#clock = options.clock ?? systemClock;
    this.#burst = options.burst ?? 500;
    this.#pods = new PodControl(options.store, options.events, options.admitPod);
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const rs = this.#store.get(REPLICASETS, namespace, name) as ReplicaSet | undefined;
    // Gone or going: the garbage collector deletes its pods through their owner references.
    if (!rs || rs.metadata.deletionTimestamp) return;

    const selector = workloadSelectorOrStop(this.#events, rs, rs.spec?.selector, 'InvalidSelector');

    const all = this.#store.list(PODS, { namespace: namespace as string }).items as Pod[];
    const owned = claimObjects({ store: this.#store, resource: PODS, owner: rs, selector, candidates: all, log });
    const active = owned.filter(isPodActive);

    const want = rs.spec.replicas ?? 1;
    let changed = false;
    let createError: unknown;
    if (active.length < want) {
      try {
        changed = this.#pods.createPods(rs, rs.spec.template, Math.min(want - active.length, this.#burst), log).length > 0;
      } catch (err) {
        // Reported on the ReplicaSet (event + ReplicaFailure), then retried with back-off below.
        createError = err;
        changed = true;
        this.#events.warning(rs, 'FailedCreate', `Error creating: ${describeError(err)}`);
      }
    } else if (active.length > want) {
      const doomed = [...active].sort(compareForDeletion).slice(0, Math.min(active.length - want, this.#burst));
      changed = this.#pods.deletePods(rs, doomed, log) > 0;
    }

    // Count what is true now: a re-list, cheap against the local store.
    const now = this.#clock.now();
    const after = changed
      ? (this.#store.list(PODS, { namespace: namespace as string }).items as Pod[]).filter(
          (p) => isPodActive(p) && p.metadata.ownerReferences?.some((r) => r.controller && r.uid === rs.metadata.uid),
        )
      : active;
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = Object.entries(rs.spec.template?.metadata?.labels ?? {});
    const status: ReplicaSetStatus = {
      replicas: after.length,
      fullyLabeledReplicas: after.filter((p) => templateLabels.every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: after.filter(isPodReady).length,
      availableReplicas: after.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    const conditions = (rs.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
    if (createError !== undefined) {
      conditions.push(
        getCondition(rs.status?.conditions, 'ReplicaFailure') ?? {
          type: 'ReplicaFailure',
          status: 'True',
          lastTransitionTime: rfc3339(now),
          reason: 'FailedCreate',
          message: describeError(createError),
        },
      );
    }
    if (conditions.length) status.conditions = conditions;
    writeStatusIfChanged(this.#store, REPLICASETS, rs, status);
    if (createError !== undefined) throw createError;

    const wait = nextAvailableInMs(after, minReady, now);
    return wait !== undefined ? { requeueAfter: wait } : undefined;
  }
}
