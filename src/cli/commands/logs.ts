/** meshbox logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [-n NS] */
import type { Command } from 'commander';
import { resolveResource } from '../../api/resources.js';
import { resourcePath } from '../client.js';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { namespaceOption, positiveInt } from './common.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("print a container's output")
    .argument('<pod>', 'pod name (or pod/NAME)')
    .option('-c, --container <name>', 'container (default: the pod\'s main container)')
    .option('-f, --follow', 'keep printing new output')
    .option('--tail <lines>', 'only the last N lines', positiveInt('--tail'))
    .option('-p, --previous', 'output of the previous, terminated run of the container')
    .option('--timestamps', 'prefix each line with its time')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .action(async (pod: string, opts: { container?: string; follow?: boolean; tail?: number; previous?: boolean; timestamps?: boolean; namespace?: string }) => {
      let name = pod;
      if (pod.includes('/')) {
        const [kind, n] = pod.split('/', 2) as [string, string];
        if (resolveResource(kind)?.kind !== 'Pod') throw Usage(`logs takes a pod, not "${pod}"`);
        name = n;
      }
      const q = new URLSearchParams();
      if (opts.container) q.set('container', opts.container);
      if (opts.follow) q.set('follow', 'true');
      if (opts.tail !== undefined) q.set('tailLines', String(opts.tail));
      if (opts.previous) q.set('previous', 'true');
      if (opts.timestamps) q.set('timestamps', 'true');
      const qs = q.toString();
      const path = resourcePath(resolveResource('pods')!, namespaceOption(opts), name, 'log') + (qs ? `?${qs}` : '');
      const res = await ctx.client().stream(path);
      const onAbort = (): void => void res.destroy();
      ctx.io.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          if (!ctx.stdout.write(chunk)) await new Promise((r) => ctx.stdout.once('drain', r));
        }
      } catch (err) {
        if (!ctx.io.signal?.aborted) throw err;
      } finally {
        ctx.io.signal?.removeEventListener('abort', onAbort);
      }
    });
}
