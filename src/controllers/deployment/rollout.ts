/**
 * `meshbox rollout status|history|undo|restart`: client-side operations, as in kubectl
 * (polymorphichelpers: DeploymentStatusViewer, DeploymentHistoryViewer, DeploymentRollbacker,
 * ObjectRestarter). Pure functions over objects the CLI reads through the API; no store.
 */
import { rfc3339 } from '../../core/clock.js';
import { NoRolloutHistory, RevisionNotFound, RollbackPaused } from '../workloads-shared/errors.js';
import type { Deployment, PodTemplateSpec, ReplicaSet } from '../workloads-shared/types.js';
import { PROGRESSING, TIMED_OUT, getDeploymentCondition } from './deployment-conditions.js';
import { POD_TEMPLATE_HASH_LABEL, canonicalJson, templateWithoutHash } from './pod-template-hash.js';
import {
  CHANGE_CAUSE_ANNOTATION,
  DEPLOYMENT_ONLY_ANNOTATIONS,
  RESTARTED_AT_ANNOTATION,
  revisionOf,
} from './revisions.js';

// === status ===

export interface RolloutStatus {
  /** the rollout finished: stop watching */
  done: boolean;
  /** the rollout cannot finish (progress deadline exceeded): exit non-zero */
  failed: boolean;
  message: string;
}

/** One step of `rollout status`, with kubectl's messages. Call again on every change of the Deployment. */
export function rolloutStatus(deploy: Deployment): RolloutStatus {
  const name = deploy.metadata.name;
  const s = deploy.status ?? {};
  if ((deploy.metadata.generation ?? 1) > (s.observedGeneration ?? 0)) {
    return { done: false, failed: false, message: 'Waiting for deployment spec update to be observed...' };
  }
  if (getDeploymentCondition(s.conditions, PROGRESSING)?.reason === TIMED_OUT) {
    return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  }
  const want = deploy.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const replicas = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < want) {
    return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...` };
  }
  if (replicas > updated) {
    return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...` };
  }
  if (available < updated) {
    return { done: false, failed: false, message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
  }
  return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
}

// === history ===

export interface RolloutHistoryRow {
  revision: number;
  changeCause: string;
}

/** The ReplicaSets this Deployment controls. */
function owned(deploy: Deployment, replicaSets: readonly ReplicaSet[]): ReplicaSet[] {
  return replicaSets.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === deploy.metadata.uid));
}

/** Rows of `rollout history`, oldest revision first; CHANGE-CAUSE is "<none>" when not recorded. */
export function rolloutHistory(deploy: Deployment, replicaSets: readonly ReplicaSet[]): RolloutHistoryRow[] {
  const rows = new Map<number, RolloutHistoryRow>();
  for (const rs of owned(deploy, replicaSets)) {
    const revision = revisionOf(rs);
    if (revision === 0) continue;
    rows.set(revision, { revision, changeCause: rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] || '<none>' });
  }
  return [...rows.values()].sort((a, b) => a.revision - b.revision);
}

/** kubectl's table: "deployment.apps/NAME", then REVISION and CHANGE-CAUSE columns. */
export function formatRolloutHistory(deploy: Deployment, rows: readonly RolloutHistoryRow[]): string {
  const width = Math.max('REVISION'.length, ...rows.map((r) => String(r.revision).length)) + 2;
  const lines = [`deployment.apps/${deploy.metadata.name} `, `${'REVISION'.padEnd(width)}CHANGE-CAUSE`];
  for (const r of rows) lines.push(`${String(r.revision).padEnd(width)}${r.changeCause}`);
  return `${lines.join('\n')}\n`;
}

/** The pod template recorded for one revision (`rollout history --revision=N`). */
export function revisionTemplate(deploy: Deployment, replicaSets: readonly ReplicaSet[], revision: number): PodTemplateSpec {
  const rs = owned(deploy, replicaSets).find((r) => revisionOf(r) === revision);
  if (!rs) throw RevisionNotFound(revision);
  return templateWithoutHash(rs.spec.template);
}

// === undo ===

