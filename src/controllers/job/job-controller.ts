/** Wires the Job reconciler: Jobs (root), their pods, and orphan pods its selector matches. */
import type { Controller } from '../../reconcile/controller.js';
import { reconcilerOptions, workloadController, type WorkloadControllerOptions } from '../workloads-shared/workload-controller.js';
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
    ...reconcilerOptions(options),
    ...(options.podFailureBackoffMs !== undefined ? { podFailureBackoffMs: options.podFailureBackoffMs } : {}),
  });
  return workloadController('job-controller', reconciler, options)
    .for(jobInformer)
    .owns(podInformer, 'Job', 'batch/v1')
    .watches(podInformer, orphanToOwners(jobInformer, (o) => jobSelector(o as Job)));
}
