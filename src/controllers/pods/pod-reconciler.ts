/**
 * The kubelet loop, as a level-triggered reconciler over one pod key ("ns/name"):
 * observe the pod's sandbox and containers on the machine, converge them toward the spec (create the
 * sandbox, start containers, restart exited ones per restartPolicy with the crash-loop back-off, tear
 * everything down when the pod is being deleted), then write the status the kubelet would write.
 * It never asks which event fired; a restarted daemon finds running containers and adopts them.
 */
import type { ConfigMap, Container, ContainerState, ContainerStatus, KubeObject, Pod, Secret } from '../../api/types.js';
import type { Store } from '../../store/types.js';
import { rfc3339, systemClock, type Clock } from '../../core/clock.js';
import { describeError, firstMeshboxError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { resolveEnv, type EnvLookups } from './env.js';
import { computePodStatus } from './pod-status.js';
import { RestartBackoff } from './restart-backoff.js';
import type { PodRuntime, RuntimeContainerState } from './pod-runtime.js';
import type { ProbeManager, RunningContainer } from './probes/prober.js';
import { runPostStart, runPreStop } from './probes/lifecycle.js';
import { isSidecar, sidecarsOf } from './sidecars.js';

export const POD_FINALIZER = 'meshbox.dev/pod-runtime';

export interface EventSink {
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface PodReconcilerOptions {
  store: Store;
  runtime: PodRuntime;
  events: EventSink;
  log: Logger;
  hostIP: string;
  nodeName: string;
  clock?: Clock;
  /** the `<SVC>_SERVICE_HOST`-style variables for a pod, computed when its container starts */
  serviceEnv?: (pod: Pod) => Map<string, string>;
  /** environment added at start and never stored in the pod (the sidecar's control-plane credential) */
  privateEnv?: (pod: Pod, container: Container) => ReadonlyMap<string, string> | undefined;
  /** awaited before a terminating pod's containers are stopped (leave the endpoints first) */
  beforeStop?: (pod: Pod) => Promise<void>;
  /** probes and lifecycle hooks; without it containers are ready once running and hooks do not run */
  probes?: ProbeManager;
}

export interface ReconcileResult {
  requeueAfter?: number;
}

const RESOURCE = 'pods';

export class PodReconciler {
  readonly #o: PodReconcilerOptions;
  readonly #clock: Clock;
  readonly #backoff = new RestartBackoff();
  readonly #lookups: EnvLookups;

  constructor(options: PodReconcilerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const { store } = options;
    this.#lookups = {
      configMap: (ns, name) => store.get('configmaps', ns, name) as ConfigMap | undefined,
      secret: (ns, name) => store.get('secrets', ns, name) as Secret | undefined,
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = this.#o.store.get(RESOURCE, namespace, name) as Pod | undefined;
    if (!pod) return {}; // gone: garbage collection removes anything left on the machine by uid
    if (pod.metadata.deletionTimestamp) {
      await this.#terminate(pod);
      return {};
    }
    if (!pod.metadata.finalizers?.includes(POD_FINALIZER)) {
      // every pod carries the finalizer so that its teardown survives a daemon crash
      this.#o.store.update(RESOURCE, { ...pod, metadata: { ...pod.metadata, finalizers: [...(pod.metadata.finalizers ?? []), POD_FINALIZER] } });
      return { requeueAfter: 0 };
    }
    return this.#sync(pod);
  }

  // === sync ===

  async #sync(pod: Pod): Promise<ReconcileResult> {
    const now = this.#clock.now();
    const startTime = pod.status?.startTime ?? rfc3339(now);
    let podIP: string;
    try {
      const t0 = performance.now();
      const sandbox = await this.#o.runtime.ensureSandbox(pod);
      podIP = sandbox.ip;
      if (sandbox.created) this.#o.log.debug({ pod: podKey(pod), ip: podIP, ms: Math.round(performance.now() - t0) }, 'sandbox created');
    } catch (err) {
      const message = `Failed to create pod sandbox: ${describeError(err)}`;
      this.#o.events.event(pod, 'Warning', 'FailedCreatePodSandBox', message);
      this.#writeStatus(pod, {
        hostIP: this.#o.hostIP,
        startTime,
        initialized: true,
        containers: pod.spec.containers.map((c) => this.#waitingStatus(pod, c, 'ContainerCreating', message)),
      });
      throw err;
    }

    let requeueAfter: number | undefined;
    const retry = (ms: number | undefined): void => {
      if (ms !== undefined) requeueAfter = Math.min(requeueAfter ?? Infinity, ms);
    };
    const running = new Map<string, RunningContainer>();
    const probes = this.#o.probes;
    const uid = pod.metadata.uid!;
    const policy = pod.spec.restartPolicy ?? 'Always';
    // Once the app containers have finished for good (a Job's pod), the sidecars are stopped and
    // stay stopped, so the pod completes.
    const finished = appsFinished(pod, pod.status?.containerStatuses);

    // Init containers in order (kubelet): a regular one must exit 0 before the next starts (it is
    // retried unless the pod's policy is Never); a sidecar counts once it has started.
    const initStatuses: ContainerStatus[] = [];
    let initialized = pod.status?.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True') ?? false;
    let initFailed = false;
    let blocked = false;
    for (const c of pod.spec.initContainers ?? []) {
      const sidecar = isSidecar(c);
      if (blocked && !sidecar) {
        initStatuses.push(this.#waitingStatus(pod, c, 'PodInitializing', ''));
        continue;
      }
      if (blocked || (!sidecar && initialized)) {
        const previous = pod.status?.initContainerStatuses?.find((st) => st.name === c.name);
        initStatuses.push(previous ?? this.#waitingStatus(pod, c, 'PodInitializing', ''));
        continue;
      }
      if (sidecar && finished) {
        initStatuses.push(await this.#stopSidecar(pod, c));
        continue;
      }
      const { status, retryInMs } = await this.#syncContainer(pod, c, podIP, now, running, sidecar ? 'Always' : policy === 'Never' ? 'Never' : 'OnFailure');
      retry(retryInMs);
      if (sidecar && 'running' in status.state && probes) status.started = probes.started(uid, c.name);
      initStatuses.push(status);
      const done = sidecar ? 'running' in status.state && status.started === true : 'terminated' in status.state && status.state.terminated.exitCode === 0;
      if (!done && !initialized) {
        blocked = true;
        if (!sidecar && 'terminated' in status.state && policy === 'Never') initFailed = true;
        // a sidecar's startup probe result arrives through the prober's onChange; look again soon anyway
        if (sidecar && 'running' in status.state) retry(1_000);
      }
    }
    if (!blocked) initialized = true;

    const statuses: ContainerStatus[] = [];
    for (const container of pod.spec.containers) {
      if (!initialized) {
        statuses.push(this.#waitingStatus(pod, container, 'PodInitializing', ''));
        continue;
      }
      const { status, retryInMs } = await this.#syncContainer(pod, container, podIP, now, running, policy);
      statuses.push(status);
      retry(retryInMs);
    }
    if (!finished && initialized && appsFinished(pod, statuses)) {
      // the app containers are done for good: stop the sidecars now, so the pod is reported
      // complete only with its sidecars stopped
      for (const c of sidecarsOf(pod).reverse()) {
        const i = initStatuses.findIndex((st) => st.name === c.name);
        if (i >= 0) initStatuses[i] = await this.#stopSidecar(pod, c);
        running.delete(c.name);
      }
    }
    if (probes) {
      probes.sync(pod, running);
      for (const s of [...statuses, ...initStatuses]) {
        if (!('running' in s.state)) continue;
        s.started = probes.started(uid, s.name);
        s.ready = probes.readiness(uid, s.name);
      }
    }
    this.#writeStatus(pod, {
      hostIP: this.#o.hostIP,
      podIP,
      startTime,
      initialized,
      containers: statuses,
      initContainers: initStatuses,
      ...(initFailed ? { initFailed } : {}),
    });
    return requeueAfter === undefined ? {} : { requeueAfter };
  }

  /** A sidecar of a pod whose app containers are done: stop it (SIGTERM, grace) and report it terminated. */
  async #stopSidecar(pod: Pod, c: Container): Promise<ContainerStatus> {
    const previous = pod.status?.initContainerStatuses?.find((st) => st.name === c.name);
    await this.#stopIfRunning(pod, c, pod.spec.terminationGracePeriodSeconds ?? 30, ": the pod's app containers have completed");
    const st = await this.#o.runtime.containerState(pod, c.name);
    if (st.state === 'exited') return this.#status(c, previous?.restartCount ?? 0, terminatedState(st), previous?.lastState ?? {}, false, st.containerId);
    return previous ?? this.#waitingStatus(pod, c, 'PodInitializing', '');
  }

  async #syncContainer(
    pod: Pod,
    c: Container,
    podIP: string,
    now: number,
    running: Map<string, RunningContainer>,
    restartPolicy: RestartPolicy,
  ): Promise<{ status: ContainerStatus; retryInMs?: number }> {
    const previous = statusesOf(pod, c).find((s) => s.name === c.name);
    let restartCount = previous?.restartCount ?? 0;
    let lastState: ContainerStatus['lastState'] = previous?.lastState ?? {};
    let observed = await this.#o.runtime.containerState(pod, c.name);
    const backoffKey = `${pod.metadata.uid}/${c.name}`;

    if (observed.state === 'running') {
      const verdict = this.#o.probes?.livenessFailed(pod.metadata.uid!, c.name);
      if (verdict?.failed) {
        // kubelet: a failed liveness/startup probe kills the container (preStop first, probe-level
        // grace), then the ordinary restart logic below brings it back per restartPolicy
        this.#o.events.event(pod, 'Normal', 'Killing', verdict.message);
        await this.#kill(pod, c, { containerId: observed.containerId, startedAt: observed.startedAt, podIP }, verdict.graceSeconds);
        observed = await this.#o.runtime.containerState(pod, c.name);
      } else {
        running.set(c.name, { containerId: observed.containerId, startedAt: observed.startedAt, podIP });
        return { status: this.#status(c, restartCount, { running: { startedAt: rfc3339(observed.startedAt) } }, lastState, true, observed.containerId) };
      }
    }
    if (observed.state === 'running') {
      // it did not stop within the grace period: report it as it is and look again soon
      return { status: this.#status(c, restartCount, { running: { startedAt: rfc3339(observed.startedAt) } }, lastState, false, observed.containerId), retryInMs: 1_000 };
    }

    let attempt = restartCount;
    if (observed.state === 'exited') {
      const terminated = terminatedState(observed);
      if (!shouldRestart(restartPolicy, observed.exitCode)) {
        return { status: this.#status(c, restartCount, terminated, lastState, false, observed.containerId) };
      }
      const wait = this.#backoff.remaining(backoffKey, observed.finishedAt, observed.finishedAt - observed.startedAt, now);
      if (wait > 0) {
        const delay = Math.round(this.#backoff.currentDelay(backoffKey) / 1000);
        const message = `back-off ${delay}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
        if (previous && !('waiting' in previous.state && previous.state.waiting.reason === 'CrashLoopBackOff')) {
          this.#o.events.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container ' + c.name);
        }
        return {
          status: this.#status(c, restartCount, { waiting: { reason: 'CrashLoopBackOff', message } }, terminated, false, observed.containerId),
          retryInMs: wait,
        };
      }
      if (previous && 'running' in previous.state && previous.containerID === `runc://${observed.containerId}`) {
        // the kubelet publishes an exit (not ready, terminated) before it restarts the container,
        // so the endpoints and the ReplicaSet see the container was down; the restart is the next sync
        // (1 ms: the controller treats requeueAfter 0 as done)
        return { status: this.#status(c, restartCount, terminated, lastState, false, observed.containerId), retryInMs: 1 };
      }
      this.#backoff.restarted(backoffKey, observed.finishedAt);
      attempt = observed.attempt + 1;
      restartCount = attempt;
      lastState = terminated;
    } else if (previous && 'terminated' in previous.state && !shouldRestart(restartPolicy, previous.state.terminated.exitCode)) {
      return { status: previous }; // finished for good; its run was cleaned up
    } else if (previous && 'running' in previous.state) {
      // the status says it runs, but nothing is on the machine (a reboot, or someone removed it)
      attempt = restartCount + 1;
      restartCount = attempt;
      lastState = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was synced' } };
    }

    try {
      const env = resolveEnv(pod, c, podIP, this.#lookups, this.#o.serviceEnv?.(pod));
      for (const [k, v] of this.#o.privateEnv?.(pod, c) ?? []) env.set(k, v);
      this.#o.events.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
      const t0 = performance.now();
      await this.#o.runtime.startContainer({ pod, container: c, attempt, env, podIP });
      this.#o.log.debug({ pod: podKey(pod), container: c.name, attempt, ms: Math.round(performance.now() - t0) }, 'container started');
      this.#o.events.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
      this.#o.events.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    } catch (err) {
      const coded = firstMeshboxError(err);
      const reason = coded?.code === 'MBX_RUNTIME_IMAGE_NOT_FOUND' ? 'ErrImageNeverPull' : coded?.code === 'MBX_POD_ENV_SOURCE_MISSING' ? 'CreateContainerConfigError' : 'CreateContainerError';
      this.#o.events.event(pod, 'Warning', 'Failed', `Error: ${describeError(err)}`);
      this.#o.log.warn({ pod: podKey(pod), container: c.name, err: describeError(err) }, 'container start failed');
      return {
        status: this.#status(c, restartCount, { waiting: { reason, message: describeError(err) } }, lastState, false),
        retryInMs: coded?.retryable === false && reason === 'ErrImageNeverPull' ? 30_000 : 2_000,
      };
    }
    let started = await this.#o.runtime.containerState(pod, c.name);
    if (started.state === 'running' && this.#o.probes && c.lifecycle?.postStart) {
      // the container is not Running for the pod until its postStart hook completed
      const run = { containerId: started.containerId, startedAt: started.startedAt, podIP };
      const failure = await runPostStart({ pod, container: c }, this.#o.probes.targetFor(pod, c.name, run), { events: this.#o.events });
      if (failure !== undefined) {
        this.#o.events.event(pod, 'Normal', 'Killing', `FailedPostStartHook`);
        await this.#o.runtime.stopContainer(pod, c.name, pod.spec.terminationGracePeriodSeconds ?? 30);
        started = await this.#o.runtime.containerState(pod, c.name);
      }
    }
    if (started.state === 'running') running.set(c.name, { containerId: started.containerId, startedAt: started.startedAt, podIP });
    const state: ContainerState =
      started.state === 'running'
        ? { running: { startedAt: rfc3339(started.startedAt) } }
        : started.state === 'exited'
          ? terminatedState(started)
          : { waiting: { reason: 'ContainerCreating' } };
    const id = started.state === 'absent' ? undefined : started.containerId;
    // Exited already: look again at once for the restart (a requeue of 0 would mean "done").
    return { status: this.#status(c, restartCount, state, lastState, started.state === 'running', id), retryInMs: started.state === 'exited' ? 1 : undefined };
  }

  #status(c: Container, restartCount: number, state: ContainerState, lastState: ContainerStatus['lastState'], running: boolean, containerId?: string): ContainerStatus {
    const s: ContainerStatus = {
      name: c.name,
      ready: running,
      started: running,
      restartCount,
      image: c.image,
      imageID: c.image === 'host' ? 'host' : '',
      state,
      lastState,
    };
    if (containerId) s.containerID = `runc://${containerId}`;
    return s;
  }

  #waitingStatus(pod: Pod, c: Container, reason: string, message: string): ContainerStatus {
    const previous = statusesOf(pod, c).find((s) => s.name === c.name);
    return this.#status(c, previous?.restartCount ?? 0, { waiting: message ? { reason, message } : { reason } }, previous?.lastState ?? {}, false);
  }

  #writeStatus(pod: Pod, observed: Parameters<typeof computePodStatus>[1]): void {
    const status = computePodStatus(pod, observed, this.#clock.now());
    if (sameStatus(pod.status, status)) return;
    const fresh = this.#o.store.get(RESOURCE, pod.metadata.namespace, pod.metadata.name) as Pod | undefined;
    if (!fresh || fresh.metadata.uid !== pod.metadata.uid) return;
    this.#o.store.updateStatus(RESOURCE, { ...fresh, status });
  }

  /** Stops one container the way the kubelet kills it: preStop inside the grace period, then SIGTERM. */
  async #kill(pod: Pod, c: Container, run: RunningContainer, graceSeconds: number): Promise<void> {
    let grace = graceSeconds;
    // the kubelet skips preStop when there is no grace period to run it in
    if (this.#o.probes && c.lifecycle?.preStop && grace > 0) {
      grace = (await runPreStop({ pod, container: c }, this.#o.probes.targetFor(pod, c.name, run), grace, { events: this.#o.events })).remainingGraceSeconds;
    }
    await this.#o.runtime.stopContainer(pod, c.name, grace);
  }

  // === teardown ===

  /** Stops the container if it runs: preStop (inside the grace period), then SIGTERM and SIGKILL at the end of what is left. */
  async #stopIfRunning(pod: Pod, c: Container, grace: number, why = ''): Promise<void> {
    const st = await this.#o.runtime.containerState(pod, c.name);
    if (st.state !== 'running') return;
    this.#o.events.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}${why}`);
    await this.#kill(pod, c, { containerId: st.containerId, startedAt: st.startedAt, podIP: pod.status?.podIP ?? '' }, grace);
  }

  async #terminate(pod: Pod): Promise<void> {
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const deadline = performance.now() + grace * 1000;
    const probes = this.#o.probes;
    probes?.stopLivenessAndStartup(pod.metadata.uid!);
    await this.#o.beforeStop?.(pod).catch((err: unknown) => this.#o.log.warn({ pod: podKey(pod), err: describeError(err) }, 'before-stop hook failed'));
    // App containers first (their preStop hooks in parallel, each inside the grace period); the
    // sidecars after them, last started first stopped, with what is left of the grace period, so
    // an app that makes calls while it shuts down still has its proxy (KEP-753 ordering).
    const firstWave = [...(pod.spec.initContainers ?? []).filter((c) => !isSidecar(c)), ...pod.spec.containers];
    await Promise.all(firstWave.map((c) => this.#stopIfRunning(pod, c, grace)));
    for (const c of sidecarsOf(pod).reverse()) {
      const left = Math.max(1, Math.ceil((deadline - performance.now()) / 1000));
      await this.#stopIfRunning(pod, c, Math.min(grace, left));
    }
    await this.#o.runtime.removePod(pod, 0);
    probes?.forget(pod.metadata.uid!);
    this.#backoff.forget(`${pod.metadata.uid}/`);
    const fresh = this.#o.store.get(RESOURCE, pod.metadata.namespace, pod.metadata.name) as Pod | undefined;
    if (!fresh || fresh.metadata.uid !== pod.metadata.uid) return;
    const finalizers = (fresh.metadata.finalizers ?? []).filter((f) => f !== POD_FINALIZER);
    this.#o.store.update(RESOURCE, { ...fresh, metadata: { ...fresh.metadata, finalizers } });
  }
}

function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** The status list a container reports in: initContainerStatuses for init containers (sidecars too). */
function statusesOf(pod: Pod, c: Container): ContainerStatus[] {
  const isInit = pod.spec.initContainers?.some((i) => i.name === c.name) ?? false;
  return (isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses) ?? [];
}

/** Every app container has terminated and the pod's policy will not restart it (a Job's pod is done). */
function appsFinished(pod: Pod, statuses: ContainerStatus[] | undefined): boolean {
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (policy === 'Always' || !statuses || statuses.length !== pod.spec.containers.length) return false;
  return statuses.every((st) => 'terminated' in st.state && !shouldRestart(policy, st.state.terminated.exitCode));
}

function terminatedState(s: Extract<RuntimeContainerState, { state: 'exited' }>): ContainerState {
  const reason = s.oomKilled ? 'OOMKilled' : s.exitCode === 0 ? 'Completed' : 'Error';
  const t: Extract<ContainerState, { terminated: unknown }>['terminated'] = {
    exitCode: s.exitCode,
    reason,
    startedAt: rfc3339(s.startedAt),
    finishedAt: rfc3339(s.finishedAt),
    containerID: `runc://${s.containerId}`,
  };
  if (s.signal) t.signal = s.signal;
  return { terminated: t };
}

function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
