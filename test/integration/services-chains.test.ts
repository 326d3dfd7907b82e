/**
 * ServiceChains against the real iptables, without pods: two daemons' rule sets side by side, a
 * restart that adopts and prunes the chains it finds, and teardowns that remove exactly their own.
 * The VIPs (10.206.<r>.0/24) and endpoints (10.205.<r>.0/24) route nowhere; the bridges do not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { ServiceChains } from '../../src/netfilter/service-chains.js';
import type { ServicePortRule } from '../../src/netfilter/service-rules.js';

const skip = process.getuid?.() !== 0 ? 'needs root (iptables)' : false;

async function linesWith(prefix: string): Promise<string[]> {
  const saved = await run('iptables-save', []);
  return saved.stdout.split('\n').filter((l) => l.includes(prefix));
}

function rules(r: number, services: number): ServicePortRule[] {
  return Array.from({ length: services }, (_, i) => ({
    name: `default/s${i}:http`,
    clusterIP: `10.206.${r}.${i + 2}`,
    port: 80,
    protocol: 'TCP' as const,
    endpoints: [
      { ip: `10.205.${r}.${i + 2}`, port: 8080 },
      { ip: `10.205.${r}.${i + 102}`, port: 8080 },
    ],
  }));
}

test('two prefixes coexist; a restart adopts and prunes; teardown removes only its own', { skip, timeout: 60_000 }, async () => {
  const r = Math.floor(Math.random() * 256);
  const a = new ServiceChains({ bridge: `mbxa${randomHex(6)}`, podCidr: `10.205.${r}.0/24`, serviceCidr: `10.206.${r}.0/24` });
  const b = new ServiceChains({ bridge: `mbxb${randomHex(6)}`, podCidr: `10.205.${r}.0/24` });
  assert.notEqual(a.prefix, b.prefix);
  try {
    await a.setup();
    await b.setup();
    await a.apply(rules(r, 3));
    await b.apply(rules(r, 2));
    // 4 fixed + 3 SVC + 6 SEP nat chains for a; 4 + 2 + 4 for b
    assert.equal((await a.savedChains('nat')).size, 13);
    assert.equal((await b.savedChains('nat')).size, 10);

    // a restarted daemon: a fresh instance with the same prefix finds the chains and prunes the stale ones
    const a2 = new ServiceChains({ bridge: 'unused', prefix: a.prefix, podCidr: `10.205.${r}.0/24`, serviceCidr: `10.206.${r}.0/24` });
    await a2.setup();
    await a2.apply(rules(r, 1));
    assert.equal((await a2.savedChains('nat')).size, 4 + 1 + 2);
    // setup twice adds no second jump
    await a2.setup();
    const jumps = (await linesWith(a.prefix)).filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) /.test(l));
    assert.equal(jumps.length, 6, jumps.join('\n'));

    await a2.teardown();
    assert.deepEqual(await linesWith(a.prefix), []);
    // b is untouched
    assert.equal((await b.savedChains('nat')).size, 10);
    assert.ok((await linesWith(b.prefix)).some((l) => l.includes(`--to-destination 10.205.${r}.3:8080`)));
  } finally {
    await a.teardown().catch(() => undefined);
    await b.teardown().catch(() => undefined);
  }
  assert.deepEqual(await linesWith(b.prefix), []);
});
