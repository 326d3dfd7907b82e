/**
 * Property test for the Istio kinds: good manifests with random structural mutations (a field
 * dropped, a value swapped for one of another type, an item duplicated) never make the validator
 * or the loader throw, and every issue has a position in the file. Seeded, bounded in count and time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { applyDefaults } from '../../defaults.js';
import type { KubeObject } from '../../types.js';
import { validateObject } from '../../validate.js';
import { load } from './test-support.js';
import { seededRandom } from '../../../core/seeded-random.js';

const TIME_BUDGET_MS = 5_000;

const SEEDS: KubeObject[] = [
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews' },
    spec: {
      hosts: ['reviews'],
      http: [
        {
          match: [{ headers: { 'end-user': { exact: 'jason' } }, uri: { prefix: '/r' }, queryParams: { q: {} } }],
          route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 90 }, { destination: { host: 'reviews', subset: 'v1' }, weight: 10 }],
          headers: { request: { set: { a: 'b' } } },
          timeout: '2s',
          retries: { attempts: 3, perTryTimeout: '1s', retryOn: '5xx,503' },
          fault: { delay: { fixedDelay: '1s', percentage: { value: 5 } }, abort: { httpStatus: 503, percent: 1 } },
          mirror: { host: 'mirror' },
          mirrorPercentage: { value: 10 },
        },
        { match: [{ uri: { exact: '/Y' }, ignoreUriCase: true }], route: [{ destination: { host: 'y' }, headers: { response: { remove: ['x'] } } }] },
        { redirect: { uri: '/x', redirectCode: 301 } },
        { directResponse: { status: 200, body: { string: 'ok' } } },
      ],
      tcp: [{ match: [{ port: 27017 }], route: [{ destination: { host: 'mongo' } }] }],
      exportTo: ['.'],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews' },
    spec: {
      host: 'reviews',
      trafficPolicy: {
        loadBalancer: { consistentHash: { httpCookie: { name: 'u', ttl: '0s' }, maglev: { tableSize: 65537 } } },
        connectionPool: { tcp: { maxConnections: 10 }, http: { http1MaxPendingRequests: 5 } },
        outlierDetection: { consecutive5xxErrors: 2, interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'RANDOM' } }],
      },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } }],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'Gateway',
    metadata: { name: 'gw' },
    spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: 'db' },
    spec: {
      hosts: ['db.internal'],
      addresses: ['10.0.0.9'],
      ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }],
      resolution: 'STATIC',
      endpoints: [{ address: '10.0.0.5', ports: { tcp: 5433 } }],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { name: 'default' },
    spec: {
      workloadSelector: { labels: { app: 'a' } },
      egress: [{ port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['./*'] }, { hosts: ['istio-system/*'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    },
  },
];

const ODD_VALUES: unknown[] = [null, true, 0, -1, 101, 1.5, 70000, '', 'x', '*', '1s', '0s', '(?=a)', [], [1], {}, { exact: 'a' }, { value: 200 }];

/** Every container (object or array) in the tree, so a mutation can pick one. */
function containers(value: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (Array.isArray(value)) {
    out.push(value);
    for (const v of value) containers(v, out);
  } else if (typeof value === 'object' && value !== null) {
    out.push(value as Record<string, unknown>);
    for (const v of Object.values(value)) containers(v, out);
  }
  return out;
}

function mutate(seed: KubeObject, rnd: () => number): KubeObject {
  const obj = structuredClone(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const target = pick(containers(obj.spec));
    if (Array.isArray(target)) {
      if (target.length === 0) target.push(pick(ODD_VALUES));
      else if (rnd() < 0.5) target.push(structuredClone(pick(target)));
      else target[Math.floor(rnd() * target.length)] = structuredClone(pick(ODD_VALUES));
    } else {
      const keys = Object.keys(target);
      if (keys.length === 0 || rnd() < 0.2) target[pick(['tls', 'x', 'percent', 'name', 'weight', 'hosts'])] = structuredClone(pick(ODD_VALUES));
      else if (rnd() < 0.4) delete target[pick(keys)];
      else target[pick(keys)] = structuredClone(pick(ODD_VALUES));
    }
  }
  return obj;
}

describe('Istio kinds: fuzzing', () => {
  it('the seeds are valid', () => {
    for (const s of SEEDS) assert.deepEqual(validateObject(s), [], s.kind);
  });

  it('never throws on mutated objects, places every issue, and flags most mutations', () => {
    const rnd = seededRandom(7);
    const started = Date.now();
    let runs = 0;
    let flagged = 0;
    for (; runs < 3000 && Date.now() - started < TIME_BUDGET_MS; runs++) {
      const obj = mutate(SEEDS[runs % SEEDS.length] as KubeObject, rnd);
      const issues = validateObject(obj);
      if (issues.length > 0) flagged++;
      for (const i of issues) assert.ok(i.message.length > 0 && typeof i.field === 'string');
      const text = stringify(obj);
      const lines = text.split('\n').length + 1;
      for (const i of load(text).issues) {
        assert.ok(i.line >= 1 && i.line <= lines && i.col >= 1, `run ${runs}: position ${i.line}:${i.col} outside the file`);
      }
      if (issues.length === 0) assert.doesNotThrow(() => applyDefaults(obj));
    }
    assert.ok(runs >= 20, `only ${runs} runs in the time budget`);
    assert.ok(flagged > runs / 3, `most mutations should be flagged, got ${flagged}/${runs}`);
  });
});
