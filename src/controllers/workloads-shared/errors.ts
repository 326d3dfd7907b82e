/** Error catalog of the workload controllers (ReplicaSet, Deployment, Job) and the rollout helpers. */
import { defineError } from '../../core/errors.js';

export const InvalidSelector = defineError(
  'MBX_WORKLOADS_INVALID_SELECTOR',
  (kind: string, name: string, why: string) =>
    `${kind} "${name}" has an invalid spec.selector: ${why}; fix the selector (it must match spec.template.metadata.labels) and apply again`,
  { httpStatus: 422 },
);

export const EmptySelector = defineError(
  'MBX_WORKLOADS_EMPTY_SELECTOR',
  (kind: string, name: string) =>
    `${kind} "${name}" has an empty spec.selector, which would select every pod in the namespace; give it matchLabels that match spec.template.metadata.labels`,
  { httpStatus: 422 },
);

export const InvalidRestartPolicy = defineError(
  'MBX_WORKLOADS_JOB_RESTART_POLICY',
  (name: string, policy: string) =>
    `Job "${name}" has restartPolicy ${policy}; a Job's pods need restartPolicy OnFailure or Never`,
  { httpStatus: 422 },
);

export const RevisionNotFound = defineError(
  'MBX_WORKLOADS_REVISION_NOT_FOUND',
  (revision: number) =>
    `unable to find specified revision ${revision} in history; list the revisions with \`meshbox rollout history deployment/NAME\``,
  { httpStatus: 404 },
);

export const NoRolloutHistory = defineError(
  'MBX_WORKLOADS_NO_ROLLOUT_HISTORY',
  (name: string) =>
    `no rollout history found for deployment "${name}"; a previous revision exists only after the pod template has changed once`,
  { httpStatus: 404 },
);

export const InvalidIntOrPercent = defineError(
  'MBX_WORKLOADS_INVALID_INT_OR_PERCENT',
  (field: string, value: string) =>
    `${field} is ${value}; use a non-negative integer or a percentage such as "25%"`,
  { httpStatus: 422 },
);

export const RollbackPaused = defineError(
  'MBX_WORKLOADS_ROLLBACK_PAUSED',
  (name: string) =>
    `you cannot rollback a paused deployment ("${name}"); resume it first (set spec.paused to false) and try again`,
  { httpStatus: 409 },
);

export const RestartPaused = defineError(
  'MBX_WORKLOADS_RESTART_PAUSED',
  (name: string) => `can't restart paused deployment "${name}" (resume it first: set spec.paused to false)`,
  { httpStatus: 409 },
);

export const RolloutFailed = defineError(
  'MBX_WORKLOADS_ROLLOUT_FAILED',
  (message: string) => `${message}; see \`meshbox describe deployment\` for the conditions and events`,
);

export const RolloutStatusTimeout = defineError(
  'MBX_WORKLOADS_ROLLOUT_TIMEOUT',
  (name: string, ms: number, last: string) =>
    `timed out after ${ms} ms waiting for deployment "${name}" to roll out (last: ${last}); wait longer or check its pods`,
  { retryable: true },
);
