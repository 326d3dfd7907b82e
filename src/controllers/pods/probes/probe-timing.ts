/** A probe's schedule and thresholds with Kubernetes' defaults filled in. */
import type { Probe } from '../../../api/types.js';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

/** As the kubelet writes them in events: "Readiness probe failed: ..." */
export const PROBE_KIND_LABEL: Record<ProbeKind, string> = { readiness: 'Readiness', liveness: 'Liveness', startup: 'Startup' };

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeTiming(probe: Probe, kind: ProbeKind): ProbeTiming {
  const positive = (v: number | undefined, dflt: number): number => (v !== undefined && Number.isFinite(v) && v >= 1 ? v : dflt);
  return {
    initialDelayMs: Math.max(0, probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: positive(probe.periodSeconds, 10) * 1000,
    timeoutMs: positive(probe.timeoutSeconds, 1) * 1000,
    // validation allows only 1 for liveness and startup: one success is enough to count as alive
    successThreshold: kind === 'readiness' ? positive(probe.successThreshold, 1) : 1,
    failureThreshold: positive(probe.failureThreshold, 3),
  };
}
