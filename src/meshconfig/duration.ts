/**
 * Durations as Istio writes them ("1.5s", "250ms", "1m", "1h", "100us") or plain numbers of
 * milliseconds. Returns milliseconds, or undefined when the text is not a duration.
 */
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)$/;

export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  let total = 0;
  let rest = value.trim();
  if (rest === '') return undefined;
  // Go-style compound durations ("1m30s") are split into unit runs.
  const parts = rest.match(/\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns)/g);
  if (!parts || parts.join('') !== rest) return undefined;
  for (const part of parts) {
    const m = DURATION_RE.exec(part);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  rest = '';
  return total;
}
