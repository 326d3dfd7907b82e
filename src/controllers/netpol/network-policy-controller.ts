/**
 * The NetworkPolicy controller: level-triggered, one key per bridge (the rule set of a bridge is
 * one atomic iptables-restore, see netfilter/policy/compile-policy-rule-set.ts for why enforcement
 * sits in the host's FORWARD chain). Any change to a NetworkPolicy, pod (labels, IP, phase, ports)
 * or namespace (labels) queues the key; the reconciler resolves every pod's policies from the
 * caches, renders the rules and applies them only when the text changed. Pods that go away drop
 * out of the next rendering, so their chains are deleted with it.
 *
 * When the kernel refuses the rules, every NetworkPolicy gets a Warning event
 * (NetworkPolicyNotEnforced) and the key retries with back-off; the previous rules stay in force.
 * Parts of a policy that cannot be enforced (an invalid selector or CIDR) allow nothing and get a
 * Warning event (NetworkPolicyPartlyEnforced) each time the rules change.
 */
import type { KubeObject, Namespace, Pod } from '../../api/types.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { PolicyApplier, type ApplyOutcome } from '../../netfilter/policy/index.js';
import { Controller, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconcile/controller.js';
import type { InformerFactory, Informer } from '../../reconcile/informer.js';
import type { Store } from '../../store/types.js';
import { NAMESPACES, NETWORK_POLICIES, PODS, type NetworkPolicy } from './network-policy-types.js';
import { resolvePodPolicies } from './resolve-pod-policies.js';

export interface NetworkPolicyEvents {
  warning(obj: KubeObject, reason: string, message: string): unknown;
}

export interface NetworkPolicyControllerOptions {
  store: Store;
  informers: InformerFactory;
  /** an EventRecorder with component "networkpolicy-controller" */
  events: NetworkPolicyEvents;
  log: Logger;
  /** the daemon's pod bridge: rules cover the traffic of this bridge only */
  bridge: string;
  /** for tests: an applier with a fake runner */
  applier?: PolicyApplier;
  /**
   * Every this many ms the whole rule set is written again and the hooks checked, repairing rules
   * someone else removed (default 60 s; 0 turns it off).
   */
  repairEveryMs?: number;
  clock?: Clock;
}

export const REASON_NOT_ENFORCED = 'NetworkPolicyNotEnforced';
export const REASON_PARTLY_ENFORCED = 'NetworkPolicyPartlyEnforced';
const DEFAULT_REPAIR_MS = 60_000;

export class NetworkPolicyReconciler implements Reconciler {
  readonly #pods: Informer<Pod>;
  readonly #policies: Informer<NetworkPolicy>;
  readonly #namespaces: Informer<Namespace>;
  readonly #events: NetworkPolicyEvents;
  readonly #applier: PolicyApplier;
  readonly #repairEveryMs: number;
  readonly #clock: Clock;
  #lastRepair: number;
  #last: ApplyOutcome | undefined;

  constructor(options: {
    pods: Informer<Pod>;
    policies: Informer<NetworkPolicy>;
    namespaces: Informer<Namespace>;
    events: NetworkPolicyEvents;
    applier: PolicyApplier;
    repairEveryMs?: number;
    clock?: Clock;
  }) {
    this.#pods = options.pods;
    this.#policies = options.policies;
    this.#namespaces = options.namespaces;
    this.#events = options.events;
    this.#applier = options.applier;
    this.#repairEveryMs = options.repairEveryMs ?? DEFAULT_REPAIR_MS;
    this.#clock = options.clock ?? systemClock;
    this.#lastRepair = this.#clock.monotonic();
  }

  /** The outcome of the last successful apply (for tests and metrics). */
  get lastOutcome(): ApplyOutcome | undefined {
    return this.#last;
  }

  async reconcile(_key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const repair = this.#repairEveryMs > 0 ? { requeueAfter: this.#repairEveryMs } : undefined;
    if (repair && this.#clock.monotonic() - this.#lastRepair >= this.#repairEveryMs) {
      this.#applier.invalidate();
      this.#lastRepair = this.#clock.monotonic();
    }
    const policies = this.#policies.list();
    const resolved = resolvePodPolicies({ pods: this.#pods.list(), policies, namespaces: this.#namespaces.list() });
    let outcome: ApplyOutcome;
    try {
      outcome = await this.#applier.apply(resolved.pods);
    } catch (err) {
      const message = `the kernel refused the NetworkPolicy rules of bridge ${this.#applier.bridge}, the previous rules stay in force: ${describeError(err)}`;
      for (const policy of policies) this.#events.warning(policy, REASON_NOT_ENFORCED, message);
      throw err;
    }
    this.#last = outcome;
    if (!outcome.changed) return repair;
    ctx.log.debug(
      { isolatedPods: resolved.pods.length, chains: outcome.chains, deleted: outcome.deleted, ms: Math.round(outcome.durationMs) },
      'NetworkPolicy rules applied',
    );
    for (const problem of resolved.problems) this.#events.warning(problem.policy, REASON_PARTLY_ENFORCED, problem.message);
    return repair;
  }
}

/** The controller the daemon starts; call `teardownNetworkPolicies` at `meshbox down`. */
export function createNetworkPolicyController(options: NetworkPolicyControllerOptions): Controller {
  const pods = options.informers.informerFor<Pod>(PODS);
  const policies = options.informers.informerFor<NetworkPolicy>(NETWORK_POLICIES);
  const namespaces = options.informers.informerFor<Namespace>(NAMESPACES);
  const applier = options.applier ?? new PolicyApplier({ bridge: options.bridge });
  const reconciler = new NetworkPolicyReconciler({
    pods,
    policies,
    namespaces,
    events: options.events,
    applier,
    ...(options.repairEveryMs !== undefined ? { repairEveryMs: options.repairEveryMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const key = options.bridge;
  const toKey = (): readonly string[] => [key];
  const controller = new Controller({
    name: 'networkpolicy-controller',
    reconciler,
    workers: 1,
    log: options.log,
    // Policy changes must reach the kernel within a second: retry quickly at first.
    backoff: { baseDelayMs: 50, maxDelayMs: 30_000 },
    ...(options.clock ? { clock: options.clock } : {}),
  })
    .watches(policies as unknown as Informer, toKey)
    .watches(pods as unknown as Informer, toKey)
    .watches(namespaces as unknown as Informer, toKey);
  // With no object at all no event fires: queue the key once so leftovers of a previous run go.
  controller.enqueue(key);
  return controller;
}

/** Removes every NetworkPolicy rule and hook of `bridge` (at `meshbox down`, after the controller stopped). */
export async function teardownNetworkPolicies(bridge: string): Promise<void> {
  await new PolicyApplier({ bridge }).teardown();
}
