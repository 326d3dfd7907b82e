import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrMinus } from './cidr-minus.js';
import {
  compilePodPolicy,
  compilePolicyRuleSet,
  compilePolicyTeardown,
  dispatchChainFor,
  isPolicyChainOf,
  podChainName,
  podChainPrefixFor,
} from './compile-policy-rule-set.js';

const REJECTS = (c: string) => [`-A ${c} -p tcp -m conntrack ! --ctstate DNAT -j REJECT --reject-with tcp-reset`, `-A ${c} -j REJECT --reject-with icmp-admin-prohibited`];

describe('cidrMinus', () => {
  it('returns the CIDR itself without excepts, normalised', () => {
    assert.deepEqual(cidrMinus('10.1.2.3/24'), ['10.1.2.0/24']);
    assert.deepEqual(cidrMinus('10.1.2.3'), ['10.1.2.3/32']);
  });
  it('splits around one except into the fewest CIDRs', () => {
    assert.deepEqual(cidrMinus('10.0.0.0/24', ['10.0.0.0/26']), ['10.0.0.64/26', '10.0.0.128/25']);
    assert.deepEqual(cidrMinus('10.0.0.0/30', ['10.0.0.2/32']), ['10.0.0.0/31', '10.0.0.3/32']);
  });
  it('covers exactly the addresses outside the excepts', () => {
    const pieces = cidrMinus('192.168.0.0/22', ['192.168.1.0/24', '192.168.2.7/32', '10.0.0.0/8']);
    const inAny = (ip: number) =>
      pieces.some((p) => {
        const [a, len] = p.split('/');
        const base = a!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
        return ip >= base && ip < base + 2 ** (32 - Number(len));
      });
    const start = 192 * 2 ** 24 + 168 * 2 ** 16;
    for (let i = 0; i < 1024; i++) {
      const excluded = (i >= 256 && i < 512) || i === 512 + 7;
      assert.equal(inAny(start + i), !excluded, `address offset ${i}`);
    }
    assert.ok(pieces.length <= 1 + 10, `${pieces.length} pieces`);
  });
  it('an except covering the whole block leaves nothing; an unrelated except changes nothing', () => {
    assert.deepEqual(cidrMinus('10.0.0.0/24', ['10.0.0.0/16']), []);
    assert.deepEqual(cidrMinus('10.0.0.0/24', ['10.9.0.0/16']), ['10.0.0.0/24']);
  });
  it('rejects what is not IPv4 with a coded error', () => {
    assert.throws(() => cidrMinus('fd00::/8'), { code: 'MBX_NETPOL_INVALID_CIDR' });
    assert.throws(() => cidrMinus('10.0.0.0/24', ['10.0.0.300/32']), { code: 'MBX_NETPOL_INVALID_CIDR' });
  });
});

describe('chain names', () => {
  it('are per bridge, at most 28 characters, and recognised as ours', () => {
    const a = podChainName('mbx-long-bridge', 'uid-1', 'ingress');
    const b = podChainName('mbx0', 'uid-1', 'ingress');
    assert.notEqual(a, b);
    assert.ok(a.length <= 28 && b.length <= 28, a);
    assert.ok(isPolicyChainOf('mbx0', b));
    assert.ok(!isPolicyChainOf('mbx1', b));
    assert.ok(isPolicyChainOf('mbx0', dispatchChainFor('mbx0')));
    assert.ok(!isPolicyChainOf('mbx0', 'MBX-FWD-mbx0'));
    assert.notEqual(podChainName('mbx0', 'uid-1', 'egress'), b);
    assert.ok(b.startsWith(podChainPrefixFor('mbx0')));
  });
  it('refuses a bridge name iptables could not carry', () => {
    assert.throws(() => dispatchChainFor('a b'), { code: 'MBX_NETPOL_INVALID_BRIDGE' });
    assert.throws(() => dispatchChainFor('x'.repeat(16)), { code: 'MBX_NETPOL_INVALID_BRIDGE' });
  });
});

