/** meshbox down: stop the daemon and remove every pod, netns, veth, rule and state file it made. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('down')
    .description('stop the daemon and remove every pod, netns, veth and rule it made (also after a crash)')
    .action(async () => {
      const { down } = await import('../up-down.js');
      await down(ctx.stateDir());
    });
}
