/** meshbox proxy --config FILE: the sidecar proxy, standalone, reloading FILE when it changes. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { runProxyProcess } from '../../proxy/node-flags.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('proxy')
    .description('run the sidecar proxy standalone from a config file (docs/proxy-config.md); SIGTERM drains')
    .option('--config <file>', 'proxy config file (YAML or JSON); reloaded when it changes')
    .action(async (opts: { config?: string }) => {
      if (!opts.config) throw Usage('meshbox proxy needs --config FILE (see docs/proxy-config.md)');
      // The proxy runs in its own lean process with small V8 semi-spaces (src/proxy/node-flags.ts):
      // this CLI process alone would put a sidecar past 50 MB RSS. Signals are forwarded.
      ctx.warn(`meshbox proxy serving ${opts.config}\n`);
      process.exit(await runProxyProcess(opts.config));
    });
}
