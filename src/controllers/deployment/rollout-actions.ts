/**
 * `meshbox rollout status|history|undo|restart deployment/NAME`, written against a small API
 * interface so the CLI passes its HTTP client and tests pass a store-backed one. Output lines are
 * kubectl's.
 */
import { RestartPaused, RolloutFailed, RolloutStatusTimeout } from '../workloads-shared/errors.js';
import type { Deployment, ReplicaSet } from '../workloads-shared/types.js';
import { formatRolloutHistory, revisionTemplate, rolloutHistory, rolloutRestartPatch, rolloutStatus, rolloutUndoPatch } from './rollout.js';

export interface RolloutApi {
  getDeployment(namespace: string, name: string): Promise<Deployment>;
  listReplicaSets(namespace: string): Promise<ReplicaSet[]>;
  /** PATCH with application/merge-patch+json */
  patchDeployment(namespace: string, name: string, patch: Record<string, unknown>): Promise<Deployment>;
}

export type RolloutAction = 'status' | 'history' | 'undo' | 'restart';

export interface RolloutOptions {
  /** undo: the revision to go back to (0 or absent: the previous one) */
  toRevision?: number;
  /** history: show one revision's pod template (as JSON) */
  revision?: number;
  /** status: false returns after one check, like kubectl --watch=false */
  watch?: boolean;
  /** status: give up after this long (default: wait until done or failed) */
  timeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** restart: the timestamp to stamp (default now) */
  nowMs?: number;
}

export async function runRollout(
  action: RolloutAction,
  api: RolloutApi,
  namespace: string,
  name: string,
  out: (line: string) => void,
  options: RolloutOptions = {},
): Promise<void> {
  switch (action) {
    case 'status':
      return status(api, namespace, name, out, options);
    case 'history': {
      const d = await api.getDeployment(namespace, name);
      const rss = await api.listReplicaSets(namespace);
      if (options.revision) {
        out(`deployment.apps/${name} with revision #${options.revision}\n${JSON.stringify(revisionTemplate(d, rss, options.revision), null, 2)}\n`);
        return;
      }
      out(formatRolloutHistory(d, rolloutHistory(d, rss)));
      return;
    }
    case 'undo': {
      const d = await api.getDeployment(namespace, name);
      const undo = rolloutUndoPatch(d, await api.listReplicaSets(namespace), options.toRevision);
      if (!undo.skipped) await api.patchDeployment(namespace, name, undo.patch);
      out(`${undo.message}\n`);
      return;
    }
    case 'restart': {
      const d = await api.getDeployment(namespace, name);
      if (d.spec.paused) throw RestartPaused(name);
      await api.patchDeployment(namespace, name, rolloutRestartPatch(options.nowMs));
      out(`deployment.apps/${name} restarted\n`);
      return;
    }
  }
}

async function status(api: RolloutApi, namespace: string, name: string, out: (line: string) => void, options: RolloutOptions): Promise<void> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 500;
  let last = '';
  for (;;) {
    const s = rolloutStatus(await api.getDeployment(namespace, name));
    if (s.failed) throw RolloutFailed(s.message);
    if (s.message !== last) out(`${s.message}\n`);
    last = s.message;
    if (s.done || options.watch === false) return;
    if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) throw RolloutStatusTimeout(name, options.timeoutMs, last);
    if (options.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
