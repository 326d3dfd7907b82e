import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import { ClusterRecords, type DnsEndpointSlice, type DnsEndpoints, type LookupResult } from './cluster-records.js';

function records(): ClusterRecords {
  return new ClusterRecords({ reverseCidrs: ['10.244.0.0/16', '10.96.0.0/16'], now: () => 1_700_000_000_000 });
}

function pod(ns: string, name: string, ip: string | undefined, extra: { hostname?: string; subdomain?: string; ready?: boolean; phase?: string } = {}) {
  return {
    metadata: { name, namespace: ns },
    spec: { hostname: extra.hostname, subdomain: extra.subdomain },
    status: {
      phase: extra.phase ?? 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }],
    },
  };
}

function data(r: LookupResult | undefined): unknown[] {
  assert.ok(r, 'expected the name to be ours');
  assert.equal(r.rcode, 'NOERROR');
  return (r as { answers: Answer[] }).answers.map((a) => (a as { data: unknown }).data);
}

const headless = {
  metadata: { name: 'db', namespace: 'prod' },
  spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }, { port: 9999 }] },
};

const dbEndpoints: DnsEndpoints = {
  kind: 'Endpoints',
  metadata: { name: 'db', namespace: 'prod' },
  subsets: [
    {
      addresses: [{ ip: '10.244.0.11', hostname: 'db-0' }, { ip: '10.244.0.12' }],
      notReadyAddresses: [{ ip: '10.244.0.13' }],
      ports: [{ name: 'pg', port: 15432, protocol: 'TCP' }],
    },
  ],
};

