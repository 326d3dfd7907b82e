import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../api/types.js';
import { eventually } from '../../reconcile/testing/eventually.js';
import type { Store } from '../../store/types.js';
import { isPodActive } from '../workloads-shared/pod-utils.js';
import { withHarness, type ControllerFactory } from '../workloads-shared/testing/harness.js';
import { JOBS, PODS, type Job, type JobSpec } from '../workloads-shared/types.js';
import { createJobController } from './job-controller.js';
import { JobReconciler } from './job-reconciler.js';
import { openTestStore } from '../../reconcile/testing/test-store.js';
import { silentLogger } from '../../core/logger.js';

const jobs = (backoffMs = 0): ControllerFactory => (o) => createJobController({ ...o, podFailureBackoffMs: backoffMs });

function makeJob(store: Store, name: string, spec: Partial<JobSpec> = {}, restartPolicy: 'Never' | 'OnFailure' | 'Always' = 'Never'): Job {
  return store.create(JOBS, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { namespace: 'ns', name },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      template: { metadata: { labels: { team: 'a' } }, spec: { restartPolicy, containers: [{ name: 'c', image: 'host' }] } },
      ...spec,
    },
  }) as Job;
}

const getJob = (store: Store, name: string) => store.get(JOBS, 'ns', name) as Job;
const podsOf = (store: Store, job: Job) =>
  (store.list(PODS, { namespace: 'ns' }).items as Pod[]).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid));
const cond = (job: Job, type: string) => job.status?.conditions?.find((c) => c.type === type);

test('a Job with completions=3 parallelism=2 runs at most 2 pods at a time and completes', () =>
  withHarness({ fate: () => 'succeed', startDelayMs: 20 }, async (h) => {
    await h.start([jobs()]);
    let maxActive = 0;
    const stop = h.store.watch('pods', {}, () => {
      maxActive = Math.max(maxActive, (h.store.list(PODS).items as Pod[]).filter(isPodActive).length);
    });
    const job = makeJob(h.store, 'batch', { completions: 3, parallelism: 2 });
    try {
      await eventually(() => assert.equal(cond(getJob(h.store, 'batch'), 'Complete')?.status, 'True'));
    } finally {
      stop();
    }
    const s = getJob(h.store, 'batch').status!;
    assert.equal(s.succeeded, 3);
    assert.equal(s.failed, 0);
    assert.equal(s.active, 0);
    assert.ok(s.startTime && s.completionTime);
    assert.ok(Date.parse(s.completionTime!) >= Date.parse(s.startTime!));
    assert.equal(maxActive, 2);
    const pods = podsOf(h.store, job);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata.name, /^batch-\w{5}$/);
      assert.equal(p.metadata.labels?.['job-name'], 'batch');
      assert.equal(p.metadata.labels?.['batch.kubernetes.io/job-name'], 'batch');
      assert.equal(p.metadata.labels?.['controller-uid'], job.metadata.uid);
      assert.equal(p.metadata.labels?.['batch.kubernetes.io/controller-uid'], job.metadata.uid);
      assert.equal(p.metadata.labels?.team, 'a');
      assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'Job');
    }
    assert.equal(h.events('SuccessfulCreate').length, 3);
    assert.equal(h.events('Completed')[0]?.message, 'Job completed');
  }));

