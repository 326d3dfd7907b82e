/** meshbox down: stop the daemon and remove every pod, netns, veth, rule and state file it made. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { down } from '../up-down.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('down')
    .description('stop the daemon and remove every pod, netns, veth and rule it made (also after a crash)')
    .action(async () => {
      await down(ctx.stateDir());
    });
}