describe('compilePodPolicy', () => {
  it('an isolated direction without rules rejects everything (default deny)', () => {
    assert.deepEqual(compilePodPolicy('C', [], 'ingress'), REJECTS('C'));
  });
  it('a rule with any peer and any port allows everything', () => {
    assert.deepEqual(compilePodPolicy('C', [{ peers: 'any', ports: 'any' }], 'ingress'), ['-A C -j RETURN', ...REJECTS('C')]);
  });
  it('an empty peer or port list allows nothing (a selector that selected no pod)', () => {
    assert.deepEqual(compilePodPolicy('C', [{ peers: [], ports: 'any' }], 'ingress'), REJECTS('C'));
    assert.deepEqual(compilePodPolicy('C', [{ peers: 'any', ports: [] }], 'egress'), REJECTS('C'));
  });
  it('ingress matches the source, egress the destination; ports are destination ports', () => {
    const rule = { peers: [{ cidr: '10.0.0.5' }], ports: [{ protocol: 'TCP' as const, port: 8080 }] };
    assert.deepEqual(compilePodPolicy('C', [rule], 'ingress'), ['-A C -s 10.0.0.5/32 -p tcp -m tcp --dport 8080 -j RETURN', ...REJECTS('C')]);
    assert.deepEqual(compilePodPolicy('C', [rule], 'egress'), ['-A C -d 10.0.0.5/32 -p tcp -m tcp --dport 8080 -j RETURN', ...REJECTS('C')]);
  });
  it('several peers are OR, several ports are OR: one line per pair', () => {
    const lines = compilePodPolicy(
      'C',
      [
        {
          peers: [{ cidr: '10.0.0.5' }, { cidr: '10.0.1.0/24' }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 8000, endPort: 8080 },
          ],
          comment: 'ns/p ingress[0]',
        },
      ],
      'ingress',
    );
    assert.deepEqual(lines, [
      '-A C -s 10.0.0.5/32 -p udp -m udp --dport 53 -m comment --comment "ns/p ingress[0]" -j RETURN',
      '-A C -s 10.0.0.5/32 -p tcp -m tcp --dport 8000:8080 -m comment --comment "ns/p ingress[0]" -j RETURN',
      '-A C -s 10.0.1.0/24 -p udp -m udp --dport 53 -m comment --comment "ns/p ingress[0]" -j RETURN',
      '-A C -s 10.0.1.0/24 -p tcp -m tcp --dport 8000:8080 -m comment --comment "ns/p ingress[0]" -j RETURN',
      ...REJECTS('C'),
    ]);
  });
  it('a port without a number matches the whole protocol; SCTP is supported', () => {
    const lines = compilePodPolicy('C', [{ peers: 'any', ports: [{ protocol: 'UDP' }, { protocol: 'SCTP', port: 9 }] }], 'egress');
    assert.deepEqual(lines, ['-A C -p udp -j RETURN', '-A C -p sctp -m sctp --dport 9 -j RETURN', ...REJECTS('C')]);
  });
  it('ipBlock except becomes the remaining CIDRs', () => {
    const lines = compilePodPolicy('C', [{ peers: [{ cidr: '10.0.0.0/24', except: ['10.0.0.128/25'] }], ports: 'any' }], 'ingress');
    assert.deepEqual(lines, ['-A C -s 10.0.0.0/25 -j RETURN', ...REJECTS('C')]);
  });
  it('comments cannot break the restore syntax', () => {
    const [line] = compilePodPolicy('C', [{ peers: 'any', ports: 'any', comment: 'a"b\nc' }], 'ingress');
    assert.equal(line, '-A C -m comment --comment "a_b_c" -j RETURN');
  });
});

