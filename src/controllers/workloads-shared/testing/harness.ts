/** A real store in a temp folder, shared informers, an event recorder and a simulated kubelet. */
import type { Controller } from '../../../reconcile/controller.js';
import { EventRecorder } from '../../../reconcile/events.js';
import { InformerFactory } from '../../../reconcile/informer.js';
import { GarbageCollector } from '../../../reconcile/owner-gc.js';
import { openTestStore, type TestStore } from '../../../reconcile/testing/test-store.js';
import { silentLogger } from '../../../core/logger.js';
import type { EventObject } from '../../../api/types.js';
import type { Store } from '../../../store/types.js';
import type { WorkloadControllerOptions } from '../../replicaset/replicaset-controller.js';
import { SimKubelet, type SimKubeletOptions } from './sim-kubelet.js';

export type ControllerFactory = (o: WorkloadControllerOptions) => Controller;

export interface Harness {
  readonly ts: TestStore;
  readonly store: Store;
  kubelet: SimKubelet;
  /** starts controllers (and a GC when asked) over the current store */
  start(factories: ControllerFactory[], opts?: { gc?: boolean }): Promise<void>;
  /** stops everything, reopens the store (a daemon restart), keeps the kubelet's settings */
  restart(factories: ControllerFactory[], kubeletOptions?: SimKubeletOptions): Promise<void>;
  events(reason?: string): EventObject[];
  close(): Promise<void>;
}

export async function withHarness(kubeletOptions: SimKubeletOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const ts = openTestStore();
  let running: { stop(): Promise<void> }[] = [];
  let informers: InformerFactory | undefined;
  const stopAll = async () => {
    for (const c of running) await c.stop();
    running = [];
    informers?.stop();
    informers = undefined;
  };
  const h: Harness = {
    ts,
    get store() {
      return ts.store;
    },
    kubelet: new SimKubelet(ts.store, kubeletOptions),
    async start(factories, opts = {}) {
      informers = new InformerFactory(ts.store);
      const events = new EventRecorder({ store: ts.store, component: 'workload-controllers' });
      const controllers = factories.map((f) => f({ store: ts.store, informers: informers!, events, log: silentLogger }));
      if (opts.gc) {
        const gc = new GarbageCollector({ store: ts.store, informers });
        await gc.start();
        running.push(gc);
      }
      for (const c of controllers) {
        await c.start();
        running.push(c);
      }
    },
    async restart(factories, opts) {
      await stopAll();
      h.kubelet.stop();
      ts.reopen();
      h.kubelet = new SimKubelet(ts.store, opts ?? kubeletOptions);
      await h.start(factories);
    },
    events(reason) {
      const all = ts.store.list('events').items as EventObject[];
      return reason ? all.filter((e) => e.reason === reason) : all;
    },
    close: stopAll,
  };
  try {
    await fn(h);
  } finally {
    await stopAll();
    h.kubelet.stop();
    ts.cleanup();
  }
}
