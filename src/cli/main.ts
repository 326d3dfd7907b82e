/**
 * The meshbox CLI (commander). `main` is what bin/meshbox.js calls; `run` does the work and returns
 * the exit status, so tests can drive the CLI in-process with their own streams.
 *
 * Other modules add commands with `registerCommand` (called before `main`); the placeholders for
 * up/down/rollout/proxy live in commands/*.ts until their owners replace them.
 */
import { Command, CommanderError } from 'commander';
import { describeError } from '../core/errors.js';
import { CliContext, type CliIO } from './context.js';
import * as analyze from './commands/analyze.js';
import * as apply from './commands/apply.js';
import * as del from './commands/delete.js';
import * as describe from './commands/describe.js';
import * as down from './commands/down.js';
import * as exec from './commands/exec.js';
import * as get from './commands/get.js';
import * as logs from './commands/logs.js';
import * as proxy from './commands/proxy.js';
import * as proxyConfig from './commands/proxy-config.js';
import * as proxyStatus from './commands/proxy-status.js';
import * as rollout from './commands/rollout.js';
import * as scale from './commands/scale.js';
import * as top from './commands/top.js';
import * as up from './commands/up.js';

export type CommandHook = (program: Command, ctx: CliContext) => void;

const hooks: CommandHook[] = [];

/** Adds commands from another module; a hook's command replaces a built-in of the same name. */
export function registerCommand(fn: CommandHook): void {
  hooks.push(fn);
}

const BUILTINS = [up, down, apply, get, describe, del, logs, exec, scale, rollout, proxy, proxyStatus, proxyConfig, top, analyze];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('meshbox');
  program
    .description('Kubernetes-YAML pods in real containers on a real network, joined by a service mesh, on one machine')
    .option('--state-dir <dir>', 'state folder (default: $MESHBOX_STATE_DIR or /var/lib/meshbox)')
    .enablePositionalOptions()
    .showHelpAfterError('(run `meshbox --help` for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    });
  const staging = new Command();
  for (const hook of hooks) hook(staging, ctx);
  const hooked = new Set(staging.commands.map((c) => c.name()));
  for (const b of BUILTINS) {
    const probe = new Command();
    b.register(probe, ctx);
    const name = probe.commands[0]!.name();
    if (!hooked.has(name)) b.register(program, ctx);
  }
  for (const hook of hooks) hook(program, ctx);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
  return program;
}

/** Runs the CLI; returns the exit status. */
export async function run(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const full: CliIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    // process.stdin opens a handle on first touch: only commands that read stdin should touch it
    get stdin() {
      return io.stdin ?? process.stdin;
    },
    env: io.env ?? process.env,
    now: io.now ?? Date.now,
    ...(io.signal ? { signal: io.signal } : {}),
  };
  let program: Command | undefined;
  const ctx = new CliContext(full, () => program?.opts<{ stateDir?: string }>().stateDir);
  program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    full.stderr.write(`error: ${describeError(err)}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv);
}
