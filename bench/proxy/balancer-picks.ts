/**
 * Micro-benchmark of balancer picks (ns per pick) for every strategy, 3 and 50 endpoints, with and
 * without an ejected endpoint. Run: npm run build && node dist/bench/proxy/balancer-picks.js
 */
import { createBalancer, EndpointState, seededRandom, type PickContext } from '../../src/proxy/balance/index.js';
import type { LoadBalancerSettings } from '../../src/meshconfig/cluster-policy.js';

const SETTINGS: [string, LoadBalancerSettings][] = [
  ['round-robin', { simple: 'ROUND_ROBIN' }],
  ['least-request', { simple: 'LEAST_REQUEST' }],
  ['random', { simple: 'RANDOM' }],
  ['ring-hash', { consistentHash: { httpHeaderName: 'x-user' } }],
  ['maglev', { consistentHash: { httpHeaderName: 'x-user', maglev: {} } }],
];
const PICKS = 1_000_000;
const keys = Array.from({ length: 1024 }, (_, i) => `user-${i}`);

const rows: string[] = ['| strategy | endpoints | ejected | ns/pick |', '|---|---:|---:|---:|'];
for (const [name, settings] of SETTINGS) {
  for (const n of [3, 50]) {
    for (const eject of [false, true]) {
      const eps = Array.from({ length: n }, (_, i) => new EndpointState({ address: `10.0.${i >> 8}.${i & 255}`, port: 80 }));
      if (eject) (eps[0] as EndpointState).eject(0, 1e9, 'consecutive_5xx');
      const lb = createBalancer(settings, eps, { random: seededRandom(1) });
      const ctx: PickContext = {};
      for (let i = 0; i < 100_000; i++) {
        ctx.hashKey = keys[i & 1023];
        lb.pick(ctx);
      }
      const start = process.hrtime.bigint();
      for (let i = 0; i < PICKS; i++) {
        ctx.hashKey = keys[i & 1023];
        lb.pick(ctx);
      }
      const ns = Number(process.hrtime.bigint() - start) / PICKS;
      rows.push(`| ${name} | ${n} | ${eject ? 1 : 0} | ${ns.toFixed(0)} |`);
    }
  }
}
process.stdout.write(rows.join('\n') + '\n');