test('restartPolicy Never: the Job fails after backoffLimit pod failures and makes no more pods', () =>
  withHarness({ fate: () => 'fail' }, async (h) => {
    await h.start([jobs(5)]);
    const job = makeJob(h.store, 'flaky', { backoffLimit: 2 });
    await eventually(() => {
      const c = cond(getJob(h.store, 'flaky'), 'Failed');
      assert.equal(c?.status, 'True');
      assert.equal(c?.reason, 'BackoffLimitExceeded');
      assert.equal(c?.message, 'Job has reached the specified backoff limit');
    });
    assert.equal(getJob(h.store, 'flaky').status?.failed, 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(podsOf(h.store, job).length, 3, 'no pod after the limit');
    assert.equal(getJob(h.store, 'flaky').status?.active, 0);
    assert.equal(h.events('BackoffLimitExceeded').length, 1);
  }));

test('restartPolicy OnFailure: container restarts count toward backoffLimit', () =>
  withHarness({ fate: () => ({ restarts: 3 }) }, async (h) => {
    await h.start([jobs()]);
    const job = makeJob(h.store, 'crashy', { backoffLimit: 2 }, 'OnFailure');
    await eventually(() => assert.equal(cond(getJob(h.store, 'crashy'), 'Failed')?.reason, 'BackoffLimitExceeded'));
    await eventually(() => assert.equal(podsOf(h.store, job).length, 0, 'the restarting pod is deleted'));
    assert.equal(getJob(h.store, 'crashy').status?.active, 0);
  }));

test('activeDeadlineSeconds fails a Job that runs too long and stops its pods', () =>
  withHarness({ fate: () => 'running' }, async (h) => {
    await h.start([jobs()]);
    const job = makeJob(h.store, 'slow', { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 });
    // startTime has whole seconds, so the deadline may pass at once: assert the pods were made, not that we saw them
    await eventually(() => assert.equal(h.events('SuccessfulCreate').length, 2));
    await eventually(() => {
      const c = cond(getJob(h.store, 'slow'), 'Failed');
      assert.equal(c?.reason, 'DeadlineExceeded');
      assert.equal(c?.message, 'Job was active longer than specified deadline');
    }, 4000);
    await eventually(() => assert.equal(podsOf(h.store, job).length, 0));
  }));

test('a failed pod is replaced only after the back-off delay, doubling per failure', async () => {
  const ts = openTestStore();
  try {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = { now: () => now, monotonic: () => now, setTimeout: () => ({ cancel() {} }) };
    const r = new JobReconciler({ store: ts.store, events: { normal() {}, warning() {} }, log: silentLogger, clock, podFailureBackoffMs: 10_000 });
    const ctx = { log: silentLogger, signal: new AbortController().signal };
    const job = makeJob(ts.store, 'retry', { backoffLimit: 5 });
    const fail = () => {
      for (const p of podsOf(ts.store, job).filter(isPodActive)) {
        ts.store.updateStatus(PODS, {
          ...p,
          status: {
            phase: 'Failed',
            containerStatuses: [
              { name: 'c', ready: false, restartCount: 0, image: 'host', imageID: '', state: { terminated: { exitCode: 1, finishedAt: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z') } }, lastState: {} },
            ],
          },
        });
      }
    };
    await r.reconcile('ns/retry', ctx);
    assert.equal(podsOf(ts.store, job).length, 1);
    fail();
    let res = await r.reconcile('ns/retry', ctx);
    assert.equal(podsOf(ts.store, job).length, 1, 'no replacement during the back-off');
    assert.equal(res?.requeueAfter, 10_000);
    now += 9_000;
    await r.reconcile('ns/retry', ctx);
    assert.equal(podsOf(ts.store, job).length, 1);
    now += 1_000;
    await r.reconcile('ns/retry', ctx);
    assert.equal(podsOf(ts.store, job).length, 2, 'replaced after 10 s');
    fail();
    res = await r.reconcile('ns/retry', ctx);
    assert.equal(res?.requeueAfter, 20_000, 'second failure waits twice as long');
    assert.equal(getJob(ts.store, 'retry').status?.failed, 2);
  } finally {
    ts.cleanup();
  }
});

test('a Job with restartPolicy Always gets a warning and no pods', () =>
  withHarness({}, async (h) => {
    await h.start([jobs()]);
    makeJob(h.store, 'bad', {}, 'Always');
    await eventually(() => assert.equal(h.events('InvalidRestartPolicy').length, 1));
    assert.match(h.events('InvalidRestartPolicy')[0]!.message, /OnFailure or Never/);
    assert.equal(h.store.list(PODS).items.length, 0);
  }));

test('a suspended Job runs no pods until it is resumed', () =>
  withHarness({ fate: () => 'succeed' }, async (h) => {
    await h.start([jobs()]);
    const job = makeJob(h.store, 'later', { suspend: true });
    await eventually(() => {
      const c = cond(getJob(h.store, 'later'), 'Suspended');
      assert.equal(c?.status, 'True');
      assert.equal(c?.reason, 'JobSuspended');
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(podsOf(h.store, job).length, 0);
    assert.equal(getJob(h.store, 'later').status?.startTime, undefined);
    const cur = getJob(h.store, 'later');
    h.store.update(JOBS, { ...cur, spec: { ...cur.spec, suspend: false } });
    await eventually(() => assert.equal(cond(getJob(h.store, 'later'), 'Complete')?.status, 'True'));
    assert.equal(cond(getJob(h.store, 'later'), 'Suspended')?.status, 'False');
  }));
