/** meshbox exec POD [-c CONTAINER] [-i] [-n NS] -- COMMAND [ARG]...: the command's exit status is passed on. */
import type { Command } from 'commander';
import { resolveResource } from '../../api/resources.js';
import { resourcePath } from '../client.js';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { namespaceOption } from './common.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('exec')
    .description('run a command in a container of a pod')
    .argument('<pod>', 'pod name (or pod/NAME)')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'container (default: the pod\'s main container)')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .action(async (pod: string, command: string[], opts: { container?: string; stdin?: boolean; namespace?: string }) => {
      if (command.length === 0) throw Usage('give the command after --: meshbox exec POD -- COMMAND [ARG]...');
      const name = pod.includes('/') ? pod.slice(pod.indexOf('/') + 1) : pod;
      const q = new URLSearchParams();
      if (opts.container) q.set('container', opts.container);
      for (const arg of command) q.append('command', arg);
      if (opts.stdin) q.set('stdin', 'true');
      const path = `${resourcePath(resolveResource('pods')!, namespaceOption(opts), name, 'exec')}?${q.toString()}`;
      ctx.exitCode = await ctx.client().exec(path, {
        stdin: opts.stdin ? ctx.io.stdin : undefined,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
      });
    });
}
