import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainHash, chainPrefixFor, checkPrefix } from './chain-prefix.js';
import { chainNames, probability, renderServiceRules, type ServicePortRule } from './service-rules.js';

const opts = { prefix: 'MBX-ABC123', podCidr: '10.244.0.0/16' };
const web: ServicePortRule = {
  name: 'default/web:http',
  clusterIP: '10.96.0.10',
  port: 80,
  protocol: 'TCP',
  endpoints: [
    { ip: '10.244.0.2', port: 8080 },
    { ip: '10.244.0.3', port: 8080 },
    { ip: '10.244.0.4', port: 8080 },
  ],
};

test('kube-proxy probabilities: 1/n, 1/(n-1), ..., the last endpoint unconditional', () => {
  const { nat } = renderServiceRules([web], opts);
  const svc = chainNames(opts.prefix).svc(web);
  const picks = nat.split('\n').filter((l) => l.startsWith(`-A ${svc} `) && l.includes('-SEP-'));
  assert.equal(picks.length, 3);
  assert.match(picks[0]!, /--probability 0\.3333333333 /);
  assert.match(picks[1]!, /--probability 0\.5000000000 /);
  assert.doesNotMatch(picks[2]!, /statistic/);
  assert.equal(probability(4), '0.2500000000');
});

test('every chain name fits iptables (28 characters) and carries the prefix', () => {
  const { natChains } = renderServiceRules([web], opts);
  assert.equal(natChains.size, 4 + 1 + 3);
  for (const c of natChains) {
    assert.ok(c.length <= 28, `${c} is too long`);
    assert.ok(c.startsWith('MBX-ABC123-'));
  }
});

test('DNAT per endpoint, hairpin masquerade, off-cluster masquerade, jump from SERVICES', () => {
  const { nat, filter } = renderServiceRules([web], opts);
  const n = chainNames(opts.prefix);
  const sep = n.sep(web, web.endpoints[0]!);
  assert.ok(nat.includes(`-A ${sep} -s 10.244.0.2/32 -m comment --comment "default/web:http" -j MBX-ABC123-MARK-MASQ`));
  assert.ok(nat.includes(`-A ${sep} -m comment --comment "default/web:http" -p tcp -m tcp -j DNAT --to-destination 10.244.0.2:8080`));
  assert.ok(nat.includes(`-A MBX-ABC123-SERVICES -d 10.96.0.10/32 -m comment --comment "default/web:http cluster IP" -p tcp -m tcp --dport 80 -j ${n.svc(web)}`));
  assert.ok(nat.includes(`! -s 10.244.0.0/16 -d 10.96.0.10/32`));
  assert.doesNotMatch(filter, /REJECT/);
});

test('a Service without endpoints is rejected in the filter table and has no nat chain', () => {
  const { nat, filter, natChains } = renderServiceRules([{ ...web, endpoints: [], nodePort: 30080 }], opts);
  assert.match(filter, /-A MBX-ABC123-SERVICES -d 10\.96\.0\.10\/32 .* --dport 80 -j REJECT --reject-with icmp-port-unreachable/);
  assert.match(filter, /-A MBX-ABC123-SERVICES -d 127\.0\.0\.1\/32 .* --dport 30080 -j REJECT/);
  assert.equal(natChains.size, 4);
  assert.doesNotMatch(nat, /DNAT/);
});

test('ClientIP affinity: recent --rcheck per endpoint before the random picks, --set in the endpoint chain', () => {
  const { nat } = renderServiceRules([{ ...web, affinityTimeoutSeconds: 10800 }], opts);
  const n = chainNames(opts.prefix);
  const svcLines = nat.split('\n').filter((l) => l.startsWith(`-A ${n.svc(web)} `) && l.includes('-SEP-'));
  assert.equal(svcLines.length, 6);
  for (const l of svcLines.slice(0, 3)) assert.match(l, /-m recent --name MBX-ABC123-SEP-\w+ --mask 255\.255\.255\.255 --rsource --rcheck --seconds 10800 --reap/);
  for (const l of svcLines.slice(3)) assert.doesNotMatch(l, /recent/);
  assert.match(nat, /-m recent --name MBX-ABC123-SEP-\w+ --mask 255\.255\.255\.255 --rsource --set -j DNAT/);
});

test('NodePort: 127.0.0.1:nodePort marks for masquerade and enters the Service chain', () => {
  const { nat } = renderServiceRules([{ ...web, nodePort: 30080 }], opts);
  const n = chainNames(opts.prefix);
  assert.ok(nat.includes(`-A ${n.nodePorts} -d 127.0.0.1/32 -m comment --comment "default/web:http" -p tcp -m tcp --dport 30080 -j ${n.markMasq}`));
  assert.ok(nat.includes(`-A ${n.nodePorts} -d 127.0.0.1/32 -m comment --comment "default/web:http" -p tcp -m tcp --dport 30080 -j ${n.svc(web)}`));
  assert.ok(nat.includes(`-A ${n.services} -d 127.0.0.1/32 -j ${n.nodePorts}`));
});

test('stale chains are flushed and deleted in the same restore; wanted ones are not', () => {
  const old = chainNames(opts.prefix).svc({ ...web, name: 'default/gone:http' });
  const keep = chainNames(opts.prefix).svc(web);
  const { nat } = renderServiceRules([web], opts, [old, keep]);
  assert.ok(nat.includes(`:${old} - [0:0]`));
  assert.ok(nat.includes(`-X ${old}`));
  assert.ok(!nat.includes(`-X ${keep}`));
  assert.ok(nat.indexOf(`-X ${old}`) > nat.lastIndexOf('-A '));
});

test('output is deterministic regardless of input order', () => {
  const other = { ...web, name: 'default/api:grpc', clusterIP: '10.96.0.11' };
  assert.equal(renderServiceRules([web, other], opts).nat, renderServiceRules([other, web], opts).nat);
});

test('prefix from the bridge name: stable, distinct, valid', () => {
  assert.equal(chainPrefixFor('mbx0'), chainPrefixFor('mbx0'));
  assert.notEqual(chainPrefixFor('mbx0'), chainPrefixFor('mbx1'));
  assert.equal(checkPrefix(chainPrefixFor('mbx0')), chainPrefixFor('mbx0'));
  assert.throws(() => checkPrefix('way-too-long-prefix'), { code: 'MBX_NETFILTER_INVALID_PREFIX' });
  assert.match(chainHash('x'), /^[A-Z2-7]{12}$/);
});

test('with the service CIDR, unserved VIPs and ports are rejected after the per-port rules', () => {
  const { filter } = renderServiceRules([{ ...web, endpoints: [] }], { ...opts, serviceCidr: '10.96.0.0/16' });
  const lines = filter.split('\n').filter((l) => l.startsWith('-A '));
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /-d 10\.96\.0\.0\/16 .*-j REJECT/);
});
