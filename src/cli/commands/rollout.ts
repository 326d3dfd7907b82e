/**
 * `meshbox rollout`: a placeholder until the module that owns it replaces this file (the lead wires
 * it). Keep the export: main.ts calls `register(program, ctx)`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { NotImplemented } from '../errors.js';


export function register(program: Command, _ctx: CliContext): void {
  program.command('rollout').description("manage a deployment's rollout: status|history|undo|restart deployment/NAME").argument('<action>').argument('<ref>').option('-n, --namespace <namespace>').option('--to-revision <n>')
    .allowUnknownOption()
    .action(() => {
      throw NotImplemented('rollout');
    });
}
