/** exec probes: success when the command exits 0 within the timeout (kubelet pkg/probe/exec). */
import { MAX_OUTPUT_BYTES, type ExecResult, type ProbeResult, type ProbeTarget } from './probe-target.js';

export class ExecTimeout extends Error {}

/** Runs argv through the target; rejects with ExecTimeout when it outlasts timeoutMs. */
export async function execWithTimeout(target: ProbeTarget, argv: string[], timeoutMs: number): Promise<ExecResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExecTimeout(`command "${argv.join(' ')}" timed out`)), timeoutMs);
  });
  try {
    return await Promise.race([target.exec(argv, timeoutMs), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function execProbe(command: string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  try {
    const r = await execWithTimeout(target, command, timeoutMs);
    const output = Buffer.from(r.output, 'utf8').subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
    if (r.exitCode === 0) return { outcome: 'success', output };
    return { outcome: 'failure', output };
  } catch (err) {
    return { outcome: 'failure', output: err instanceof Error ? err.message : String(err) };
  }
}
