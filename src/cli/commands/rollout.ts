/**
 * meshbox rollout status|history|undo|restart deployment/NAME: client-side, as kubectl does it, over
 * the API (the rollout logic is pure and lives with the Deployment controller).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { runRollout, type RolloutAction } from '../../controllers/deployment/rollout-actions.js';
import type { Deployment, ReplicaSet } from '../../controllers/workloads-shared/types.js';
import { namespaceOption, positiveInt } from './common.js';

const ACTIONS: readonly RolloutAction[] = ['status', 'history', 'undo', 'restart'];

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw Usage(`--timeout must be a duration such as 30s or 5m, not "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('rollout')
    .description("manage a deployment's rollout: status|history|undo|restart deployment/NAME")
    .argument('<action>', ACTIONS.join('|'))
    .argument('<ref>', 'deployment/NAME')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .option('--to-revision <n>', 'undo: the revision to go back to', positiveInt('--to-revision'))
    .option('--revision <n>', "history: show one revision's pod template", positiveInt('--revision'))
    .option('-w, --watch <bool>', 'status: wait until the rollout finishes (default true)')
    .option('--timeout <duration>', 'status: give up after this long (e.g. 5m)')
    .action(async (action: string, ref: string, opts: { namespace?: string; toRevision?: number; revision?: number; watch?: string; timeout?: string }) => {
      if (!ACTIONS.includes(action as RolloutAction)) throw Usage(`unknown rollout action "${action}": use ${ACTIONS.join(', ')}`);
      const m = /^(deployments?|deploy|deployments?\.apps)\/(.+)$/.exec(ref);
      if (!m) throw Usage(`rollout works on deployments: write deployment/NAME, not "${ref}"`);
      const name = m[2]!;
      const namespace = namespaceOption(opts);
      const client = ctx.client();
      const base = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}`;
      await runRollout(
        action as RolloutAction,
        {
          getDeployment: (ns, n) => client.get<Deployment>(`/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(n)}`),
          listReplicaSets: async () => (await client.get<{ items: ReplicaSet[] }>(`${base}/replicasets`)).items,
          patchDeployment: (ns, n, patch) =>
            client.request<Deployment>('PATCH', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(n)}`, patch, 'application/merge-patch+json'),
        },
        namespace,
        name,
        (line) => ctx.out(line),
        {
          ...(opts.toRevision !== undefined ? { toRevision: opts.toRevision } : {}),
          ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
          ...(opts.watch !== undefined ? { watch: opts.watch !== 'false' } : {}),
          ...(opts.timeout !== undefined ? { timeoutMs: parseDuration(opts.timeout) } : {}),
          ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
        },
      );
    });
}
