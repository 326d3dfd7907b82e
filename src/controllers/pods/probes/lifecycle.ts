/**
 * Container lifecycle hooks, as the kubelet's lifecycle.handlerRunner runs them: exec in the
 * container, httpGet to the pod (the status code is not checked: Kubernetes only fails a hook on a
 * transport error), sleep; tcpSocket is accepted by the API for compatibility but fails at run time.
 * Failures throw HookFailed carrying the kubelet's message, which goes into the events
 * FailedPostStartHook / FailedPreStopHook.
 */
import type { Container, LifecycleHandler, Pod } from '../../../api/types.js';
import { systemClock, type Clock } from '../../../core/clock.js';
import { describeError } from '../../../core/errors.js';
import { HookFailed, HookUnsupported } from './errors.js';
import { execWithTimeout } from './exec-probe.js';
import { httpGet, httpGetUrl } from './http-probe.js';
import type { ProbeEventSink } from './prober.js';
import type { ProbeTarget } from './probe-target.js';

export interface HookContext {
  pod: Pod;
  container: Container;
}

/** The kubelet's minimum shutdown window after a preStop hook ate the grace period. */
export const MINIMUM_GRACE_SECONDS = 2;

/** Default bound for postStart (the kubelet waits without limit; a hung hook must not wedge the pod). */
export const DEFAULT_POST_START_TIMEOUT_MS = 5 * 60_000;

/** Runs one handler; resolves when it succeeded, throws HookFailed / HookUnsupported otherwise. */
export async function runHandler(handler: LifecycleHandler, target: ProbeTarget, timeoutMs: number, ctx: HookContext): Promise<void> {
  const who = `for Container "${ctx.container.name}" in Pod "${formatPod(ctx.pod)}"`;
  if (handler.exec) {
    const argv = handler.exec.command;
    let output = '';
    let error: string | undefined;
    try {
      const r = await execWithTimeout(target, argv, timeoutMs);
      output = r.output;
      if (r.exitCode !== 0) error = `command '${argv.join(' ')}' exited with ${r.exitCode}: ${r.output}`;
    } catch (err) {
      error = describeError(err);
    }
    if (error !== undefined) {
      throw HookFailed(`Exec lifecycle hook ([${argv.join(' ')}]) ${who} failed - error: ${error}, message: ${JSON.stringify(output)}`);
    }
    return;
  }
  if (handler.httpGet) {
    const path = handler.httpGet.path ?? '';
    try {
      const url = httpGetUrl(handler.httpGet, ctx.container, target.podIP);
      await httpGet(url, handler.httpGet.httpHeaders ?? [], timeoutMs);
    } catch (err) {
      throw HookFailed(`HTTP lifecycle hook (${path}) ${who} failed - error: ${describeError(err)}`, { cause: err });
    }
    return;
  }
  if (handler.sleep) {
    const ms = Math.max(0, handler.sleep.seconds) * 1000;
    await sleep(Math.min(ms, timeoutMs));
    if (ms > timeoutMs) {
      throw HookFailed(`Sleep lifecycle hook (${handler.sleep.seconds}) ${who} failed - error: container terminated before sleep hook finished`);
    }
    return;
  }
  if (handler.tcpSocket) throw HookUnsupported(`Cannot run handler: invalid handler: tcpSocket ${who}`);
  throw HookFailed(`Cannot run handler: invalid handler: no exec, httpGet or sleep ${who}`);
}

/**
 * Runs the container's postStart hook, if any, right after the container started. The container
 * counts as Running/ready only after this returns. On failure it records FailedPostStartHook and
 * returns the message: the caller then kills the container (event Killing, reason
 * FailedPostStartHook) and lets restartPolicy decide.
 */
export async function runPostStart(
  ctx: HookContext,
  target: ProbeTarget,
  opts: { events?: ProbeEventSink; timeoutMs?: number } = {},
): Promise<string | undefined> {
  const hook = ctx.container.lifecycle?.postStart;
  if (!hook) return undefined;
  try {
    await runHandler(hook, target, opts.timeoutMs ?? DEFAULT_POST_START_TIMEOUT_MS, ctx);
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    opts.events?.event(ctx.pod, 'Warning', 'FailedPostStartHook', message);
    return message;
  }
}

/**
 * Runs the container's preStop hook, if any, before SIGTERM, bounded by the grace period, and returns
 * the grace left for the stop itself (kubelet killContainer: grace minus the hook's whole seconds,
 * never below 2 s). A hook error records FailedPreStopHook; a hook that outlives the grace period is
 * abandoned without an event, as the kubelet does.
 */
export async function runPreStop(
  ctx: HookContext,
  target: ProbeTarget,
  graceSeconds: number,
  opts: { events?: ProbeEventSink; clock?: Clock } = {},
): Promise<{ remainingGraceSeconds: number; message?: string }> {
  const hook = ctx.container.lifecycle?.preStop;
  if (!hook || graceSeconds <= 0) return { remainingGraceSeconds: Math.max(graceSeconds, 0) };
  const clock = opts.clock ?? systemClock;
  const begun = clock.monotonic();
  let message: string | undefined;
  try {
    await runHandler(hook, target, graceSeconds * 1000, ctx);
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
    // a hook the grace period ran out under is abandoned quietly (kubelet: "PreStop hook not completed
    // in grace period"); only a hook that failed on its own is an event
    const outlived = clock.monotonic() - begun >= graceSeconds * 1000 - 50;
    if (!outlived) opts.events?.event(ctx.pod, 'Warning', 'FailedPreStopHook', message);
  }
  const elapsed = Math.floor((clock.monotonic() - begun) / 1000);
  return { remainingGraceSeconds: Math.max(graceSeconds - elapsed, MINIMUM_GRACE_SECONDS), ...(message ? { message } : {}) };
}

/** kubelet's format.Pod: "name_namespace(uid)" */
export function formatPod(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
