/**
 * createBalancer(settings, endpoints, options?) → LoadBalancer, from Istio's LoadBalancerSettings:
 *   consistentHash with maglev          → MaglevBalancer (tableSize, default 65537, must be prime)
 *   consistentHash otherwise            → RingHashBalancer (ringHash.minimumRingSize or the deprecated
 *                                          minimumRingSize, default 1024) — Istio's default
 *   simple ROUND_ROBIN                  → RoundRobinBalancer (smooth weighted)
 *   simple RANDOM                       → RandomBalancer (weighted)
 *   simple LEAST_REQUEST / LEAST_CONN / UNSPECIFIED / absent → LeastRequestBalancer (Istio's default)
 *   simple PASSTHROUGH                  → RoundRobinBalancer: the proxy is expected to hand an
 *                                          original-destination cluster its one endpoint, the
 *                                          address the client dialled
 * Build one per cluster on config change (not per request). `panicThresholdPercent` should come
 * from resolveOutlierDetection(...).minHealthPercent.
 */
import type { LoadBalancerSettings } from '../../meshconfig/cluster-policy.js';
import type { EndpointState } from './endpoint-state.js';
import type { BalancerOptions, LoadBalancer } from './load-balancer.js';
import { LeastRequestBalancer } from './least-request/least-request-balancer.js';
import { MaglevBalancer } from './maglev/maglev-balancer.js';
import { RandomBalancer } from './random/random-balancer.js';
import { RingHashBalancer } from './ring-hash/ring-hash-balancer.js';
import { RoundRobinBalancer } from './round-robin/round-robin-balancer.js';

export function createBalancer(
  settings: LoadBalancerSettings | undefined,
  endpoints: readonly EndpointState[],
  options: BalancerOptions = {},
): LoadBalancer {
  const ch = settings?.consistentHash;
  if (ch !== undefined) {
    if (ch.maglev !== undefined) return new MaglevBalancer(endpoints, { ...options, tableSize: ch.maglev.tableSize });
    const minimumRingSize = ch.ringHash?.minimumRingSize ?? ch.minimumRingSize;
    return new RingHashBalancer(endpoints, { ...options, minimumRingSize });
  }
  switch (settings?.simple) {
    case 'ROUND_ROBIN':
    case 'PASSTHROUGH':
      return new RoundRobinBalancer(endpoints, options);
    case 'RANDOM':
      return new RandomBalancer(endpoints, options);
    default:
      return new LeastRequestBalancer(endpoints, options);
  }
}
