/** Wires the Job reconciler: Jobs (root), their pods, and orphan pods its selector matches. */
import { Controller } from '../../reconcile/controller.js';
import type { WorkloadControllerOptions } from '../replicaset/replicaset-controller.js';
import { orphanToOwners } from '../workloads-shared/orphan-mapper.js';
import { JOBS, PODS, type Job } from '../workloads-shared/types.js';
import { JobReconciler, jobSelector } from './job-reconciler.js';

export interface JobControllerOptions extends WorkloadControllerOptions {
  /** delay before replacing a failed pod (default 10 s, doubling) */
  podFailureBackoffMs?: number;
}

export function createJobController(options: JobControllerOptions): Controller {
  const jobInformer = options.informers.informerFor(JOBS);
  const podInformer = options.informers.informerFor(PODS);
  const reconciler = new JobReconciler({
    store: options.store,
    events: options.events,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.admitPod ? { admitPod: options.admitPod } : {}),
    ...(options.podFailureBackoffMs !== undefined ? { podFailureBackoffMs: options.podFailureBackoffMs } : {}),
  });
  return new Controller({
    name: 'job-controller',
    reconciler,
    workers: options.workers ?? 2,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  })
    .for(jobInformer)
    .owns(podInformer, 'Job', 'batch/v1')
    .watches(podInformer, orphanToOwners(jobInformer, (o) => jobSelector(o as Job)));
}