test('pod A record exists only for a pod with that IP in that namespace (pods verified)', () => {
  const r = records();
  r.upsertPod(pod('default', 'a', '10.244.1.5'));
  assert.deepEqual(data(r.lookup('10-244-1-5.default.pod.cluster.local', 'A')), ['10.244.1.5']);
  assert.deepEqual(r.lookup('10-244-1-5.other.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  assert.deepEqual(r.lookup('10-244-1-6.default.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  // AAAA for a name with an A record: NODATA, not NXDOMAIN
  assert.deepEqual(data(r.lookup('10-244-1-5.default.pod.cluster.local', 'AAAA')), []);
  // case-insensitive, owner name keeps the asker's case
  const mixed = r.lookup('10-244-1-5.DeFault.POD.Cluster.Local.', 'A');
  assert.equal((mixed as { answers: Answer[] }).answers[0]!.name, '10-244-1-5.DeFault.POD.Cluster.Local.');
  r.deletePod('default/a');
  assert.deepEqual(r.lookup('10-244-1-5.default.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
});

test('pods without IP or finished pods have no record; an IP change moves the record', () => {
  const r = records();
  r.upsertPod(pod('default', 'a', undefined));
  assert.deepEqual(r.lookup('10-244-1-5.default.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  r.upsertPod(pod('default', 'a', '10.244.1.5'));
  r.upsertPod(pod('default', 'a', '10.244.1.7'));
  assert.deepEqual(r.lookup('10-244-1-5.default.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  assert.deepEqual(data(r.lookup('10-244-1-7.default.pod.cluster.local', 'A')), ['10.244.1.7']);
  r.upsertPod(pod('default', 'a', '10.244.1.7', { phase: 'Succeeded' }));
  assert.deepEqual(r.lookup('10-244-1-7.default.pod.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
});

test('ClusterIP service: A → clusterIP, AAAA NODATA, SRV per named port, unnamed ports have none', () => {
  const r = records();
  r.upsertService({
    metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 81 }] },
  });
  assert.deepEqual(data(r.lookup('web.default.svc.cluster.local', 'A')), ['10.96.0.10']);
  assert.deepEqual(data(r.lookup('WEB.default.svc.cluster.local', 'AAAA')), []);
  assert.deepEqual(data(r.lookup('_http._tcp.web.default.svc.cluster.local', 'SRV')), [
    { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
  ]);
  const srv = r.lookup('_dns._udp.web.default.svc.cluster.local', 'SRV') as { answers: Answer[]; additionals: Answer[] };
  assert.equal((srv.answers[0] as { data: { port: number } }).data.port, 53);
  assert.deepEqual(srv.additionals.map((a) => [a.name, a.type, (a as { data: string }).data]), [
    ['web.default.svc.cluster.local', 'A', '10.96.0.10'],
  ]);
  assert.deepEqual(r.lookup('_http._udp.web.default.svc.cluster.local', 'SRV'), { rcode: 'NXDOMAIN' });
  assert.deepEqual(r.lookup('_nope._tcp.web.default.svc.cluster.local', 'SRV'), { rcode: 'NXDOMAIN' });
  // the SRV name exists; asking A there is NODATA
  assert.deepEqual(data(r.lookup('_http._tcp.web.default.svc.cluster.local', 'A')), []);
  // `_tcp.<svc>` is an empty non-terminal
  assert.deepEqual(data(r.lookup('_tcp.web.default.svc.cluster.local', 'A')), []);
  assert.deepEqual(r.lookup('web.other.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  r.deleteService('default/web');
  assert.deepEqual(r.lookup('web.default.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
});

test('headless service: ready endpoint IPs, hostnames, SRV per endpoint with endpoint ports', () => {
  const r = records();
  r.upsertService(headless);
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), [], 'no endpoints yet: NODATA');
  r.upsertEndpoints(dbEndpoints);
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), ['10.244.0.11', '10.244.0.12']);
  assert.deepEqual(data(r.lookup('db-0.db.prod.svc.cluster.local', 'A')), ['10.244.0.11']);
  assert.deepEqual(data(r.lookup('10-244-0-12.db.prod.svc.cluster.local', 'A')), ['10.244.0.12']);
  assert.deepEqual(r.lookup('10-244-0-13.db.prod.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' }, 'not ready');
  const srv = r.lookup('_pg._tcp.db.prod.svc.cluster.local', 'SRV') as { answers: Answer[]; additionals: Answer[] };
  assert.deepEqual(
    srv.answers.map((a) => (a as { data: { target: string; port: number } }).data).map((d) => [d.target, d.port]),
    [['db-0.db.prod.svc.cluster.local', 15432], ['10-244-0-12.db.prod.svc.cluster.local', 15432]],
  );
  assert.deepEqual(srv.additionals.map((a) => (a as { data: string }).data), ['10.244.0.11', '10.244.0.12']);
  r.deleteEndpoints('prod/db');
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), []);
  assert.deepEqual(data(r.lookup('_pg._tcp.db.prod.svc.cluster.local', 'SRV')), [], 'port exists, no endpoints: NODATA');
});

test('headless service with publishNotReadyAddresses answers every endpoint', () => {
  const r = records();
  r.upsertService({ ...headless, spec: { ...headless.spec, publishNotReadyAddresses: true } });
  r.upsertEndpoints(dbEndpoints);
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), ['10.244.0.11', '10.244.0.12', '10.244.0.13']);
});

test('EndpointSlices: ready condition (nil = ready), several slices merge, Endpoints duplicates collapse', () => {
  const r = records();
  r.upsertService(headless);
  const slice = (name: string, eps: DnsEndpointSlice['endpoints']): DnsEndpointSlice => ({
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'prod', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    endpoints: eps,
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  });
  r.upsertEndpoints(slice('db-abc', [
    { addresses: ['10.244.0.21'], conditions: { ready: true } },
    { addresses: ['10.244.0.22'], conditions: { ready: false, terminating: true } },
  ]));
  r.upsertEndpoints(slice('db-def', [{ addresses: ['10.244.0.23'] }]));
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), ['10.244.0.21', '10.244.0.23']);
  r.upsertEndpoints({ metadata: { name: 'db', namespace: 'prod' }, subsets: [{ addresses: [{ ip: '10.244.0.21' }] }] });
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), ['10.244.0.21', '10.244.0.23']);
  r.deleteEndpoints('prod/db-abc', 'EndpointSlice');
  r.deleteEndpoints('prod/db');
  assert.deepEqual(data(r.lookup('db.prod.svc.cluster.local', 'A')), ['10.244.0.23']);
});