describe('compilePolicyRuleSet', () => {
  const pod = (id: string, ip: string, extra: object = {}) => ({ id, name: `ns/${id}`, ip, ...extra });

  it('with no isolated pod: only the dispatch chain with the reply rule', () => {
    const set = compilePolicyRuleSet({ bridge: 'mbx0', pods: [] });
    assert.equal(
      set.text,
      ['*filter', ':MBX-NP-mbx0 - [0:0]', '-A MBX-NP-mbx0 -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN', 'COMMIT', ''].join('\n'),
    );
    assert.deepEqual(set.chains, ['MBX-NP-mbx0']);
  });

  it('golden: replies first, node addresses, egress jumps before ingress jumps, pods sorted by IP', () => {
    const b = podChainName('mbx0', 'b', 'ingress');
    const aE = podChainName('mbx0', 'a', 'egress');
    const aI = podChainName('mbx0', 'a', 'ingress');
    const set = compilePolicyRuleSet({
      bridge: 'mbx0',
      nodeAddresses: ['10.9.0.1'],
      pods: [
        pod('b', '10.9.0.20', { ingress: [{ peers: [{ cidr: '10.9.0.10' }], ports: [{ protocol: 'TCP', port: 80 }] }] }),
        pod('a', '10.9.0.10', { ingress: [], egress: [{ peers: 'any', ports: [{ protocol: 'UDP', port: 53 }] }] }),
      ],
    });
    assert.equal(
      set.text,
      [
        '*filter',
        ':MBX-NP-mbx0 - [0:0]',
        `:${aE} - [0:0]`,
        `:${aI} - [0:0]`,
        `:${b} - [0:0]`,
        '-A MBX-NP-mbx0 -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN',
        '-A MBX-NP-mbx0 -s 10.9.0.1/32 -j RETURN',
        `-A MBX-NP-mbx0 -s 10.9.0.10/32 -m comment --comment "ns/a egress" -j ${aE}`,
        `-A MBX-NP-mbx0 -d 10.9.0.10/32 -m comment --comment "ns/a ingress" -j ${aI}`,
        `-A MBX-NP-mbx0 -d 10.9.0.20/32 -m comment --comment "ns/b ingress" -j ${b}`,
        `-A ${aE} -p udp -m udp --dport 53 -j RETURN`,
        ...REJECTS(aE),
        ...REJECTS(aI),
        `-A ${b} -s 10.9.0.10/32 -p tcp -m tcp --dport 80 -j RETURN`,
        ...REJECTS(b),
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('a pod not isolated in a direction gets no chain for it', () => {
    const set = compilePolicyRuleSet({ bridge: 'mbx0', pods: [pod('a', '10.0.0.1', { egress: [] })] });
    assert.deepEqual(set.chains, ['MBX-NP-mbx0', podChainName('mbx0', 'a', 'egress')]);
    assert.ok(!set.text.includes(' -d 10.0.0.1/32'));
  });

  it('deletes chains of this bridge it no longer renders, never other chains', () => {
    const gone = podChainName('mbx0', 'gone', 'ingress');
    const other = podChainName('mbx1', 'x', 'ingress');
    const set = compilePolicyRuleSet({ bridge: 'mbx0', pods: [], existingChains: [gone, 'MBX-NP-mbx0', other, 'FORWARD'] });
    assert.deepEqual(set.deleted, [gone]);
    const lines = set.text.split('\n');
    assert.ok(lines.indexOf(`:${gone} - [0:0]`) > 0, 'flushed before delete');
    assert.equal(lines.at(-3), `-X ${gone}`);
    assert.ok(!set.text.includes(other));
  });

  it('is deterministic whatever the input order', () => {
    const pods = [pod('a', '10.0.0.3', { ingress: [] }), pod('b', '10.0.0.1', { ingress: [] }), pod('c', '10.0.0.20', { ingress: [] })];
    const one = compilePolicyRuleSet({ bridge: 'mbx0', pods }).text;
    const two = compilePolicyRuleSet({ bridge: 'mbx0', pods: [...pods].reverse() }).text;
    assert.equal(one, two);
    assert.ok(one.indexOf('10.0.0.1/32') < one.indexOf('10.0.0.3/32') && one.indexOf('10.0.0.3/32') < one.indexOf('10.0.0.20/32'));
  });

  it('teardown text flushes and deletes only this bridge\'s chains', () => {
    const mine = podChainName('mbx0', 'a', 'ingress');
    const text = compilePolicyTeardown('mbx0', ['MBX-NP-mbx0', mine, 'MBX-NP-mbx1', 'INPUT']);
    assert.equal(text, ['*filter', ':MBX-NP-mbx0 - [0:0]', `:${mine} - [0:0]`, '-X MBX-NP-mbx0', `-X ${mine}`, 'COMMIT', ''].join('\n'));
    assert.equal(compilePolicyTeardown('mbx0', ['INPUT']), '');
  });
});
