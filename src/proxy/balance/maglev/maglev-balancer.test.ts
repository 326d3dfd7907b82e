import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MaglevBalancer, isPrime } from './maglev-balancer.js';
import { makeEndpoints, runBalancerSuite } from '../balancer-conformance.js';
import { BalancerSettingsInvalid } from '../errors.js';

runBalancerSuite({ name: 'MaglevBalancer', consistentHash: true, newBalancer: (eps, opts) => new MaglevBalancer(eps, opts) });
runBalancerSuite({
  name: 'MaglevBalancer (tableSize 5003)',
  consistentHash: true,
  newBalancer: (eps, opts) => new MaglevBalancer(eps, { ...opts, tableSize: 5003 }),
});

it('rejects a table size that is not prime, with a coded error', () => {
  assert.throws(() => new MaglevBalancer(makeEndpoints([1]), { tableSize: 65536 }), (err) => BalancerSettingsInvalid.is(err));
  assert.equal(new MaglevBalancer(makeEndpoints([1])).tableSize, 65537);
  assert.ok(isPrime(65537) && !isPrime(65535) && isPrime(2) && !isPrime(1));
});

it('fills the table in proportion to weights', () => {
  const eps = makeEndpoints([1, 3]);
  const lb = new MaglevBalancer(eps, { tableSize: 65537 });
  let heavy = 0;
  for (let i = 0; i < 20000; i++) if (lb.pick({ hashKey: `k${i}` }) === eps[1]) heavy++;
  assert.ok(Math.abs(heavy / 20000 - 0.75) < 0.02, `heavy share ${heavy / 20000}`);
});
