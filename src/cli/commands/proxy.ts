/** meshbox proxy --config FILE: the sidecar proxy, standalone, reloading FILE when it changes. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { runProxyFromFile } from '../../proxy/main.js';
import { createLogger } from '../../core/logger.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('proxy')
    .description('run the sidecar proxy standalone from a config file (docs/proxy-config.md); SIGTERM drains')
    .option('--config <file>', 'proxy config file (YAML or JSON); reloaded when it changes')
    .action(async (opts: { config?: string }) => {
      if (!opts.config) throw Usage('meshbox proxy needs --config FILE (see docs/proxy-config.md)');
      const running = await runProxyFromFile(opts.config, { logger: createLogger('proxy') });
      ctx.warn(`meshbox proxy serving ${opts.config} (version ${running.proxy.version})\n`);
      // runs until SIGTERM/SIGINT or /quitquitquit, which exit the process
      await new Promise<never>(() => undefined);
    });
}
