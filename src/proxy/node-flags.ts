/**
 * How the sidecar process is started: its V8 flags, its environment and a launcher that runs
 * src/proxy/entry.js with them. Why a separate entry: a process that loaded the whole CLI
 * (commander, pino, the API client) carries it in its RSS. Launchers that can run
 * `env <PROXY_ENV> node <PROXY_V8_FLAGS> <proxyEntryPath> FILE` directly (the pod runtime) should,
 * and save the waiting parent.
 *
 * Why the flags: V8's young generation grows to 3 × 16 MiB semi-spaces under load, which alone
 * puts a sidecar past issue 4's 50 MB RSS bar. 1 MiB semi-spaces keep a loaded proxy near its idle
 * size: after 20 s at 1,000 req/s, 61.0 MB with 2 MiB and 57.3 MB with 1 MiB (CPU/request within
 * the noise of paired runs). Why the environment: glibc gives each thread that mallocs its own
 * arena; one arena saved another ~3 MB RSS after the same load.
 * The flags and environment live in src/meshconfig/sidecar-process.ts, shared with the injector
 * that writes them into pods.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROXY_ENV, PROXY_V8_FLAGS } from '../meshconfig/sidecar-process.js';

export { PROXY_ENV, PROXY_V8_FLAGS };

/** Path of the compiled sidecar entry (entry.js beside this module). */
export const proxyEntryPath: string = fileURLToPath(new URL('./entry.js', import.meta.url));

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs the proxy for `configFile` in a child process with the proxy's V8 flags, forwarding
 * SIGTERM/SIGINT/SIGHUP (so draining works as before), and resolves with its exit code
 * (128 + signal number if it was killed).
 */
export function runProxyProcess(configFile: string): Promise<number> {
  const child = spawn(process.execPath, [...PROXY_V8_FLAGS, proxyEntryPath, configFile], { stdio: 'inherit', env: { ...process.env, ...PROXY_ENV } });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  for (const sig of SIGNALS) process.on(sig, forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const sig of SIGNALS) process.removeListener(sig, forward);
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? 'SIGTERM'] ?? 15));
    });
    child.on('error', () => resolve(1));
  });
}
