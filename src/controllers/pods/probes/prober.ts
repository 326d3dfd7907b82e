/**
 * The kubelet's prober manager: one worker per (pod uid, container, probe kind), each with one timer,
 * probing the running container and caching results. The pod reconciler asks for the results when it
 * writes status (`readiness`, `started`) and when it decides to kill a container (`livenessFailed`);
 * `onChange` tells it when a cached result flips, so it enqueues the pod.
 *
 * Semantics follow pkg/kubelet/prober/worker.go:
 * - readiness starts False, liveness starts Success, startup starts not-started;
 * - results flip only after successThreshold / failureThreshold consecutive outcomes;
 * - while a startup probe has not passed, liveness and readiness do not run (and ready stays False);
 *   once it passed, the startup probe stops for the life of that container;
 * - a liveness or startup failure holds its worker until the container is replaced (new containerId);
 * - every failed run records a Warning "Unhealthy" event "<Kind> probe failed: <output>".
 */
import type { Container, KubeObject, Pod, Probe } from '../../../api/types.js';
import { systemClock, type Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import { runProbe } from './run-probe.js';
import { PROBE_KIND_LABEL, probeTiming, type ProbeKind, type ProbeTiming } from './probe-timing.js';
import type { ProbeResult, ProbeTarget } from './probe-target.js';
import { longRunningContainers } from '../sidecars.js';

export interface RunningContainer {
  containerId: string;
  /** ms since the epoch */
  startedAt: number;
  podIP: string;
}

export interface ProbeEventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface ProbeManagerOptions {
  /** called when a cached result flips; the reconciler enqueues `podKey` ("ns/name") */
  onChange(podKey: string, podUid: string): void;
  /** how probes reach the container: podIP for network probes, exec through runc */
  targetFor(pod: Pod, containerName: string, running: RunningContainer): ProbeTarget;
  events?: ProbeEventSink;
  log?: Logger;
  clock?: Clock;
  /** runs one probe; tests may replace it. Defaults to the real executors. */
  runProbe?: typeof runProbe;
}

export interface LivenessVerdict {
  failed: boolean;
  /** which probe failed: liveness, or a startup probe that never passed */
  probe?: 'liveness' | 'startup';
  /** the last probe output ("HTTP probe failed with statuscode: 500") */
  output?: string;
  /** the kubelet's Killing message: "Container app failed liveness probe, will be restarted" */
  message: string;
  /** grace for the kill: probe.terminationGracePeriodSeconds, else the pod's, else 30 */
  graceSeconds: number;
}

interface ContainerEntry {
  podKey: string;
  pod: Pod;
  container: Container;
  running: RunningContainer;
  target: ProbeTarget;
  ready: boolean;
  started: boolean;
  failure?: { probe: 'liveness' | 'startup'; output: string };
  workers: ProbeWorker[];
}

export class ProbeManager {
  readonly #o: ProbeManagerOptions;
  readonly #clock: Clock;
  readonly #run: typeof runProbe;
  /** uid -> container name -> entry */
  readonly #pods = new Map<string, Map<string, ContainerEntry>>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: ProbeManagerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#run = options.runProbe ?? runProbe;
  }

  /**
   * Brings the workers in line with what runs: starts workers for containers that started (or
   * restarted: a new containerId resets their results), stops those of containers that stopped.
   * Call it on every reconcile of the pod, after starting containers.
   */
  sync(pod: Pod, running: ReadonlyMap<string, RunningContainer>): void {
    const uid = pod.metadata.uid;
    if (!uid) return;
    const podKey = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    let entries = this.#pods.get(uid);
    for (const c of longRunningContainers(pod)) {
      const r = running.get(c.name);
      const existing = entries?.get(c.name);
      if (!r) {
        if (existing) this.#drop(entries!, c.name);
        continue;
      }
      if (existing && existing.running.containerId === r.containerId) {
        existing.pod = pod; // newer metadata for events; the container spec of a pod does not change
        if (existing.running.podIP !== r.podIP) {
          existing.running = r;
          existing.target = this.#o.targetFor(pod, c.name, r);
        }
        continue;
      }
      if (existing) this.#drop(entries!, c.name);
      if (!entries) {
        entries = new Map();
        this.#pods.set(uid, entries);
      }
      entries.set(c.name, this.#newEntry(pod, podKey, c, r));
    }
    if (entries) {
      const names = new Set(longRunningContainers(pod).map((c) => c.name));
      for (const name of [...entries.keys()]) if (!names.has(name) || !running.has(name)) this.#drop(entries, name);
      if (entries.size === 0) this.#pods.delete(uid);
    }
  }

  /**
   * Runs one container's probe of `kind` now instead of at its next tick: for when something other
   * than the probe learns the container has become ready (the control plane's first ACK from a
   * sidecar, whose startup probe would otherwise wait up to a period).
   */
  probeNow(uid: string, container: string, kind: ProbeKind): void {
    for (const w of this.#pods.get(uid)?.get(container)?.workers ?? []) if (w.kind === kind) w.runNow();
  }

  /** Ready as the kubelet reports it: started, and the readiness probe passed (or there is none). */
  readiness(uid: string, container: string): boolean {
    const e = this.#pods.get(uid)?.get(container);
    return e !== undefined && e.started && e.ready && e.failure === undefined;
  }

  /** The startup probe passed, or the container has none (false when it does not run). */
  started(uid: string, container: string): boolean {
    return this.#pods.get(uid)?.get(container)?.started ?? false;
  }

  /** Whether the liveness (or startup) probe says the container must be killed and restarted. */
  livenessFailed(uid: string, container: string): LivenessVerdict {
    const e = this.#pods.get(uid)?.get(container);
    const graceOf = (probe?: Probe): number => probe?.terminationGracePeriodSeconds ?? e?.pod.spec.terminationGracePeriodSeconds ?? 30;
    if (!e?.failure) return { failed: false, message: '', graceSeconds: graceOf(e?.container.livenessProbe) };
    const probe = e.failure.probe === 'liveness' ? e.container.livenessProbe : e.container.startupProbe;
    return {
      failed: true,
      probe: e.failure.probe,
      output: e.failure.output,
      message: `Container ${container} failed ${e.failure.probe} probe, will be restarted`,
      graceSeconds: graceOf(probe),
    };
  }

  /**
   * Stops liveness and startup probing of a pod that is terminating (kubelet's StopLivenessAndStartup):
   * a slow shutdown must not be cut short by a liveness kill. Readiness keeps running.
   */
  stopLivenessAndStartup(uid: string): void {
    for (const e of this.#pods.get(uid)?.values() ?? []) {
      for (const w of e.workers) if (w.kind !== 'readiness') w.stop();
      e.workers = e.workers.filter((w) => w.kind === 'readiness');
    }
  }

  /** Stops every worker of the pod and forgets its results (pod deleted). */
  forget(uid: string): void {
    const entries = this.#pods.get(uid);
    if (!entries) return;
    for (const name of [...entries.keys()]) this.#drop(entries, name);
    this.#pods.delete(uid);
  }

  /** Stops everything (daemon shutdown). */
  stop(): void {
    for (const uid of [...this.#pods.keys()]) this.forget(uid);
  }

  /** The target probes use for this container run; lifecycle hooks use the same one. */
  targetFor(pod: Pod, containerName: string, running: RunningContainer): ProbeTarget {
    return this.#o.targetFor(pod, containerName, running);
  }

  /** Number of live workers (for tests and metrics). */
  get workerCount(): number {
    let n = 0;
    for (const entries of this.#pods.values()) for (const e of entries.values()) n += e.workers.length;
    return n;
  }

  /** Resolves once no probe run is in flight (tests use it with a ManualClock). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  // === internals ===

  #newEntry(pod: Pod, podKey: string, c: Container, r: RunningContainer): ContainerEntry {
    const previous = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s) => s.name === c.name);
    // a daemon restart adopts running containers: keep what the status said about this very run
    // instead of flapping Ready -> False -> True (which would drop it from endpoints for a period)
    const sameRun = previous?.containerID === `runc://${r.containerId}`;
    const entry: ContainerEntry = {
      podKey,
      pod,
      container: c,
      running: r,
      target: this.#o.targetFor(pod, c.name, r),
      ready: c.readinessProbe ? sameRun && previous?.ready === true : true,
      started: c.startupProbe ? sameRun && previous?.started === true : true,
      workers: [],
    };
    const add = (kind: ProbeKind, probe: Probe | undefined): void => {
      if (probe) entry.workers.push(new ProbeWorker(this, entry, kind, probe, probeTiming(probe, kind)));
    };
    add('startup', c.startupProbe);
    add('readiness', c.readinessProbe);
    add('liveness', c.livenessProbe);
    for (const w of entry.workers) w.start();
    return entry;
  }

  #drop(entries: Map<string, ContainerEntry>, name: string): void {
    const e = entries.get(name);
    if (!e) return;
    for (const w of e.workers) w.stop();
    e.workers = [];
    entries.delete(name);
  }

  /** @internal used by workers */
  get clock(): Clock {
    return this.#clock;
  }

  /** @internal runs a probe and tracks it for idle() */
  track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  /** @internal */
  execute(entry: ContainerEntry, probe: Probe, timeoutMs: number): Promise<ProbeResult> {
    return this.#run(probe, entry.container, entry.target, timeoutMs);
  }

  /** @internal a worker's threshold was crossed: update the cache, tell the reconciler if it flipped */
  set(entry: ContainerEntry, kind: ProbeKind, ok: boolean, output: string): void {
    if (!this.#isCurrent(entry)) return;
    let changed = false;
    if (kind === 'readiness') {
      changed = entry.ready !== ok;
      entry.ready = ok;
    } else if (kind === 'startup') {
      if (ok) {
        changed = !entry.started;
        entry.started = true;
        // readiness was held back until now: probe it at once rather than a whole period later
        if (changed) for (const w of entry.workers) if (w.kind === 'readiness') w.runNow();
      } else if (!entry.failure) {
        entry.failure = { probe: 'startup', output };
        changed = true;
      }
    } else if (!ok && !entry.failure) {
      entry.failure = { probe: 'liveness', output };
      changed = true;
    }
    if (changed) {
      this.#o.log?.debug({ pod: entry.podKey, container: entry.container.name, probe: kind, ok }, 'probe result changed');
      this.#o.onChange(entry.podKey, entry.pod.metadata.uid!);
    }
  }

  /** @internal */
  event(entry: ContainerEntry, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (!this.#isCurrent(entry)) return;
    this.#o.events?.event(entry.pod, type, reason, message);
  }

  #isCurrent(entry: ContainerEntry): boolean {
    return this.#pods.get(entry.pod.metadata.uid!)?.get(entry.container.name) === entry;
  }
}

/** One probe of one container run: a single timer, one run at a time. */
class ProbeWorker {
  readonly kind: ProbeKind;
  readonly #m: ProbeManager;
  readonly #e: ContainerEntry;
  readonly #probe: Probe;
  readonly #t: ProbeTiming;
  #timer: { cancel(): void } | undefined;
  #stopped = false;
  /** the last raw outcome and how many times in a row it came (worker.go's lastResult/resultRun) */
  #last: boolean | undefined;
  #run = 0;
  /** after a liveness/startup failure: nothing more to say until the container is replaced */
  #onHold = false;

  constructor(m: ProbeManager, e: ContainerEntry, kind: ProbeKind, probe: Probe, timing: ProbeTiming) {
    this.#m = m;
    this.#e = e;
    this.kind = kind;
    this.#probe = probe;
    this.#t = timing;
  }

  start(): void {
    const sinceStart = this.#m.clock.now() - this.#e.running.startedAt;
    let delay = Math.max(0, this.#t.initialDelayMs - sinceStart);
    // a container that has run for more than a period was adopted (daemon restart): spread the first
    // runs over a period, as the kubelet does, so that every probe of the machine does not fire at once
    if (sinceStart > this.#t.initialDelayMs + this.#t.periodMs) delay = Math.floor(Math.random() * this.#t.periodMs);
    this.#schedule(delay);
  }

  /** Runs the next probe now instead of at the next tick. */
  runNow(): void {
    if (this.#stopped || this.#timer === undefined) return; // a run is in flight: it reschedules itself
    this.#timer.cancel();
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#m.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#m.track(this.#tick());
    }, ms);
  }

  async #tick(): Promise<void> {
    const begun = this.#m.clock.monotonic();
    try {
      await this.#probeOnce();
    } finally {
      // fixed rate like the kubelet's ticker, but never two runs at once
      const elapsed = this.#m.clock.monotonic() - begun;
      this.#schedule(Math.max(0, this.#t.periodMs - elapsed));
    }
  }

  async #probeOnce(): Promise<void> {
    const e = this.#e;
    if (this.#onHold) return;
    if (this.kind === 'startup' && e.started) return; // passed once: done for this container run
    if (this.kind !== 'startup' && !e.started) return; // held back until the startup probe passes

    let result: ProbeResult;
    try {
      result = await this.#m.execute(e, this.#probe, this.#t.timeoutMs);
    } catch (err) {
      result = { outcome: 'failure', output: err instanceof Error ? err.message : String(err) };
    }
    if (this.#stopped) return;

    const label = PROBE_KIND_LABEL[this.kind];
    if (result.outcome === 'failure') this.#m.event(e, 'Warning', 'Unhealthy', `${label} probe failed: ${result.output}`);
    else if (result.outcome === 'warning') this.#m.event(e, 'Warning', 'ProbeWarning', `${label} probe warning: ${result.output}`);

    const ok = result.outcome !== 'failure';
    if (this.#last === ok) this.#run++;
    else {
      this.#last = ok;
      this.#run = 1;
    }
    if (ok && this.#run < this.#t.successThreshold) return;
    if (!ok && this.#run < this.#t.failureThreshold) return;
    this.#m.set(e, this.kind, ok, result.output);

    if (!ok && this.kind !== 'readiness') {
      // the container gets killed; stay quiet until sync brings a new run of it
      this.#onHold = true;
      this.#run = 0;
    }
  }
}
