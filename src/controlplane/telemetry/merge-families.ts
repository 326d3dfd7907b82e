/**
 * Merges the metric families of several scrape targets into one exposition, as a Prometheus server
 * would store them: every sample gets its target's labels (`namespace`, `pod`), so two replicas'
 * series stay apart, and a sample that already has such a label keeps it as `exported_<name>`
 * (Prometheus' honor_labels: false). One family per name, with the first HELP seen.
 */
import type { Labels, MetricFamily } from '../../meshconfig/telemetry/prometheus-text.js';
import { seriesKey } from '../../meshconfig/telemetry/prometheus-text.js';

export interface LabeledFamilies {
  /** added to every sample of `families` (empty for the daemon's own metrics) */
  labels: Labels;
  families: readonly MetricFamily[];
}

export interface MergeResult {
  families: MetricFamily[];
  /** families left out because another target declared the same name with another type */
  conflicts: string[];
  /** samples left out because an identical series came first */
  duplicates: number;
}

export function mergeFamilies(sources: readonly LabeledFamilies[]): MergeResult {
  const byName = new Map<string, { family: MetricFamily; series: Set<string> }>();
  const families: MetricFamily[] = [];
  const conflicts: string[] = [];
  let duplicates = 0;
  for (const source of sources) {
    for (const f of source.families) {
      let merged = byName.get(f.name);
      if (!merged) {
        const family: MetricFamily = { name: f.name, type: f.type, samples: [] };
        merged = { family, series: new Set() };
        byName.set(f.name, merged);
        families.push(family);
      } else if (merged.family.type !== f.type) {
        conflicts.push(`${f.name} is a ${merged.family.type} in one target and a ${f.type} (${where(source.labels)}) in another; the latter is left out`);
        continue;
      }
      if (merged.family.help === undefined && f.help !== undefined) merged.family.help = f.help;
      for (const s of f.samples) {
        const labels = withTargetLabels(s.labels, source.labels);
        const key = seriesKey(s.name, labels);
        if (merged.series.has(key)) {
          duplicates++;
          continue;
        }
        merged.series.add(key);
        merged.family.samples.push(s.timestampMs === undefined ? { name: s.name, labels, value: s.value } : { name: s.name, labels, value: s.value, timestampMs: s.timestampMs });
      }
    }
  }
  return { families, conflicts, duplicates };
}

function where(labels: Labels): string {
  return labels.length === 0 ? 'the daemon' : labels.map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * The sample's labels with the target's added; a clashing label of the sample is renamed
 * exported_<name> (again, while that name is taken too). `le`/`quantile` stay last for readability.
 */
export function withTargetLabels(sample: Labels, target: Labels): Labels {
  if (target.length === 0) return sample;
  const taken = new Set(sample.map(([k]) => k));
  for (const [k] of target) taken.add(k);
  const targetNames = new Set(target.map(([k]) => k));
  const out: Labels = [];
  let tail: [string, string] | undefined;
  for (let i = 0; i < sample.length; i++) {
    const pair = sample[i]!;
    let [k] = pair;
    if (targetNames.has(k)) {
      let renamed = `exported_${k}`;
      while (taken.has(renamed)) renamed = `exported_${renamed}`;
      taken.add(renamed);
      k = renamed;
    }
    if (i === sample.length - 1 && (k === 'le' || k === 'quantile')) tail = [k, pair[1]];
    else out.push([k, pair[1]]);
  }
  out.push(...target);
  if (tail) out.push(tail);
  return out;
}
