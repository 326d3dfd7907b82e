import { RoundRobinBalancer } from './round-robin-balancer.js';
import { runBalancerSuite } from '../balancer-conformance.js';

runBalancerSuite({ name: 'RoundRobinBalancer', newBalancer: (eps, opts) => new RoundRobinBalancer(eps, opts) });

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { makeEndpoints } from '../balancer-conformance.js';

it('smooth weighted order for 5:1:1 matches nginx (a a b a c a a)', () => {
  const eps = makeEndpoints([5, 1, 1]);
  const lb = new RoundRobinBalancer(eps);
  const names = new Map(eps.map((ep, i) => [ep, 'abc'[i]]));
  const seq = Array.from({ length: 14 }, () => names.get(lb.pick()!)).join('');
  assert.equal(seq, 'aabacaa'.repeat(2));
});

it('equal weights rotate strictly', () => {
  const eps = makeEndpoints([1, 1, 1]);
  const lb = new RoundRobinBalancer(eps);
  const seq = Array.from({ length: 6 }, () => eps.indexOf(lb.pick()!));
  assert.deepEqual(seq, [0, 1, 2, 0, 1, 2]);
});