export interface RolloutUndo {
  /** the revision rolled back to */
  revision: number;
  /** true when the Deployment already runs that template: nothing to send */
  skipped: boolean;
  /** "deployment.apps/NAME rolled back", or kubectl's "skipped rollback (...)" */
  message: string;
  /** the template to put back (pod-template-hash removed) */
  template: PodTemplateSpec;
  /** the Deployment's annotations after the rollback (change-cause of that revision carried back) */
  annotations: Record<string, string>;
  /** a JSON merge patch (application/merge-patch+json) turning the Deployment into the rolled-back one */
  patch: Record<string, unknown>;
}

/**
 * `rollout undo [--to-revision=N]`: the template of revision N, or of the revision before the
 * latest when N is 0 or absent. Throws "unable to find specified revision N in history".
 */
export function rolloutUndoPatch(deploy: Deployment, replicaSets: readonly ReplicaSet[], toRevision?: number): RolloutUndo {
  if (deploy.spec.paused) throw RollbackPaused(deploy.metadata.name);
  const target = rsForRevision(deploy, replicaSets, toRevision ?? 0);
  const revision = revisionOf(target);
  const template = templateWithoutHash(target.spec.template);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(deploy.metadata.annotations ?? {})) if (DEPLOYMENT_ONLY_ANNOTATIONS.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(target.metadata.annotations ?? {})) if (!DEPLOYMENT_ONLY_ANNOTATIONS.has(k)) annotations[k] = v;
  const name = deploy.metadata.name;
  if (canonicalJson(templateWithoutHash(deploy.spec.template)) === canonicalJson(template)) {
    return {
      revision,
      skipped: true,
      message: `deployment.apps/${name} skipped rollback (current template already matches revision ${revision})`,
      template,
      annotations: { ...(deploy.metadata.annotations ?? {}) },
      patch: {},
    };
  }
  const patch = {
    metadata: { annotations: mergePatch(deploy.metadata.annotations ?? {}, annotations) },
    spec: { template: mergePatch(deploy.spec.template, template) },
  };
  return { revision, skipped: false, message: `deployment.apps/${name} rolled back`, template, annotations, patch };
}

function rsForRevision(deploy: Deployment, replicaSets: readonly ReplicaSet[], toRevision: number): ReplicaSet {
  let latest: ReplicaSet | undefined;
  let latestRev = -1;
  let previous: ReplicaSet | undefined;
  let previousRev = -1;
  for (const rs of owned(deploy, replicaSets)) {
    const v = revisionOf(rs);
    if (v === 0) continue;
    if (toRevision > 0) {
      if (v === toRevision) return rs;
      continue;
    }
    if (v > latestRev) {
      previousRev = latestRev;
      previous = latest;
      latestRev = v;
      latest = rs;
    } else if (v > previousRev) {
      previousRev = v;
      previous = rs;
    }
  }
  if (toRevision > 0) throw RevisionNotFound(toRevision);
  if (!previous) throw NoRolloutHistory(deploy.metadata.name);
  return previous;
}

/**
 * The RFC 7386 merge patch from `from` to `to`: changed and new keys set, vanished keys null,
 * arrays and scalars replaced whole.
 */
export function mergePatch(from: unknown, to: unknown): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const a = (isObject(from) ? from : {}) as Record<string, unknown>;
  const b = (isObject(to) ? to : {}) as Record<string, unknown>;
  for (const k of Object.keys(a)) if (!(k in b) || b[k] === undefined) patch[k] = null;
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    if (isObject(v) && isObject(a[k])) {
      const sub = mergePatch(a[k], v);
      if (Object.keys(sub).length) patch[k] = sub;
    } else if (canonicalJson(v) !== canonicalJson(a[k])) {
      patch[k] = v;
    }
  }
  return patch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// === restart ===

/** `rollout restart`: a merge patch stamping the template, which makes a new ReplicaSet. */
export function rolloutRestartPatch(nowMs: number = Date.now()): Record<string, unknown> {
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: rfc3339(nowMs) } } } } };
}

export { POD_TEMPLATE_HASH_LABEL };
