/**
 * A simulated kubelet for controller tests: the boundary fake for the container runtime. It
 * watches pods in the real store and writes the status a kubelet would write (Running + Ready, or
 * Succeeded/Failed, or a restart count), after a short delay so intermediate states are visible.
 * With `graceful`, pods carry a finalizer and linger briefly as terminating after a delete, as
 * real pods do.
 */
import type { Condition, Pod, PodStatus } from '../../../api/types.js';
import { rfc3339 } from '../../../core/clock.js';
import type { Store, WatchEvent } from '../../../store/types.js';

export type PodFate =
  | 'ready'
  | 'running' // running but never Ready
  | 'pending'
  | 'succeed'
  | 'fail'
  | { restarts: number; then?: 'fail' | 'succeed' | 'running' };

export interface SimKubeletOptions {
  /** what happens to each new pod (default: ready) */
  fate?: (pod: Pod) => PodFate;
  startDelayMs?: number;
  /** pods get a finalizer and vanish `graceMs` after their delete */
  graceful?: boolean;
  graceMs?: number;
}

const FINALIZER = 'test.meshbox.dev/sim-kubelet';

export class SimKubelet {
  readonly #store: Store;
  #fate: (pod: Pod) => PodFate;
  readonly #delay: number;
  readonly #graceful: boolean;
  readonly #graceMs: number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #seen = new Set<string>();
  #unwatch: () => void;
  #stopped = false;

  constructor(store: Store, options: SimKubeletOptions = {}) {
    this.#store = store;
    this.#fate = options.fate ?? (() => 'ready');
    this.#delay = options.startDelayMs ?? 5;
    this.#graceful = options.graceful ?? false;
    this.#graceMs = options.graceMs ?? 10;
    const listed = store.list('pods');
    for (const p of listed.items) this.#onEvent({ type: 'ADDED', resource: 'pods', object: p });
    this.#unwatch = store.watch('pods', { resourceVersion: listed.resourceVersion }, (e) => this.#onEvent(e));
  }

  setFate(fate: (pod: Pod) => PodFate): void {
    this.#fate = fate;
  }

  /** Sets the Ready condition of a pod by hand. */
  setReady(namespace: string, name: string, ready: boolean): void {
    const pod = this.#store.get('pods', namespace, name) as Pod | undefined;
    if (!pod) return;
    this.#store.updateStatus('pods', { ...pod, status: status(ready ? 'ready' : 'running', pod) });
  }

  stop(): void {
    this.#stopped = true;
    this.#unwatch();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#stopped) return;
      try {
        fn();
      } catch {
        // the pod changed or went meanwhile; the next event handles it
      }
    }, ms);
    this.#timers.add(t);
  }

  #onEvent(e: WatchEvent): void {
    if (e.type === 'DELETED') return;
    const pod = e.object as Pod;
    const ns = pod.metadata.namespace as string;
    const name = pod.metadata.name;
    const uid = pod.metadata.uid as string;
    if (pod.metadata.deletionTimestamp) {
      if (pod.metadata.finalizers?.includes(FINALIZER) && !this.#seen.has(`del:${uid}`)) {
        this.#seen.add(`del:${uid}`);
        this.#later(this.#graceMs, () => {
          const cur = this.#store.get('pods', ns, name) as Pod | undefined;
          if (!cur || cur.metadata.uid !== uid) return;
          const finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
          this.#store.update('pods', { ...cur, metadata: { ...cur.metadata, finalizers } });
        });
      }
      return;
    }
    if (this.#seen.has(uid)) return;
    this.#seen.add(uid);
    const fate = this.#fate(pod);
    this.#later(0, () => {
      const cur = this.#store.get('pods', ns, name) as Pod | undefined;
      if (!cur || cur.metadata.uid !== uid) return;
      let next = cur;
      if (this.#graceful && !cur.metadata.finalizers?.includes(FINALIZER)) {
        next = this.#store.update('pods', { ...cur, metadata: { ...cur.metadata, finalizers: [...(cur.metadata.finalizers ?? []), FINALIZER] } }) as Pod;
      }
      this.#store.updateStatus('pods', { ...next, status: status('pending', next) });
      if (fate === 'pending') return;
      // chained, not scheduled side by side: timers of different lengths may fire out of order
      this.#later(this.#delay, () => {
        const cur = this.#store.get('pods', ns, name) as Pod | undefined;
        if (!cur || cur.metadata.uid !== uid || cur.metadata.deletionTimestamp) return;
        this.#store.updateStatus('pods', { ...cur, status: status(fate, cur) });
      });
    });
  }
}

function status(fate: PodFate, pod: Pod): PodStatus {
  const now = rfc3339(Date.now());
  const name = pod.spec.containers[0]?.name ?? 'main';
  let restarts = 0;
  let phase: PodStatus['phase'] = 'Running';
  let ready = false;
  let exitCode: number | undefined;
  if (typeof fate === 'object') {
    restarts = fate.restarts;
    if (fate.then === 'fail') (phase = 'Failed'), (exitCode = 1);
    else if (fate.then === 'succeed') (phase = 'Succeeded'), (exitCode = 0);
  } else if (fate === 'ready') ready = true;
  else if (fate === 'pending') phase = 'Pending';
  else if (fate === 'succeed') (phase = 'Succeeded'), (exitCode = 0);
  else if (fate === 'fail') (phase = 'Failed'), (exitCode = 1);
  const prevReady = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const readyCond: Condition = {
    type: 'Ready',
    status: ready ? 'True' : 'False',
    lastTransitionTime: prevReady && prevReady.status === (ready ? 'True' : 'False') ? (prevReady.lastTransitionTime as string) : now,
  };
  return {
    phase,
    conditions: [readyCond],
    startTime: pod.status?.startTime ?? now,
    containerStatuses: [
      {
        name,
        ready,
        restartCount: restarts,
        image: pod.spec.containers[0]?.image ?? 'host',
        imageID: '',
        state:
          exitCode !== undefined
            ? { terminated: { exitCode, finishedAt: now, reason: exitCode === 0 ? 'Completed' : 'Error' } }
            : phase === 'Pending'
              ? { waiting: { reason: 'ContainerCreating' } }
              : { running: { startedAt: now } },
        lastState: {},
      },
    ],
  };
}
