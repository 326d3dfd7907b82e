/**
 * The controller framework (controller-runtime's shape): informers over the store, a work queue,
 * controllers running level-triggered reconcilers, owner-reference GC, events and conditions.
 */
export { WorkQueue, type WorkQueueOptions, type WorkQueueMetrics } from './workqueue.js';
export {
  Informer,
  InformerFactory,
  NAMESPACE_INDEX,
  objectKey,
  splitKey,
  type EventHandler,
  type IndexFn,
  type InformerOptions,
} from './informer.js';
export {
  Controller,
  controllerOwnerKey,
  isTerminal,
  terminal,
  type ControllerMetrics,
  type ControllerOptions,
  type MapFn,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
} from './controller.js';
export { GarbageCollector, OWNER_UID_INDEX, defaultGcResources, type GarbageCollectorOptions } from './owner-gc.js';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.js';
export * from './conditions.js';
export * from './finalizers.js';
