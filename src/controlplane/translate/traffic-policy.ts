/**
 * DestinationRule traffic policy merge, as Istio's MergeTrafficPolicy does it: portLevelSettings for
 * the port replace the top-level loadBalancer / connectionPool / outlierDetection they set; a
 * subset's policy (itself port-merged) replaces the parent's fields it sets.
 */
import type { TrafficPolicy } from '../../meshconfig/cluster-policy.js';
import type { DestinationRule, TrafficPolicyIn } from './mesh-types.js';

export function policyForPort(policy: TrafficPolicyIn | undefined, port: number): TrafficPolicy {
  if (!policy) return {};
  const out: TrafficPolicy = {};
  if (policy.loadBalancer) out.loadBalancer = policy.loadBalancer;
  if (policy.connectionPool) out.connectionPool = policy.connectionPool;
  if (policy.outlierDetection) out.outlierDetection = policy.outlierDetection;
  const pls = policy.portLevelSettings?.find((p) => p.port?.number === port);
  if (pls) {
    if (pls.loadBalancer) out.loadBalancer = pls.loadBalancer;
    if (pls.connectionPool) out.connectionPool = pls.connectionPool;
    if (pls.outlierDetection) out.outlierDetection = pls.outlierDetection;
  }
  return out;
}

/** The effective policy of one cluster: (rule, port) or (rule, port, subset). */
export function effectivePolicy(rule: DestinationRule | undefined, port: number, subset?: string): TrafficPolicy {
  if (!rule) return {};
  const parent = policyForPort(rule.spec.trafficPolicy, port);
  if (subset === undefined) return parent;
  const own = policyForPort(rule.spec.subsets?.find((s) => s.name === subset)?.trafficPolicy, port);
  return { ...parent, ...own };
}
