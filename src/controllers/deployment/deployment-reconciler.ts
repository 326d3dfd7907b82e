/**
 * The Deployment controller: claims the ReplicaSets its selector matches, then rolls out (see
 * DeploymentSync). Everything is read from the store on each reconcile; nothing is remembered
 * between reconciles, so a restarted daemon continues a rollout from what it finds.
 */
import type { Pod } from '../../api/types.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { terminal, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconcile/controller.js';
import { splitKey } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import type { WorkloadEvents } from '../workloads-shared/pod-control.js';
import { claimObjects } from '../workloads-shared/controller-ref.js';
import { InvalidIntOrPercent } from '../workloads-shared/errors.js';
import { workloadSelectorOrStop } from '../workloads-shared/pod-template.js';
import { DEPLOYMENTS, PODS, REPLICASETS, type Deployment, type ReplicaSet } from '../workloads-shared/types.js';
import { DeploymentSync } from './deployment-sync.js';

export interface DeploymentReconcilerOptions {
  store: Store;
  events: WorkloadEvents;
  log: Logger;
  clock?: Clock;
}

export class DeploymentReconciler implements Reconciler {
  readonly #store: Store;
  readonly #events: WorkloadEvents;
  readonly #clock: Clock;

  constructor(options: DeploymentReconcilerOptions) {
    this.#store = options.store;
    this.#events = options.events;
    this.#clock = options.clock ?? systemClock;
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const d = this.#store.get(DEPLOYMENTS, namespace, name) as Deployment | undefined;
    // Gone or going: the garbage collector removes its ReplicaSets, and theirs pods, by owner.
    if (!d || d.metadata.deletionTimestamp) return;

    const selector = workloadSelectorOrStop(this.#events, d, d.spec?.selector, 'SelectingAll');

    const candidates = this.#store.list(REPLICASETS, { namespace: namespace as string }).items as ReplicaSet[];
    const rss = claimObjects({ store: this.#store, resource: REPLICASETS, owner: d, selector, candidates, log });
    const pods = this.#store.list(PODS, { namespace: namespace as string }).items as Pod[];
    const sync = new DeploymentSync(d, rss, pods, { store: this.#store, events: this.#events, log, now: this.#clock.now() });
    try {
      sync.run();
    } catch (err) {
      // A bad maxSurge/maxUnavailable does not get better by retrying: say so once and wait for a fix.
      if (InvalidIntOrPercent.is(err)) {
        this.#events.warning(d, 'InvalidStrategy', (err as Error).message);
        throw terminal(err);
      }
      throw err;
    } finally {
      // Revision annotations, conditions and collisionCount are kept even when a step failed.
      sync.flush();
    }
    return sync.requeueAfter !== undefined ? { requeueAfter: sync.requeueAfter } : undefined;
  }
}