test('pod hostname + subdomain matching a headless service gets its own name, when ready', () => {
  const r = records();
  r.upsertService(headless);
  r.upsertPod(pod('prod', 'db-x', '10.244.0.31', { hostname: 'primary', subdomain: 'db' }));
  r.upsertPod(pod('prod', 'db-y', '10.244.0.32', { hostname: 'replica', subdomain: 'db', ready: false }));
  r.upsertPod(pod('prod', 'other', '10.244.0.33', { hostname: 'lonely', subdomain: 'nosuchsvc' }));
  assert.deepEqual(data(r.lookup('primary.db.prod.svc.cluster.local', 'A')), ['10.244.0.31']);
  assert.deepEqual(r.lookup('replica.db.prod.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  assert.deepEqual(r.lookup('lonely.nosuchsvc.prod.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  // an endpoint pointing at that pod takes the pod's hostname as its SRV target
  r.upsertEndpoints({
    metadata: { name: 'db', namespace: 'prod' },
    subsets: [{ addresses: [{ ip: '10.244.0.31', targetRef: { kind: 'Pod', name: 'db-x' } }], ports: [{ name: 'pg', port: 5432 }] }],
  });
  assert.deepEqual(data(r.lookup('_pg._tcp.db.prod.svc.cluster.local', 'SRV')), [
    { priority: 0, weight: 100, port: 5432, target: 'primary.db.prod.svc.cluster.local' },
  ]);
});

test('PTR: service IP, headless endpoint hostname, pod; unknown in-CIDR NXDOMAIN; outside CIDR not ours', () => {
  const r = records();
  r.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
  r.upsertService(headless);
  r.upsertEndpoints(dbEndpoints);
  r.upsertPod(pod('prod', 'db-0', '10.244.0.11'));
  r.upsertPod(pod('default', 'p', '10.244.1.5'));
  assert.deepEqual(data(r.lookup('10.0.96.10.in-addr.arpa', 'PTR')), ['web.default.svc.cluster.local']);
  assert.deepEqual(data(r.lookup('11.0.244.10.in-addr.arpa', 'PTR')), ['db-0.db.prod.svc.cluster.local']);
  assert.deepEqual(data(r.lookup('5.1.244.10.IN-ADDR.ARPA.', 'PTR')), ['10-244-1-5.default.pod.cluster.local']);
  assert.deepEqual(data(r.lookup('5.1.244.10.in-addr.arpa', 'A')), [], 'name exists, other type: NODATA');
  assert.deepEqual(r.lookup('99.1.244.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
  assert.equal(r.lookup('1.1.168.192.in-addr.arpa', 'PTR'), undefined, 'outside the CIDRs: forward');
  assert.equal(r.lookup('10.in-addr.arpa', 'PTR'), undefined, 'covers more than our CIDR: forward');
  assert.deepEqual(data(r.lookup('1.244.10.in-addr.arpa', 'PTR')), [], 'empty non-terminal above a pod');
  assert.deepEqual(r.lookup('7.244.10.in-addr.arpa', 'PTR'), { rcode: 'NXDOMAIN' });
  assert.equal(r.soaFor('99.1.244.10.in-addr.arpa').name, '244.10.in-addr.arpa');
});

test('ExternalName → CNAME to be chased; CNAME query gets the CNAME alone', () => {
  const r = records();
  r.upsertService({ metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'db.example.com.' } });
  const a = r.lookup('ext.default.svc.cluster.local', 'A');
  assert.ok(a && a.rcode === 'NOERROR');
  assert.equal(a.answers[0]!.type, 'CNAME');
  assert.equal((a.answers[0] as { data: string }).data, 'db.example.com');
  assert.equal(a.chase, 'db.example.com');
  const c = r.lookup('ext.default.svc.cluster.local', 'CNAME');
  assert.ok(c && c.rcode === 'NOERROR' && c.chase === undefined);
});

test('zone structure: apex SOA/NS, dns-version TXT, namespaces and svc/pod as empty non-terminals', () => {
  const r = records();
  r.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
  r.upsertPod(pod('team', 'p', '10.244.3.3'));
  const soa = r.lookup('cluster.local', 'SOA') as { answers: Answer[] };
  assert.equal(soa.answers[0]!.type, 'SOA');
  assert.equal((r.lookup('cluster.local', 'NS') as { answers: Answer[] }).answers[0]!.type, 'NS');
  assert.deepEqual(data(r.lookup('dns-version.cluster.local', 'TXT')), ['1.1.0']);
  assert.deepEqual(data(r.lookup('svc.cluster.local', 'A')), []);
  assert.deepEqual(data(r.lookup('default.svc.cluster.local', 'A')), []);
  assert.deepEqual(r.lookup('nosuchns.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  assert.deepEqual(data(r.lookup('team.pod.cluster.local', 'A')), []);
  assert.deepEqual(r.lookup('web.default.cluster.local', 'A'), { rcode: 'NXDOMAIN' }, 'search-path leftovers are NXDOMAIN');
  assert.deepEqual(r.lookup('a.b.c.web.default.svc.cluster.local', 'A'), { rcode: 'NXDOMAIN' });
  assert.equal(r.lookup('example.com', 'A'), undefined);
  assert.equal(r.lookup('notcluster.local', 'A'), undefined, 'a suffix match must be a whole label');
  const neg = r.soaFor('x.cluster.local');
  assert.equal(neg.ttl, 30);
  assert.equal(neg.data.minimum, 30);
});

test('a custom domain and invalid inputs', () => {
  const r = new ClusterRecords({ domain: 'Corp.Internal.' });
  assert.equal(r.domain, 'corp.internal');
  r.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
  assert.deepEqual(data(r.lookup('web.default.svc.corp.internal', 'A')), ['10.96.0.10']);
  assert.equal(r.lookup('web.default.svc.cluster.local', 'A'), undefined);
  assert.throws(() => new ClusterRecords({ domain: 'bad_domain' }), { code: 'MBX_DNS_INVALID_DOMAIN' });
  assert.throws(() => new ClusterRecords({ reverseCidrs: ['10.0.0.0/33'] }), { code: 'MBX_DNS_INVALID_CIDR' });
  // garbage endpoint IPs are skipped, not indexed
  r.upsertService({ metadata: { name: 'h', namespace: 'default' }, spec: { clusterIP: 'None' } });
  r.upsertEndpoints({ metadata: { name: 'h', namespace: 'default' }, subsets: [{ addresses: [{ ip: 'not-an-ip' }, { ip: '10.1.1.1' }] }] });
  assert.deepEqual(data(r.lookup('h.default.svc.corp.internal', 'A')), ['10.1.1.1']);
});

test('lookup survives random names', () => {
  const r = records();
  r.upsertService(headless);
  r.upsertEndpoints(dbEndpoints);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = 'ab0-_.9xDBSVC*\\';
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const n = Math.floor(rnd() * 40);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const suffix = ['', '.svc.cluster.local', '.prod.svc.cluster.local', '.pod.cluster.local', '.in-addr.arpa'][i % 5];
    const res = r.lookup(s + suffix, ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'ANY'][i % 6]!);
    if (res) assert.ok(res.rcode === 'NOERROR' || res.rcode === 'NXDOMAIN');
  }
});
