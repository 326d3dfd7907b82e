/**
 * The Job controller (Kubernetes' pkg/controller/job): runs pods until `completions` of them have
 * succeeded, at most `parallelism` at a time; fails the Job when pod failures pass `backoffLimit`
 * (with restartPolicy OnFailure, container restarts count too) or it runs past
 * `activeDeadlineSeconds`. Pods are listed from the store on every reconcile (never a stale cache).
 *
 * Counts are kept monotonic: succeeded/failed never go below what status already says, so a
 * finished pod someone deleted still counts (Kubernetes tracks this with a pod finalizer).
 */
import type { Condition, Pod } from '../../api/types.js';
import { rfc3339, systemClock, type Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { getCondition } from '../../reconcile/conditions.js';
import { terminal, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconcile/controller.js';
import { splitKey } from '../../reconcile/informer.js';
import type { LabelSelector } from '../../store/label-selector.js';
import type { Store } from '../../store/types.js';
import { claimObjects } from '../workloads-shared/controller-ref.js';
import { InvalidRestartPolicy } from '../workloads-shared/errors.js';
import { PodControl, writeStatusIfChanged, type AdmitPod, type WorkloadEvents } from '../workloads-shared/pod-control.js';
import { workloadSelectorOrStop } from '../workloads-shared/pod-template.js';
import { compareForDeletion, isPodActive, isPodReady, podRestarts } from '../workloads-shared/pod-utils.js';
import { JOBS, PODS, type Job, type JobStatus } from '../workloads-shared/types.js';

export const JOB_NAME_LABEL = 'job-name';
export const BATCH_JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'controller-uid';
export const BATCH_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

const DEFAULT_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 360_000;

/** The selector the API server would generate: the Job's uid. */
export function jobSelector(job: Job): LabelSelector | undefined {
  if (job.spec?.selector) return job.spec.selector;
  return job.metadata.uid ? { matchLabels: { [BATCH_CONTROLLER_UID_LABEL]: job.metadata.uid } } : undefined;
}

export function jobPodLabels(job: Job): Record<string, string> {
  const uid = job.metadata.uid as string;
  return {
    [BATCH_CONTROLLER_UID_LABEL]: uid,
    [CONTROLLER_UID_LABEL]: uid,
    [BATCH_JOB_NAME_LABEL]: job.metadata.name,
    [JOB_NAME_LABEL]: job.metadata.name,
  };
}

export function isJobFinished(job: Job): boolean {
  const c = job.status?.conditions;
  return getCondition(c, 'Complete')?.status === 'True' || getCondition(c, 'Failed')?.status === 'True';
}

export interface JobReconcilerOptions {
  store: Store;
  events: WorkloadEvents;
  log: Logger;
  clock?: Clock;
  /** delay before replacing a failed pod, doubled per failure (Kubernetes: 10 s, up to 6 min) */
  podFailureBackoffMs?: number;
  /** the API server's admission for new pods (see ReplicaSetReconcilerOptions.admitPod) */
  admitPod?: AdmitPod;
}

export class JobReconciler implements Reconciler {
  readonly #store: Store;
  readonly #events: WorkloadEvents;
  readonly #clock: Clock;
  readonly #backoffMs: number;
  readonly #pods: PodControl;

  constructor(options: JobReconcilerOptions) {
    this.#store = options.store;
    this.#events = options.events;
    this.#clock = options.clock ?? systemClock;
    this.#backoffMs = options.podFailureBackoffMs ?? DEFAULT_BACKOFF_MS;
    this.#pods = new PodControl(options.store, options.events, options.admitPod);
  }

  async reconcile(key: string, { log }: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const job = this.#store.get(JOBS, namespace, name) as Job | undefined;
    if (!job || job.metadata.deletionTimestamp) return;

    const policy = job.spec?.template?.spec?.restartPolicy;
    if (policy !== 'OnFailure' && policy !== 'Never') {
      const err = InvalidRestartPolicy(name, String(policy ?? 'Always'));
      this.#events.warning(job, 'InvalidRestartPolicy', err.message);
      throw terminal(err);
    }
    const selector = workloadSelectorOrStop(this.#events, job, jobSelector(job), 'InvalidSelector');

    const all = this.#store.list(PODS, { namespace: namespace as string }).items as Pod[];
    const pods = claimObjects({ store: this.#store, resource: PODS, owner: job, selector, candidates: all, log });
    let active = pods.filter(isPodActive);

    if (isJobFinished(job)) {
      // A finished Job keeps no running pods.
      this.#pods.deletePods(job, active, log);
      return;
    }

    const now = this.#clock.now();
    const prev = job.status ?? {};
    const status: JobStatus = { ...structuredClone(prev) };
    const conditions: Condition[] = status.conditions ?? [];
    let succeeded = Math.max(prev.succeeded ?? 0, pods.filter((p) => p.status?.phase === 'Succeeded').length);
    let failed = Math.max(prev.failed ?? 0, pods.filter((p) => p.status?.phase === 'Failed').length);

    if (job.spec.suspend) {
      this.#pods.deletePods(job, active, log);
      setCondition(conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, now);
      writeStatusIfChanged(this.#store, JOBS, job, { ...status, active: 0, ready: 0, succeeded, failed, conditions });
      return;
    }
    if (getCondition(conditions, 'Suspended')?.status === 'True') {
      setCondition(conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, now);
    }
    status.startTime ??= rfc3339(now);
    const startMs = Date.parse(status.startTime);

    const backoffLimit = job.spec.backoffLimit ?? 6;
    const restarts = policy === 'OnFailure'
      ? active.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending' || !p.status).reduce((n, p) => n + podRestarts(p), 0)
      : 0;
    const pastBackoffOnFailure = policy === 'OnFailure' && (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit);
    const deadline = job.spec.activeDeadlineSeconds;
    const pastDeadline = deadline !== undefined && deadline !== null && startMs + deadline * 1000 <= now;

    let failure: { reason: string; message: string } | undefined;
    if (failed > backoffLimit || pastBackoffOnFailure) {
      failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    } else if (pastDeadline) {
      failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    }

    let requeueAfter: number | undefined;
    const completions = job.spec.completions ?? null;
    if (failure) {
      // The pods stopped for the failure count as failed too, as in Kubernetes.
      failed += this.#pods.deletePods(job, active, log);
      active = [];
      setCondition(conditions, { type: 'Failed', status: 'True', ...failure }, now);
      this.#events.warning(job, failure.reason, failure.message);
    } else {
      const completeNow = completions !== null ? succeeded >= completions : succeeded > 0 && active.length === 0;
      if (completeNow) {
        this.#pods.deletePods(job, active, log);
        active = [];
        status.completionTime = rfc3339(now);
        setCondition(conditions, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now);
        this.#events.normal(job, 'Completed', 'Job completed');
      } else {
        const parallelism = job.spec.parallelism ?? 1;
        const wantActive =
          completions !== null ? Math.max(0, Math.min(completions - succeeded, parallelism)) : succeeded > 0 ? active.length : parallelism;
        if (active.length > wantActive) {
          const doomed = [...active].sort(compareForDeletion).slice(0, active.length - wantActive);
          this.#pods.deletePods(job, doomed, log);
          active = active.filter((p) => !doomed.includes(p));
        } else if (active.length < wantActive) {
          const wait = this.#backoffRemaining(pods, failed, now);
          if (wait > 0) requeueAfter = wait;
          else {
            try {
              active = [...active, ...this.#pods.createPods(job, job.spec.template, wantActive - active.length, log, jobPodLabels(job))];
            } catch (err) {
              this.#events.warning(job, 'FailedCreate', `Error creating: ${describeError(err)}`);
              throw err;
            }
          }
        }
        if (deadline !== undefined && deadline !== null) {
          const untilDeadline = startMs + deadline * 1000 - now;
          requeueAfter = requeueAfter === undefined ? untilDeadline : Math.min(requeueAfter, untilDeadline);
        }
      }
    }

    writeStatusIfChanged(this.#store, JOBS, job, {
      ...status,
      active: active.length,
      ready: active.filter(isPodReady).length,
      succeeded,
      failed,
      conditions,
    });
    return requeueAfter !== undefined ? { requeueAfter: Math.max(1, requeueAfter) } : undefined;
  }

  /** Time left before a failed pod may be replaced: base × 2^(failures−1) after the last failure. */
  #backoffRemaining(pods: readonly Pod[], failed: number, now: number): number {
    if (failed === 0 || this.#backoffMs <= 0) return 0;
    let last = 0;
    for (const p of pods) {
      if (p.status?.phase !== 'Failed') continue;
      for (const s of p.status.containerStatuses ?? []) {
        const t = 'terminated' in s.state ? Date.parse(s.state.terminated.finishedAt ?? '') : NaN;
        if (!Number.isNaN(t)) last = Math.max(last, t);
      }
    }
    if (last === 0) return 0;
    const delay = Math.min(this.#backoffMs * 2 ** Math.min(failed - 1, 20), MAX_BACKOFF_MS);
    return Math.max(0, last + delay - now);
  }
}

function setCondition(conditions: Condition[], c: { type: string; status: Condition['status']; reason: string; message: string }, now: number): void {
  const t = rfc3339(now);
  const cur = conditions.find((x) => x.type === c.type);
  if (cur) {
    if (cur.status !== c.status) cur.lastTransitionTime = t;
    cur.status = c.status;
    cur.reason = c.reason;
    cur.message = c.message;
    cur.lastProbeTime = t;
    return;
  }
  conditions.push({ type: c.type, status: c.status, lastProbeTime: t, lastTransitionTime: t, reason: c.reason, message: c.message });
}
