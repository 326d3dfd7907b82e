import { RandomBalancer } from './random-balancer.js';
import { runBalancerSuite } from '../balancer-conformance.js';

runBalancerSuite({ name: 'RandomBalancer', newBalancer: (eps, opts) => new RandomBalancer(eps, opts) });
