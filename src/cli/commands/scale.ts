/** meshbox scale deployment/NAME --replicas N (also replicasets, and KIND NAME). */
import type { Command } from 'commander';
import { resourcePath } from '../client.js';
import type { CliContext } from '../context.js';
import { kindRef } from '../format.js';
import { Usage } from '../errors.js';
import { kindAndNames, namespaceOption, positiveInt } from './common.js';

const SCALABLE = new Set(['Deployment', 'ReplicaSet']);

export function register(program: Command, ctx: CliContext): void {
  program
    .command('scale')
    .description('set the number of replicas of a deployment or replica set')
    .argument('<kind>', 'deployment/NAME, or KIND')
    .argument('[names...]', 'names, when KIND is given alone')
    .requiredOption('--replicas <n>', 'the new number of replicas', positiveInt('--replicas'))
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .action(async (kind: string, rest: string[], opts: { replicas: number; namespace?: string }) => {
      const { resource, names } = kindAndNames(kind, rest);
      if (!SCALABLE.has(resource.kind)) throw Usage(`cannot scale ${resource.plural}: only deployments and replicasets have replicas`);
      if (names.length === 0) throw Usage('give the name: meshbox scale deployment/NAME --replicas N');
      for (const name of names) {
        await ctx
          .client()
          .request('PATCH', resourcePath(resource, namespaceOption(opts), name), { spec: { replicas: opts.replicas } }, 'application/merge-patch+json');
        ctx.out(`${kindRef(resource)}/${name} scaled\n`);
      }
    });
}
