/** Error catalog of the controller framework (informers, work queues, controllers, GC, events). */
import { defineError } from '../core/errors.js';

/** Wraps an error a reconciler cannot fix by retrying: logged and counted, the key is not requeued. */
export const TerminalReconcileError = defineError(
  'MBX_RECONCILE_TERMINAL',
  (message: string) =>
    `${message} (terminal: the controller will not retry until the object changes; fix the object or its inputs)`,
);

export const CacheSyncTimeout = defineError(
  'MBX_RECONCILE_CACHE_SYNC_TIMEOUT',
  (controller: string, resources: string, ms: number) =>
    `controller ${controller}: caches for ${resources} did not sync within ${ms} ms; check that the store is open and the informers were started`,
  { retryable: true },
);

export const UnknownIndex = defineError(
  'MBX_RECONCILE_UNKNOWN_INDEX',
  (resource: string, index: string) =>
    `informer for ${resource} has no index named ${index}; register it with addIndex(${JSON.stringify(index)}, fn) before using byIndex`,
);

export const DuplicateIndex = defineError(
  'MBX_RECONCILE_DUPLICATE_INDEX',
  (resource: string, index: string) =>
    `informer for ${resource} already has an index named ${index}; pick another name or reuse the existing index`,
);

export const ControllerAlreadyStarted = defineError(
  'MBX_RECONCILE_ALREADY_STARTED',
  (controller: string, what: string) =>
    `controller ${controller} is already started; call ${what} before start(), or create a new controller`,
);

export const InvalidKey = defineError(
  'MBX_RECONCILE_INVALID_KEY',
  (key: string) => `invalid object key ${JSON.stringify(key)}; keys are "namespace/name" or "name" for cluster-scoped objects`,
);
