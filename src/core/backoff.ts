/** Exponential back-off with an optional cap and jitter. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** 0..1: fraction of the delay randomised away (full jitter at 1) */
  jitter?: number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const factor = opts.factor ?? 2;
  const base = Math.min(opts.maxMs, opts.initialMs * factor ** Math.max(0, attempt));
  const jitter = opts.jitter ?? 0;
  return Math.round(base * (1 - jitter * random()));
}
