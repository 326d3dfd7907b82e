import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RingHashBalancer } from './ring-hash-balancer.js';
import { makeEndpoints, runBalancerSuite } from '../balancer-conformance.js';

runBalancerSuite({ name: 'RingHashBalancer', consistentHash: true, newBalancer: (eps, opts) => new RingHashBalancer(eps, opts) });

it('ring has at least minimumRingSize points, in proportion to weight', () => {
  const lb = new RingHashBalancer(makeEndpoints([1, 3]), { minimumRingSize: 4096 });
  assert.ok(lb.ringSize >= 4096 && lb.ringSize < 4096 * 1.1, `ring size ${lb.ringSize}`);
  const small = new RingHashBalancer(makeEndpoints([1, 1]), { minimumRingSize: 8 });
  assert.ok(small.ringSize >= 8);
});

it('a request without a key still gets an endpoint', () => {
  const lb = new RingHashBalancer(makeEndpoints([1, 1, 1]));
  assert.ok(lb.pick());
});
