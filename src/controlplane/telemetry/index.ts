export { createMeshMetrics, podTargets, SIDECAR_CONTAINER, SIDECAR_STATS_PORT, type ListenAddress, type MeshMetrics, type MeshMetricsOptions } from './mesh-metrics.js';
export { MetricsAggregator, type MetricsAggregatorOptions, type ScrapeTarget, type ScrapeFailureReason } from './metrics-aggregator.js';
export { mergeFamilies, withTargetLabels, type LabeledFamilies, type MergeResult } from './merge-families.js';
