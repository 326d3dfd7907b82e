import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, documentedCodes } from '../../core/error-catalog.js';
import type { KubeObject } from '../../api/types.js';
import type { Finding } from '../../meshconfig/xds/status.js';
import { bookinfo as bookinfoWithDeprecatedPercent, dr, gateway, service, vs } from '../translate/fixtures.js';
import type { MeshState, ServiceEntry } from '../translate/mesh-types.js';
import { analyzeMesh } from './analyze-mesh.js';
import { FINDING_CODES } from './finding-codes.js';

const LATER = '2026-02-01T00:00:00Z';

/** bookinfo without its deprecated fault.abort.percent (a schema warning the last tests look at). */
function bookinfo(): MeshState {
  const state = bookinfoWithDeprecatedPercent();
  const ratings = state.virtualServices.find((v) => v.metadata.name === 'ratings')!;
  ratings.spec.http![0]!.fault!.abort = { httpStatus: 503, percentage: { value: 5 } };
  return state;
}

function objects(state: MeshState, ...extra: KubeObject[]): KubeObject[] {
  return [...state.services, ...state.serviceEntries, ...state.destinationRules, ...state.virtualServices, ...state.gateways, ...state.sidecars, ...extra];
}

/** The findings as "code object field" lines, the part each test asserts on. */
function brief(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.code} ${f.object} ${f.field}`);
}

test('the bookinfo mesh, correct as written, has no findings', () => {
  assert.deepEqual(analyzeMesh(objects(bookinfo())), []);
});

test('a destination host that is no Service or ServiceEntry is an Error on its host field; short names resolve in the VirtualService namespace', () => {
  const state = bookinfo();
  const findings = analyzeMesh(
    objects(
      state,
      vs('shop', 'typo', { hosts: ['ratings.shop.svc.cluster.local'], http: [{ match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'ratingz' } }] }] }, LATER),
      // "reviews" exists in shop only: from namespace other it means reviews.other
      vs('other', 'elsewhere', { hosts: ['x.example.com'], http: [{ route: [{ destination: { host: 'reviews' } }] }, { route: [{ destination: { host: 'reviews.shop' } }] }] }),
    ),
  ).filter((f) => f.code === 'MBX_ANALYZE_UNKNOWN_HOST');
  assert.deepEqual(brief(findings), [
    'Error MBX_ANALYZE_UNKNOWN_HOST VirtualService other/elsewhere spec.http[0].route[0].destination.host',
    'Error MBX_ANALYZE_UNKNOWN_HOST VirtualService shop/typo spec.http[0].route[0].destination.host',
  ]);
  assert.match(findings[1]!.message, /ratingz\.shop\.svc\.cluster\.local/);
});

test('a ServiceEntry host is a known destination', () => {
  const state = bookinfo();
  const se = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'ext', namespace: 'shop' }, spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] } } as ServiceEntry;
  const v = vs('shop', 'ext', { hosts: ['api.example.com'], http: [{ route: [{ destination: { host: 'api.example.com' } }] }] });
  assert.deepEqual(analyzeMesh(objects(state, se, v)), []);
});

test('a destination port the service does not have is an Error on its port field, for one-port and several-port services', () => {
  const two = service('shop', 'two', '10.96.0.91', [{ name: 'http', port: 80 }, { name: 'http-admin', port: 81 }]);
  const findings = analyzeMesh(
    objects(
      bookinfo(),
      two,
      vs('shop', 'ports', {
        hosts: ['productpage'],
        http: [
          { match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'ratings', port: { number: 9999 } } }] },
          { match: [{ uri: { prefix: '/b' } }], route: [{ destination: { host: 'two', port: { number: 82 } } }] },
          { match: [{ uri: { prefix: '/c' } }], route: [{ destination: { host: 'two', port: { number: 81 } } }], mirror: { host: 'ratings', port: { number: 1 } } },
        ],
      }),
    ),
  );
  assert.deepEqual(brief(findings), [
    'Error MBX_ANALYZE_UNKNOWN_PORT VirtualService shop/ports spec.http[0].route[0].destination.port',
    'Error MBX_ANALYZE_UNKNOWN_PORT VirtualService shop/ports spec.http[1].route[0].destination.port',
    'Error MBX_ANALYZE_UNKNOWN_PORT VirtualService shop/ports spec.http[2].mirror.port',
  ]);
  assert.match(findings[0]!.message, /no port 9999/);
  assert.match(findings[1]!.message, /no port 82/);
});

test('a subset that no DestinationRule defines is an Error on its subset field, also for a route limited to some sources', () => {
  const state = bookinfo();
  const reviews = state.virtualServices[0]!;
  reviews.spec.http!.push({ match: [{ sourceLabels: { app: 'nobody' } }], route: [{ destination: { host: 'reviews', subset: 'v9' } }] });
  const findings = analyzeMesh(objects(state));
  assert.deepEqual(brief(findings).filter((l) => l.includes('SUBSET')), ['Error MBX_ANALYZE_SUBSET_UNDEFINED VirtualService shop/reviews spec.http[2].route[0].destination.subset']);
});

test('several mesh VirtualServices for one host: the newer ones are Errors on spec.hosts, the oldest is not', () => {
  const findings = analyzeMesh(
    objects(
      bookinfo(),
      vs('shop', 'reviews-2', { hosts: ['reviews.shop.svc.cluster.local'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, LATER),
      vs('shop', 'reviews-3', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }, '2026-03-01T00:00:00Z'),
    ),
  );
  assert.deepEqual(brief(findings), [
    'Error MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService shop/reviews-2 spec.hosts',
    'Error MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService shop/reviews-3 spec.hosts',
  ]);
  assert.match(findings[0]!.message, /VirtualService shop\/reviews, which wins/);
});

test('two VirtualServices claiming one host on the same Gateway: the newer is an Error; on another gateway it is not', () => {
  const state = bookinfo();
  const other = gateway('shop', 'other-gw', { selector: { istio: 'other' }, servers: [{ port: { number: 8081, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] });
  const findings = analyzeMesh(
    objects(
      state,
      other,
      vs('shop', 'edge-2', { hosts: ['*'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'productpage' } }] }] }, LATER),
      vs('shop', 'edge-3', { hosts: ['*'], gateways: ['other-gw'], http: [{ route: [{ destination: { host: 'productpage' } }] }] }, LATER),
    ),
  );
  assert.deepEqual(brief(findings), ['Error MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService shop/edge-2 spec.hosts[0]']);
  assert.match(findings[0]!.message, /Gateway shop\/bookinfo-gateway is also claimed by VirtualService shop\/bookinfo/);
});

test('routes after a catch-all route are shadowed: no match, prefix "/", an empty match; a header match shadows nothing', () => {
  const route = [{ destination: { host: 'ratings' } }];
  const cases: [string, Parameters<typeof vs>[2], string[]][] = [
    ['none', { hosts: ['ratings'], http: [{ route }, { match: [{ uri: { prefix: '/x' } }], route }, { route }] }, ['spec.http[1]', 'spec.http[2]']],
    ['slash', { hosts: ['ratings'], http: [{ match: [{ uri: { exact: '/a' } }], route }, { match: [{ headers: { x: { exact: '1' } } }, { uri: { prefix: '/' } }], route }, { route }] }, ['spec.http[2]']],
    ['empty', { hosts: ['ratings'], http: [{ match: [{}], route }, { route }] }, ['spec.http[1]']],
    ['regex', { hosts: ['ratings'], http: [{ match: [{ uri: { regex: '.*' }, method: {} }], route }, { route }] }, ['spec.http[1]']],
    ['header', { hosts: ['ratings'], http: [{ match: [{ headers: { 'end-user': { exact: 'jason' } } }], route }, { route }] }, []],
    ['source', { hosts: ['ratings'], http: [{ match: [{ sourceLabels: { app: 'a' } }], route }, { route }] }, []],
  ];
  for (const [name, spec, fields] of cases) {
    const state = bookinfo();
    const findings = analyzeMesh(objects({ ...state, virtualServices: [vs('shop', name, spec)] }));
    const shadowed = findings.filter((f) => f.code === 'MBX_ANALYZE_ROUTE_SHADOWED');
    assert.deepEqual(shadowed.map((f) => f.field), fields, name);
    for (const f of shadowed) {
      assert.equal(f.severity, 'Warning');
      assert.equal(f.object, `VirtualService shop/${name}`);
    }
  }
});

test('a Service port whose name says http but appProtocol says tcp is a Warning on appProtocol; agreeing or unknown names are not', () => {
  const svc = service('shop', 'web', '10.96.0.90', [{ name: 'http-web', port: 80 }, { name: 'http', port: 81 }, { name: 'web', port: 82 }, { name: 'grpc-api', port: 83 }]);
  const ports = svc.spec.ports!;
  ports[0]!.appProtocol = 'tcp';
  ports[1]!.appProtocol = 'HTTP';
  ports[2]!.appProtocol = 'tcp';
  ports[3]!.appProtocol = 'kubernetes.io/h2c';
  const findings = analyzeMesh(objects(bookinfo(), svc));
  assert.deepEqual(brief(findings), ['Warning MBX_ANALYZE_PORT_PROTOCOL_MISMATCH Service shop/web spec.ports[0].appProtocol']);
  assert.match(findings[0]!.message, /says http but appProtocol tcp says tcp/);
});

test('a DestinationRule for a host that does not exist is a Warning on spec.host; wildcard hosts are not checked', () => {
  const findings = analyzeMesh(objects(bookinfo(), dr('shop', 'gone', { host: 'reviewz' }), dr('shop', 'all', { host: '*.shop.svc.cluster.local' }), dr('other', 'cross', { host: 'ratings.shop' })));
  assert.deepEqual(brief(findings), ['Warning MBX_ANALYZE_DESTINATIONRULE_UNKNOWN_HOST DestinationRule shop/gone spec.host']);
});

test('a VirtualService bound to a Gateway that does not exist is an Error, at the VirtualService and at match level', () => {
  const route = [{ destination: { host: 'productpage.shop' } }];
  const findings = analyzeMesh(
    objects(
      bookinfo(),
      vs('shop', 'gw-ok', { hosts: ['a.example.com'], gateways: ['shop/bookinfo-gateway', 'mesh'], http: [{ route }] }),
      vs('other', 'gw-bad', { hosts: ['b.example.com'], gateways: ['bookinfo-gateway'], http: [{ match: [{ gateways: ['missing'] }], route }] }),
    ),
  );
  assert.deepEqual(brief(findings), [
    'Error MBX_ANALYZE_GATEWAY_NOT_FOUND VirtualService other/gw-bad spec.gateways[0]',
    'Error MBX_ANALYZE_GATEWAY_NOT_FOUND VirtualService other/gw-bad spec.http[0].match[0].gateways[0]',
  ]);
  assert.match(findings[0]!.message, /Gateway other\/bookinfo-gateway does not exist/);
});

test("the translator's gateway warnings come through with their codes (a TCP server is skipped)", () => {
  const gw = gateway('shop', 'tcp-gw', { selector: { istio: 'tcp' }, servers: [{ port: { number: 9000, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] }] });
  assert.deepEqual(brief(analyzeMesh(objects(bookinfo(), gw))), ['Warning MBX_ANALYZE_UNSUPPORTED_SERVER Gateway shop/tcp-gw spec.servers.port']);
});

test('fields sort by their indexes: spec.http[2] before spec.http[10]', () => {
  const route = [{ destination: { host: 'ratings' } }];
  const http = [{ match: [{ uri: { prefix: '/' } }], route }, ...Array.from({ length: 10 }, (_, i) => ({ match: [{ uri: { exact: `/${i}` } }], route }))];
  const fields = analyzeMesh(objects(bookinfo(), vs('shop', 'many', { hosts: ['x.example.com'], http }))).map((f) => f.field);
  assert.deepEqual(fields, Array.from({ length: 10 }, (_, i) => `spec.http[${i + 1}]`));
});

test('findings are sorted Errors first and each (code, object, field) appears once', () => {
  const findings = analyzeMesh(
    objects(
      bookinfo(),
      dr('shop', 'gone', { host: 'nothere' }),
      // a mesh VirtualService for a two-port host is translated once per port
      service('shop', 'two', '10.96.0.91', [{ name: 'http', port: 80 }, { name: 'http-admin', port: 81 }]),
      vs('shop', 'two', { hosts: ['two'], http: [{ route: [{ destination: { host: 'two', subset: 'blue' } }] }] }),
    ),
  );
  assert.deepEqual(brief(findings), [
    'Error MBX_ANALYZE_SUBSET_UNDEFINED VirtualService shop/two spec.http[0].route[0].destination.subset',
    'Warning MBX_ANALYZE_DESTINATIONRULE_UNKNOWN_HOST DestinationRule shop/gone spec.host',
  ]);
});

test("the schema's warnings are findings: unreachable rules as MBX_ANALYZE_ROUTE_SHADOWED, the rest as MBX_ANALYZE_VALIDATION_WARNING; left out on request", () => {
  const state = bookinfoWithDeprecatedPercent();
  const route = [{ destination: { host: 'ratings' } }];
  const extra = vs('shop', 'late', { hosts: ['ratings.shop'], http: [{ route }, { match: [{ uri: { prefix: '/x' } }], route }] }, LATER);
  const all = analyzeMesh(objects(state, extra));
  assert.deepEqual(brief(all), [
    'Error MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService shop/late spec.hosts',
    'Warning MBX_ANALYZE_ROUTE_SHADOWED VirtualService shop/late spec.http[1]',
    'Warning MBX_ANALYZE_VALIDATION_WARNING VirtualService shop/ratings spec.http[0].fault.abort.percent',
  ]);
  assert.match(all[1]!.message, /rule \[0\] before it has no match/, "the schema's own message");
  assert.match(all[2]!.message, /percent/);
  assert.deepEqual(brief(analyzeMesh(objects(state, extra), { schemaWarnings: false })), ['Error MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES VirtualService shop/late spec.hosts']);
});

// === the code table stays in step with the translator and the docs ===

test('every MBX_ANALYZE_ code the translator emits has a severity here, and docs/analyze.md lists every code', () => {
  const root = REPO_ROOT;
  const translate = join(root, 'src', 'controlplane', 'translate');
  const emitted = new Set<string>();
  for (const f of readdirSync(translate)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    for (const m of readFileSync(join(translate, f), 'utf8').matchAll(/'(MBX_ANALYZE_[A-Z_]+)'/g)) emitted.add(m[1]!);
  }
  assert.ok(emitted.size > 0, 'the translator emits analysis codes');
  for (const code of emitted) assert.ok(FINDING_CODES[code]?.fromTranslator, `${code} is emitted by the translator but not in FINDING_CODES as fromTranslator`);
  const docs = readFileSync(join(root, 'docs', 'analyze.md'), 'utf8');
  assert.deepEqual(documentedCodes(docs).sort(), Object.keys(FINDING_CODES).sort());
});
