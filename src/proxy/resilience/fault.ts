/**
 * Fault injection and mirroring decisions, with the randomness injected.
 *
 *   decideFault(fault, random) → FaultDecision { delayMs?, abortStatus? }
 *   shouldMirror(percentage, random) → boolean
 *
 * `fault` is a ResolvedFault (resolveFault at route build time: the fast path) or Istio's
 * HTTPFaultInjection as written. Delay and abort are decided independently, as Envoy's fault
 * filter does (a request can be delayed and then aborted). A missing percentage is 0 % (Istio's
 * behaviour, see resolveFault). A mirror without mirrorPercentage mirrors everything (Istio).
 * No decision returns the shared NO_FAULT object, so the common case allocates nothing.
 */
import { percentOf, resolveFault, type HTTPFaultInjection, type Percent, type ResolvedFault } from '../../meshconfig/cluster-policy.js';

export interface FaultDecision {
  readonly delayMs?: number;
  readonly abortStatus?: number;
}

export const NO_FAULT: FaultDecision = Object.freeze({});

export function decideFault(fault: ResolvedFault | HTTPFaultInjection | undefined, random: () => number): FaultDecision {
  if (fault === undefined) return NO_FAULT;
  const f = 'delayPercent' in fault ? fault : resolveFault(fault);
  if (f === undefined) return NO_FAULT;
  const delay = f.delayPercent > 0 && f.delayMs > 0 && random() * 100 < f.delayPercent;
  const abort = f.abortPercent > 0 && f.abortStatus > 0 && random() * 100 < f.abortPercent;
  if (!delay && !abort) return NO_FAULT;
  if (delay && abort) return { delayMs: f.delayMs, abortStatus: f.abortStatus };
  return delay ? { delayMs: f.delayMs } : { abortStatus: f.abortStatus };
}

export function shouldMirror(percentage: Percent | number | undefined, random: () => number): boolean {
  if (percentage === undefined) return true;
  const pct = typeof percentage === 'number' ? Math.min(100, Math.max(0, percentage)) : percentOf(percentage);
  if (pct >= 100) return true;
  if (pct <= 0) return false;
  return random() * 100 < pct;
}
