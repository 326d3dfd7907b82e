/**
 * `meshbox proxy`: a placeholder until the module that owns it replaces this file (the lead wires
 * it). Keep the export: main.ts calls `register(program, ctx)`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { NotImplemented } from '../errors.js';


export function register(program: Command, _ctx: CliContext): void {
  program.command('proxy').description('run the sidecar proxy standalone').option('--config <file>', 'proxy config file')
    .allowUnknownOption()
    .action(() => {
      throw NotImplemented('proxy');
    });
}
