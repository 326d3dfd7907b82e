/**
 * Merges the metric families of several scrape targets into one exposition, as a Prometheus server
 * would store them: every sample gets its target's labels (`namespace`, `pod`), so two replicas'
 * series stay apart, and a sample that already has such a label keeps it as `exported_<name>`
 * (Prometheus' honor_labels: false). One family per name, with the first HELP seen.
 */
import type { Labels, MetricFamily, Sample } from '../../meshconfig/telemetry/prometheus-text.js';
import { formatLabels, seriesKey } from '../../meshconfig/telemetry/prometheus-text.js';

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

interface Merged {
  family: MetricFamily;
  /** the target labels of every source that added samples */
  contributors: Labels[];
  /** series seen, kept only once two contributors could produce the same series */
  series: Set<string> | undefined;
}

export function mergeFamilies(sources: readonly LabeledFamilies[]): MergeResult {
  const byName = new Map<string, Merged>();
  const families: MetricFamily[] = [];
  const conflicts: string[] = [];
  let duplicates = 0;
  for (const source of sources) {
    const targetText = formatLabels(source.labels).slice(1, -1);
    for (const f of source.families) {
      let merged = byName.get(f.name);
      if (!merged) {
        const family: MetricFamily = { name: f.name, type: f.type, samples: [] };
        merged = { family, contributors: [], series: undefined };
        byName.set(f.name, merged);
        families.push(family);
      } else if (merged.family.type !== f.type) {
        conflicts.push(`${f.name} is a ${merged.family.type} in one target and a ${f.type} (${where(source.labels)}) in another; the latter is left out`);
        continue;
      }
      if (merged.family.help === undefined && f.help !== undefined) merged.family.help = f.help;
      // One source's series are unique (the parser rejects duplicates), and sources whose target
      // labels differ in a value cannot collide: keys are built only when a collision is possible.
      if (merged.series === undefined && !merged.contributors.every((c) => disjoint(c, source.labels))) {
        merged.series = new Set(merged.family.samples.map((s) => seriesKey(s.name, s.labels)));
      }
      merged.contributors.push(source.labels);
      const samples = merged.family.samples;
      for (const s of f.samples) {
        const labels = withTargetLabels(s.labels, source.labels);
        if (merged.series !== undefined) {
          const key = seriesKey(s.name, labels);
          if (merged.series.has(key)) {
            duplicates++;
            continue;
          }
          merged.series.add(key);
        }
        const out: Sample = { name: s.name, labels, value: s.value };
        if (s.timestampMs !== undefined) out.timestampMs = s.timestampMs;
        // the text as scraped plus the target's: rendering then copies instead of escaping again
        if (s.labelText !== undefined && !renamed(labels, s.labels)) out.labelText = targetText === '' ? s.labelText : `${s.labelText},${targetText}`;
        else if (s.labels.length === 0 && targetText !== '') out.labelText = targetText;
        samples.push(out);
      }
    }
  }
  return { families, conflicts, duplicates };
}

/** Same label names in the same order, and at least one value differs. */
function disjoint(a: Labels, b: Labels): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let differs = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0]) return false;
    if (a[i]![1] !== b[i]![1]) differs = true;
  }
  return differs;
}

function where(labels: Labels): string {
  return labels.length === 0 ? 'the daemon' : labels.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** A label of the sample was renamed exported_<name> (its name differs at the same index). */
function renamed(out: Labels, sample: Labels): boolean {
  for (let i = 0; i < sample.length; i++) if (out[i]![0] !== sample[i]![0]) return true;
  return false;
}

/**
 * The sample's labels with the target's appended; a clashing label of the sample is renamed
 * exported_<name> (again, while that name is taken too), in place.
 */
export function withTargetLabels(sample: Labels, target: Labels): Labels {
  if (target.length === 0) return sample;
  let clash = false;
  for (const [k] of sample) for (const [t] of target) if (k === t) clash = true;
  if (!clash) return sample.concat(target);
  const taken = new Set(sample.map(([k]) => k));
  for (const [k] of target) taken.add(k);
  const targetNames = new Set(target.map(([k]) => k));
  const out: Labels = [];
  for (const pair of sample) {
    let [k] = pair;
    if (targetNames.has(k)) {
      let name = `exported_${k}`;
      while (taken.has(name)) name = `exported_${name}`;
      taken.add(name);
      k = name;
    }
    out.push([k, pair[1]]);
  }
  return out.concat(target);
}
