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

const B = 'mbx0';
const P = podChainPrefixFor(B);
const CLEAR = (c: string) => `-A ${c} -j MARK --set-xmark 0x0/0x10000`;
const CHECK = (c: string) => `-A ${c} -m mark --mark 0x10000/0x10000 -g ${P}ALLOW`;
const REJECTS = (c: string) => [
  `-A ${c} -p tcp -m conntrack ! --ctstate DNAT -j REJECT --reject-with tcp-reset`,
  `-A ${c} -j REJECT --reject-with icmp-admin-prohibited`,
];

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
  const compile = (rules: Parameters<typeof compilePodPolicy>[2], direction: 'ingress' | 'egress' = 'ingress') => compilePodPolicy(B, 'C', rules, direction);
  /** the rule chain's lines with its (hash) name replaced by R */
  const bodies = (r: ReturnType<typeof compile>) => r.ruleChains.map((c) => c.lines.map((l) => l.replace(c.name, 'R')));

  it('an isolated direction without rules rejects everything (default deny)', () => {
    assert.deepEqual(compile([]), { lines: [CLEAR('C'), ...REJECTS('C')], ruleChains: [] });
  });
  it('a rule with any peer and any port allows everything, straight to ALLOW', () => {
    assert.deepEqual(compile([{ peers: 'any', ports: 'any' }]).lines, [CLEAR('C'), `-A C -g ${P}ALLOW`]);
  });
  it('an empty peer or port list allows nothing (a selector that selected no pod)', () => {
    assert.deepEqual(compile([{ peers: [], ports: 'any' }]), { lines: [CLEAR('C'), ...REJECTS('C')], ruleChains: [] });
    assert.deepEqual(compile([{ peers: 'any', ports: [] }], 'egress'), { lines: [CLEAR('C'), ...REJECTS('C')], ruleChains: [] });
  });
  it('a rule becomes a rule chain: matches go to OK, the pod chain checks the mark, then rejects', () => {
    const r = compile([{ peers: [{ cidr: '10.0.0.5' }], ports: [{ protocol: 'TCP', port: 8080 }], comment: 'ns/p ingress[0]' }]);
    const name = r.ruleChains[0]!.name;
    assert.ok(name.startsWith(`${P}R-`) && name.length <= 28, name);
    assert.deepEqual(r.lines, [CLEAR('C'), `-A C -m comment --comment "ns/p ingress[0]" -j ${name}`, CHECK('C'), ...REJECTS('C')]);
    assert.deepEqual(bodies(r), [[`-A R -s 10.0.0.5/32 -p tcp -m tcp --dport 8080 -g ${P}OK`]]);
  });
  it('ingress matches the source, egress the destination; ports are destination ports in both', () => {
    const rule = { peers: [{ cidr: '10.0.0.5' }], ports: [{ protocol: 'TCP' as const, port: 8080 }] };
    assert.deepEqual(bodies(compile([rule], 'egress')), [[`-A R -d 10.0.0.5/32 -p tcp -m tcp --dport 8080 -g ${P}OK`]]);
    assert.notEqual(compile([rule], 'egress').ruleChains[0]!.name, compile([rule], 'ingress').ruleChains[0]!.name);
  });
  it('several peers are OR, several ports are OR: one line per pair', () => {
    const r = compile([
      {
        peers: [{ cidr: '10.0.0.5' }, { cidr: '10.0.1.0/24' }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 8000, endPort: 8080 },
        ],
      },
    ]);
    assert.deepEqual(bodies(r), [
      [
        `-A R -s 10.0.0.5/32 -p udp -m udp --dport 53 -g ${P}OK`,
        `-A R -s 10.0.0.5/32 -p tcp -m tcp --dport 8000:8080 -g ${P}OK`,
        `-A R -s 10.0.1.0/24 -p udp -m udp --dport 53 -g ${P}OK`,
        `-A R -s 10.0.1.0/24 -p tcp -m tcp --dport 8000:8080 -g ${P}OK`,
      ],
    ]);
  });
  it('a port without a number matches the whole protocol; SCTP is supported', () => {
    const r = compile([{ peers: 'any', ports: [{ protocol: 'UDP' }, { protocol: 'SCTP', port: 9 }] }], 'egress');
    assert.deepEqual(bodies(r), [[`-A R -p udp -g ${P}OK`, `-A R -p sctp -m sctp --dport 9 -g ${P}OK`]]);
  });
  it('ipBlock except becomes the remaining CIDRs', () => {
    const r = compile([{ peers: [{ cidr: '10.0.0.0/24', except: ['10.0.0.128/25'] }], ports: 'any' }]);
    assert.deepEqual(bodies(r), [[`-A R -s 10.0.0.0/25 -g ${P}OK`]]);
  });
  it('identical rules share one chain, named by content whatever the comment', () => {
    const peers = [{ cidr: '10.0.0.5' }];
    const a = compilePodPolicy(B, 'C1', [{ peers, ports: 'any', comment: 'ns/a ingress[0]' }], 'ingress');
    const b = compilePodPolicy(B, 'C2', [{ peers: [{ cidr: '10.0.0.5' }], ports: 'any', comment: 'ns/b ingress[3]' }], 'ingress');
    assert.equal(a.ruleChains[0]!.name, b.ruleChains[0]!.name);
    const c = compilePodPolicy(B, 'C3', [{ peers: [{ cidr: '10.0.0.6' }], ports: 'any' }], 'ingress');
    assert.notEqual(c.ruleChains[0]!.name, a.ruleChains[0]!.name);
  });
  it('comments cannot break the restore syntax', () => {
    const r = compile([{ peers: 'any', ports: 'any', comment: 'a"b\nc' }]);
    assert.equal(r.lines[1], `-A C -m comment --comment "a_b_c" -g ${P}ALLOW`);
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

  it('golden: replies first, egress jumps before ingress jumps, pods sorted by IP', () => {
    const b = podChainName('mbx0', 'b', 'ingress');
    const aE = podChainName('mbx0', 'a', 'egress');
    const aI = podChainName('mbx0', 'a', 'ingress');
    const set = compilePolicyRuleSet({
      bridge: 'mbx0',
      pods: [
        pod('b', '10.9.0.20', { ingress: [{ peers: [{ cidr: '10.9.0.10' }], ports: [{ protocol: 'TCP', port: 80 }] }] }),
        pod('a', '10.9.0.10', { ingress: [], egress: [{ peers: 'any', ports: [{ protocol: 'UDP', port: 53 }] }] }),
      ],
    });
    const rIn = compilePodPolicy('mbx0', b, [{ peers: [{ cidr: '10.9.0.10' }], ports: [{ protocol: 'TCP', port: 80 }] }], 'ingress').ruleChains[0]!;
    const rOut = compilePodPolicy('mbx0', aE, [{ peers: 'any', ports: [{ protocol: 'UDP', port: 53 }] }], 'egress').ruleChains[0]!;
    const [first, second] = [rIn, rOut].sort((x, y) => (x.name < y.name ? -1 : 1));
    assert.equal(
      set.text,
      [
        '*filter',
        ':MBX-NP-mbx0 - [0:0]',
        `:${P}ALLOW - [0:0]`,
        `:${P}OK - [0:0]`,
        `:${aE} - [0:0]`,
        `:${aI} - [0:0]`,
        `:${b} - [0:0]`,
        `:${first!.name} - [0:0]`,
        `:${second!.name} - [0:0]`,
        '-A MBX-NP-mbx0 -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN',
        `-A MBX-NP-mbx0 -s 10.9.0.10/32 -m comment --comment "ns/a egress" -j ${aE}`,
        `-A MBX-NP-mbx0 -d 10.9.0.10/32 -m comment --comment "ns/a ingress" -j ${aI}`,
        `-A MBX-NP-mbx0 -d 10.9.0.20/32 -m comment --comment "ns/b ingress" -j ${b}`,
        `-A ${P}ALLOW -j MARK --set-xmark 0x0/0x10000`,
        `-A ${P}OK -j MARK --set-xmark 0x10000/0x10000`,
        CLEAR(aE),
        `-A ${aE} -j ${rOut.name}`,
        CHECK(aE),
        ...REJECTS(aE),
        CLEAR(aI),
        ...REJECTS(aI),
        CLEAR(b),
        `-A ${b} -j ${rIn.name}`,
        CHECK(b),
        ...REJECTS(b),
        ...first!.lines,
        ...second!.lines,
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.deepEqual(rIn.lines, [`-A ${rIn.name} -s 10.9.0.10/32 -p tcp -m tcp --dport 80 -g ${P}OK`]);
  });

  it('pods selected by the same rule share its chain: lines grow with pods + peers, not pods x peers', () => {
    const peers = Array.from({ length: 100 }, (_, i) => ({ cidr: `10.1.0.${i + 1}` }));
    const pods = Array.from({ length: 100 }, (_, i) => pod(`p${i}`, `10.2.0.${i + 1}`, { ingress: [{ peers, ports: 'any' as const }] }));
    const set = compilePolicyRuleSet({ bridge: 'mbx0', pods });
    const lines = set.text.split('\n').filter((l) => l.startsWith('-A ')).length;
    // per pod: dispatch jump, clear, rule jump, mark check, two rejects; the 100 peers once; the
    // reply rule, ALLOW and OK
    assert.equal(lines, 100 * 6 + 100 + 3, `${lines} lines`);
    assert.equal(set.chains.filter((c) => c.includes('-R-')).length, 1);
  });

  it('a pod not isolated in a direction gets no chain for it', () => {
    const set = compilePolicyRuleSet({ bridge: 'mbx0', pods: [pod('a', '10.0.0.1', { egress: [] })] });
    assert.deepEqual(set.chains, ['MBX-NP-mbx0', `${P}ALLOW`, `${P}OK`, podChainName('mbx0', 'a', 'egress')]);
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
