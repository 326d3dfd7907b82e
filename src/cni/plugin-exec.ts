/**
 * The boundary between meshbox and CNI plugin executables (libcni's pkg/invoke `Exec`).
 * Unit tests replace it with a fake; everything else uses `execPlugins`, which runs the real binaries.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

export interface PluginRun {
  /** exit status; null when killed */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface PluginExec {
  /** Runs `pluginPath` with `env` added to the environment and `stdin` as its input. Never throws for a non-zero exit. */
  run(pluginPath: string, stdin: string, env: Record<string, string>, timeoutMs: number): Promise<PluginRun>;
  /** The first executable `type` in `dirs`, or undefined. */
  find(type: string, dirs: readonly string[]): Promise<string | undefined>;
}

/** Plugin types are file names; refuse anything that could walk out of the plugin dirs. */
const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const execPlugins: PluginExec = {
  run(pluginPath, stdin, env, timeoutMs) {
    return new Promise((resolve, reject) => {
      const child = spawn(pluginPath, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
      });
      child.stdin.on('error', () => {
        /* a plugin may exit before reading stdin; its exit status and output tell the story */
      });
      child.stdin.end(stdin);
    });
  },
  async find(type, dirs) {
    if (!PLUGIN_TYPE.test(type)) return undefined;
    for (const dir of dirs) {
      const candidate = join(dir, type);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        /* not in this dir */
      }
    }
    return undefined;
  },
};
