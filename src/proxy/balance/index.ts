/** Load balancing: endpoint state, the balancer contract, the strategies and hash keys. */
export { EndpointState, currentHealthGeneration, type EndpointInit, type OutlierState, type EjectionReason } from './endpoint-state.js';
export { BaseBalancer, isEligible, type BalancerKind, type BalancerOptions, type LoadBalancer, type PickContext } from './load-balancer.js';
export { createBalancer } from './create-balancer.js';
export { compileHashKey, hashKeyFor, cookieValue, cookieToGenerate, type HashKeyFn, type HashRequestView } from './hash-key.js';
export { RoundRobinBalancer } from './round-robin/round-robin-balancer.js';
export { LeastRequestBalancer } from './least-request/least-request-balancer.js';
export { RandomBalancer } from './random/random-balancer.js';
export { RingHashBalancer, DEFAULT_MIN_RING_SIZE } from './ring-hash/ring-hash-balancer.js';
export { MaglevBalancer, DEFAULT_MAGLEV_TABLE_SIZE } from './maglev/maglev-balancer.js';
export { seededRandom } from '../../core/seeded-random.js';
export { BalancerSettingsInvalid } from './errors.js';
