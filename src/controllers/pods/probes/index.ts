/** Probes and lifecycle hooks for the pod reconciler (the kubelet's prober and handler runner). */
export { ProbeManager, type ProbeManagerOptions, type RunningContainer, type LivenessVerdict, type ProbeEventSink } from './prober.js';
export { runHandler, runPostStart, runPreStop, formatPod, MINIMUM_GRACE_SECONDS, DEFAULT_POST_START_TIMEOUT_MS, type HookContext } from './lifecycle.js';
export { execTarget, type ContainerExec, type ExecStreams } from './exec-target.js';
export { runProbe } from './run-probe.js';
export { probeTiming, type ProbeKind, type ProbeTiming } from './probe-timing.js';
export type { ProbeTarget, ProbeResult, ProbeOutcome, ExecResult } from './probe-target.js';
export * from './errors.js';
