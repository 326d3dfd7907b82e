import { LeastRequestBalancer } from './least-request-balancer.js';
import { runBalancerSuite } from '../balancer-conformance.js';

runBalancerSuite({ name: 'LeastRequestBalancer', newBalancer: (eps, opts) => new LeastRequestBalancer(eps, opts) });

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { makeEndpoints } from '../balancer-conformance.js';
import { seededRandom } from '../../../core/seeded-random.js';

it('prefers the endpoint with fewer active requests', () => {
  const eps = makeEndpoints([1, 1]);
  const [a, b] = eps as [NonNullable<(typeof eps)[0]>, NonNullable<(typeof eps)[0]>];
  a.activeRequests = 10;
  const lb = new LeastRequestBalancer(eps, { random: seededRandom(3) });
  let toB = 0;
  for (let i = 0; i < 1000; i++) if (lb.pick() === b) toB++;
  // b loses only when both draws land on a (p = 1/4).
  assert.ok(toB > 700 && toB < 800, `picked the idle endpoint ${toB}/1000 times, want about 750`);
});

it('compares load per unit of weight', () => {
  const eps = makeEndpoints([4, 1]);
  const [heavy, light] = eps as [NonNullable<(typeof eps)[0]>, NonNullable<(typeof eps)[0]>];
  heavy.activeRequests = 3; // 0.75 per weight
  light.activeRequests = 1; // 1 per weight
  const lb = new LeastRequestBalancer(eps, { random: seededRandom(4) });
  let toHeavy = 0;
  for (let i = 0; i < 1000; i++) if (lb.pick() === heavy) toHeavy++;
  assert.ok(toHeavy > 950, `heavy endpoint picked ${toHeavy}/1000, want nearly all`);
});

it('keeps balancing as load changes (simulated in-flight requests)', () => {
  const eps = makeEndpoints([1, 1, 1, 1]);
  const lb = new LeastRequestBalancer(eps, { random: seededRandom(8) });
  for (let i = 0; i < 400; i++) lb.pick()!.activeRequests++;
  const loads = eps.map((ep) => ep.activeRequests);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 3, `P2C keeps loads close: ${loads.join(',')}`);
});
