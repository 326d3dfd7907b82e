/**
 * Records v1 Events about objects, as client-go's EventRecorder and EventCorrelator do:
 * a repeat of the same event (same object incarnation, component, type, reason and message) bumps
 * `count` and `lastTimestamp` of one Event instead of creating another.
 *
 * The name is `<object name>.<16 hex>` like Kubernetes'; here the hex is a hash of the aggregation
 * key rather than a timestamp, so repeats find their Event with one get, also after a restart.
 * Recording never throws: an event is a side note and must not fail a reconcile.
 * Each namespace keeps at most `maxPerNamespace` Events; the oldest go first.
 */
import type { EventObject, KubeObject } from '../api/types.js';
import { rfc3339, systemClock, type Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { shortHash } from '../core/ids.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Store } from '../store/types.js';

export type EventType = 'Normal' | 'Warning';

export const EVENTS_RESOURCE = 'events';
export const DEFAULT_MAX_EVENTS_PER_NAMESPACE = 1000;
/** Kubernetes truncates event messages at 1 KiB */
const MAX_MESSAGE = 1024;
const MAX_NAME = 253;

export interface EventRecorderOptions {
  store: Store;
  /** source.component, e.g. "deployment-controller", "kubelet" */
  component: string;
  clock?: Clock;
  maxPerNamespace?: number;
  log?: Logger;
}

export interface EventRecorderMetrics {
  createdTotal: number;
  aggregatedTotal: number;
  prunedTotal: number;
  failedTotal: number;
}

export class EventRecorder {
  readonly component: string;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #log: Logger;
  /** Events per namespace as last counted; drifts up with our creates until the next prune. */
  readonly #counts = new Map<string, number>();
  #metrics: EventRecorderMetrics = { createdTotal: 0, aggregatedTotal: 0, prunedTotal: 0, failedTotal: 0 };

  constructor(options: EventRecorderOptions) {
    this.component = options.component;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#max = Math.max(1, options.maxPerNamespace ?? DEFAULT_MAX_EVENTS_PER_NAMESPACE);
    this.#log = (options.log ?? silentLogger).child({ component: options.component });
  }

  /** Records an event about `obj`. Returns the stored Event, or undefined if it could not be written. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): EventObject | undefined {
    try {
      return this.#record(obj, type, reason, message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message);
    } catch (err) {
      this.#metrics.failedTotal++;
      this.#log.warn({ err: describeError(err), reason, object: obj.metadata.name }, 'could not record event');
      return undefined;
    }
  }

  normal(obj: KubeObject, reason: string, message: string): EventObject | undefined {
    return this.event(obj, 'Normal', reason, message);
  }

  warning(obj: KubeObject, reason: string, message: string): EventObject | undefined {
    return this.event(obj, 'Warning', reason, message);
  }

  metrics(): EventRecorderMetrics {
    return { ...this.#metrics };
  }

  /** Deletes the oldest Events of `namespace` beyond the limit (to 90% of it, so pruning is rare). */
  prune(namespace: string): number {
    const items = this.#store.list(EVENTS_RESOURCE, { namespace }).items as EventObject[];
    let removed = 0;
    if (items.length > this.#max) {
      const keep = Math.floor(this.#max * 0.9);
      items.sort((a, b) => lastSeen(a).localeCompare(lastSeen(b)) || Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const e of items.slice(0, items.length - keep)) {
        if (this.#store.delete(EVENTS_RESOURCE, namespace, e.metadata.name)) removed++;
      }
    }
    this.#counts.set(namespace, items.length - removed);
    this.#metrics.prunedTotal += removed;
    return removed;
  }

  #record(obj: KubeObject, type: EventType, reason: string, message: string): EventObject {
    const meta = obj.metadata;
    // Events about cluster-scoped objects live in "default", as in Kubernetes.
    const namespace = meta.namespace || 'default';
    const involvedObject: EventObject['involvedObject'] = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(meta.uid ? { uid: meta.uid } : {}),
    };
    const aggKey = [this.component, obj.kind, namespace, meta.name, meta.uid ?? '', type, reason, message].join('\0');
    const name = `${meta.name.slice(0, MAX_NAME - 17)}.${shortHash(aggKey, 16)}`;
    const now = rfc3339(this.#clock.now());

    const existing = this.#store.get(EVENTS_RESOURCE, namespace, name) as EventObject | undefined;
    if (existing) {
      const next: EventObject = { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: now };
      this.#metrics.aggregatedTotal++;
      return this.#store.update(EVENTS_RESOURCE, next) as EventObject;
    }
    const event: EventObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
    };
    const created = this.#store.create(EVENTS_RESOURCE, event) as EventObject;
    this.#metrics.createdTotal++;
    const count = (this.#counts.get(namespace) ?? this.#store.list(EVENTS_RESOURCE, { namespace }).items.length - 1) + 1;
    this.#counts.set(namespace, count);
    if (count > this.#max) this.prune(namespace);
    return created;
  }
}

function lastSeen(e: EventObject): string {
  return e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
}
