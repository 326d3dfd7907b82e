import { spawn } from 'node:child_process';
import { defineError } from './errors.js';

export const CommandNotFound = defineError(
  'MBX_COMMAND_NOT_FOUND',
  (file: string, hint: string) => `${file} not found${hint ? `: ${hint}` : ''}`,
);
export const CommandFailed = defineError(
  'MBX_COMMAND_FAILED',
  (file: string, args: readonly string[], code: number | null, stderr: string) =>
    `${file} ${args.join(' ')} exited with ${code ?? 'a signal'}${stderr ? `: ${stderr.trim()}` : ''}`,
);
export const CommandTimedOut = defineError(
  'MBX_COMMAND_TIMEOUT',
  (file: string, ms: number) => `${file} did not finish within ${ms} ms`,
  { retryable: true },
);

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** do not throw on a non-zero exit; return the result instead */
  allowFailure?: boolean;
  /** hint appended to the not-found error ("install the Debian package ...") */
  notFoundHint?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion, capturing its output. Never uses a shell. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') reject(CommandNotFound(file, opts.notFoundHint ?? '', { cause: e }));
      else reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timedOut) return reject(CommandTimedOut(file, opts.timeoutMs ?? 0));
      if (code !== 0 && !opts.allowFailure) return reject(CommandFailed(file, args, code, result.stderr || result.stdout));
      resolve(result);
    });
    child.stdin.on('error', () => {
      /* the child may exit before reading its input; its exit status tells the story */
    });
    child.stdin.end(opts.input ?? '');
  });
}
