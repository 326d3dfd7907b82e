/**
 * A thin wrapper over the runc CLI, with a private state root (`runc --root <stateDir>/runc`) so
 * several meshbox daemons on one machine never see each other's containers.
 *
 *   new Runc({ root, binary? })
 *   check(): Promise<string>                            version line; MBX_RUNTIME_RUNC_NOT_FOUND if absent
 *   create(id, bundle, { pidFile? }) / start(id)
 *   state(id): Promise<RuncState | undefined>           undefined when runc does not know the id
 *   kill(id, signal, { all? }): Promise<boolean>        false when the container is not running
 *   delete(id, { force? })                              no error when already gone
 *   list(): Promise<RuncState[]>
 *   exec(id, argv, io): Promise<number>                 exit status of the command (128+n for signal n)
 *   stats(id): Promise<Record<string, unknown>>         `runc events --stats`
 *   runArgs(id, bundle, pidFile, logFile): string[]     `runc run --keep` for the shim (container-runtime.ts)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { run, type RunResult } from '../core/exec.js';
import { describeError, firstMeshboxError } from '../core/errors.js';
import { RuncFailed, RuncNotFound } from './errors.js';

export const DEFAULT_RUNC = '/usr/sbin/runc';

export interface RuncState {
  id: string;
  pid: number;
  status: 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface ExecIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  env?: string[];
  cwd?: string;
  /** aborting sends SIGTERM to runc exec, which passes it on to the command */
  signal?: AbortSignal;
}

const NOT_EXIST = /does not exist|not found|no such file/i;

export class Runc {
  readonly binary: string;
  readonly root: string;

  constructor(opts: { root: string; binary?: string }) {
    this.root = opts.root;
    this.binary = opts.binary ?? DEFAULT_RUNC;
  }

  async check(): Promise<string> {
    if (!existsSync(this.binary)) throw RuncNotFound(this.binary);
    const r = await this.#run(['--version'], 'version', '-');
    return r.stdout.split('\n')[0] ?? '';
  }

  /** Global flags, then the subcommand. */
  #args(rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  async #run(args: string[], op: string, id: string, allowFailure = false): Promise<RunResult> {
    try {
      return await run(this.binary, op === 'version' ? args : this.#args(args), {
        timeoutMs: 30_000,
        allowFailure,
        notFoundHint: 'install the Debian package runc',
      });
    } catch (err) {
      if (firstMeshboxError(err)?.code === 'MBX_COMMAND_NOT_FOUND') throw RuncNotFound(this.binary, { cause: err });
      throw RuncFailed(op, id, describeError(err), { cause: err });
    }
  }

  runArgs(id: string, bundle: string, pidFile: string, logFile: string): string[] {
    return ['--root', this.root, '--log', logFile, '--log-format', 'json', 'run', '--keep', '--bundle', bundle, '--pid-file', pidFile, id];
  }

  async create(id: string, bundle: string, opts: { pidFile?: string } = {}): Promise<void> {
    await this.#run(['create', '--bundle', bundle, ...(opts.pidFile ? ['--pid-file', opts.pidFile] : []), id], 'create', id);
  }

  async start(id: string): Promise<void> {
    await this.#run(['start', id], 'start', id);
  }

  async state(id: string): Promise<RuncState | undefined> {
    const r = await this.#run(['state', id], 'state', id, true);
    if (r.code !== 0) {
      if (NOT_EXIST.test(r.stderr)) return undefined;
      throw RuncFailed('state', id, r.stderr.trim());
    }
    return JSON.parse(r.stdout) as RuncState;
  }

  async kill(id: string, signal: string, opts: { all?: boolean } = {}): Promise<boolean> {
    const r = await this.#run(['kill', ...(opts.all ? ['--all'] : []), id, signal], 'kill', id, true);
    if (r.code === 0) return true;
    if (NOT_EXIST.test(r.stderr) || /not running|process already finished/i.test(r.stderr)) return false;
    throw RuncFailed('kill', id, r.stderr.trim());
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const r = await this.#run(['delete', ...(opts.force ? ['--force'] : []), id], 'delete', id, true);
    if (r.code !== 0 && !NOT_EXIST.test(r.stderr)) throw RuncFailed('delete', id, r.stderr.trim());
  }

  async list(): Promise<RuncState[]> {
    const r = await this.#run(['list', '--format', 'json'], 'list', '*');
    const parsed = JSON.parse(r.stdout || 'null') as RuncState[] | null;
    return parsed ?? [];
  }

  async stats(id: string): Promise<Record<string, unknown>> {
    const r = await this.#run(['events', '--stats', id], 'events', id);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  exec(id: string, argv: string[], io: ExecIo = {}): Promise<number> {
    const args = this.#args(['exec', ...(io.cwd ? ['--cwd', io.cwd] : [])]);
    for (const e of io.env ?? []) args.push('--env', e);
    args.push(id, ...argv);
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.binary, args, {
        stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'],
      });
      const errChunks: Buffer[] = [];
      const onAbort = (): void => void child.kill('SIGTERM');
      io.signal?.addEventListener('abort', onAbort, { once: true });
      if (io.stdin && child.stdin) {
        io.stdin.pipe(child.stdin);
        child.stdin.on('error', () => {
          /* the command may exit without reading its input */
        });
      }
      if (io.stdout && child.stdout) child.stdout.pipe(io.stdout, { end: false });
      child.stderr?.on('data', (b: Buffer) => {
        if (io.stderr) io.stderr.write(b);
        else errChunks.push(b);
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        io.signal?.removeEventListener('abort', onAbort);
        reject(e.code === 'ENOENT' ? RuncNotFound(this.binary, { cause: e }) : e);
      });
      child.on('close', (code, signal) => {
        io.signal?.removeEventListener('abort', onAbort);
        if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
        resolvePromise(code ?? 128 + (signal ? signalNumber(signal) : 0));
      });
    });
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  return (constants.signals as Record<string, number | undefined>)[sig] ?? 0;
}
