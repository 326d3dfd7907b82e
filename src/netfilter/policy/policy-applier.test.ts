import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunOptions, RunResult } from '../../core/exec.js';
import { dispatchChainFor, podChainName } from './compile-policy-rule-set.js';
import { PolicyApplier } from './policy-applier.js';

interface Call {
  file: string;
  args: string[];
  input?: string;
}

/** A fake iptables with a FORWARD chain of hooks and a set of chains. */
function fakeIptables(opts: { failRestore?: boolean; chains?: string[] } = {}) {
  const calls: Call[] = [];
  const hooks: string[] = [];
  const chains = new Set(opts.chains ?? []);
  const state = { failRestore: opts.failRestore ?? false };
  const res = (code: number, stdout = '', stderr = ''): RunResult => ({ code, signal: null, stdout, stderr });
  const run = async (file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> => {
    calls.push({ file, args: [...args], ...(o.input !== undefined ? { input: String(o.input) } : {}) });
    if (file === 'iptables-save') return res(0, ['*filter', ':FORWARD ACCEPT [0:0]', ...[...chains].map((c) => `:${c} - [0:0]`), 'COMMIT'].join('\n'));
    if (file === 'iptables-restore') {
      if (state.failRestore) return res(2, '', 'iptables-restore: line 4 failed');
      const text = String(o.input);
      for (const m of text.matchAll(/^:(\S+) /gm)) chains.add(m[1]!);
      for (const m of text.matchAll(/^-X (\S+)$/gm)) chains.delete(m[1]!);
      return res(0);
    }
    const [, , op, , ...rest] = args; // -w 5 OP FORWARD spec...
    const spec = rest.join(' ');
    if (op === '-C') return res(hooks.includes(spec) ? 0 : 1);
    if (op === '-I') {
      hooks.unshift(rest.slice(1).join(' ')); // after the position

      return res(0);
    }
    if (op === '-D') {
      const i = hooks.indexOf(spec);
      if (i < 0) return res(1);
      hooks.splice(i, 1);
      return res(0);
    }
    throw new Error(`unexpected ${file} ${args.join(' ')}`);
  };
  return { run, calls, hooks, chains, state };
}

const pod = { id: 'uid-1', name: 'ns/a', ip: '10.0.0.2', ingress: [] };

describe('PolicyApplier', () => {
  it('applies once, hooks FORWARD for both directions of the bridge, and skips unchanged rule sets', async () => {
    const f = fakeIptables();
    const applier = new PolicyApplier({ bridge: 'mbx0', run: f.run, ensureBridgeNetfilter: false });
    const first = await applier.apply([pod]);
    assert.equal(first.changed, true);
    assert.equal(f.hooks.length, 2);
    assert.ok(f.hooks.every((h) => h.endsWith(`-j ${dispatchChainFor('mbx0')}`)));
    assert.ok(f.hooks.some((h) => h.startsWith('-i mbx0 ')) && f.hooks.some((h) => h.startsWith('! -i mbx0 -o mbx0 ')));
    const calls = f.calls.length;
    const second = await applier.apply([{ ...pod }]);
    assert.equal(second.changed, false);
    assert.equal(f.calls.length, calls, 'nothing run for an unchanged rule set');
    const third = await applier.apply([]);
    assert.equal(third.changed, true);
    assert.equal(third.deleted, 3, 'the pod chain and the ALLOW/OK helpers no pod needs any more');
    assert.ok(!f.chains.has(podChainName('mbx0', 'uid-1', 'ingress')));
    assert.equal(f.calls.filter((c) => c.args.includes('-C')).length, 2, 'hooks checked once per run, not per apply');
  });

  it('a refused restore throws MBX_NETPOL_RESTORE_FAILED and the next apply tries again', async () => {
    const f = fakeIptables({ failRestore: true });
    const applier = new PolicyApplier({ bridge: 'mbx0', run: f.run, ensureBridgeNetfilter: false });
    await assert.rejects(applier.apply([pod]), (err: Error & { code?: string }) => err.code === 'MBX_NETPOL_RESTORE_FAILED' && /line 4 failed/.test(err.message));
    f.state.failRestore = false;
    assert.equal((await applier.apply([pod])).changed, true);
  });

  it('invalidate() makes the next apply write again, re-read the kernel and re-check the hooks', async () => {
    const f = fakeIptables();
    const applier = new PolicyApplier({ bridge: 'mbx0', run: f.run, ensureBridgeNetfilter: false });
    await applier.apply([pod]);
    f.hooks.length = 0; // someone deleted our hooks
    applier.invalidate();
    assert.equal((await applier.apply([pod])).changed, true);
    assert.equal(f.hooks.length, 2);
    assert.equal(f.calls.filter((c) => c.file === 'iptables-save').length, 2);
  });

  it('teardown removes every copy of the hooks and every chain of the bridge, and only those', async () => {
    const other = podChainName('mbx1', 'x', 'ingress');
    const f = fakeIptables({ chains: [other, 'MBX-3F9A1C-SERVICES'] });
    const applier = new PolicyApplier({ bridge: 'mbx0', run: f.run, ensureBridgeNetfilter: false });
    await applier.apply([pod]);
    f.hooks.push(f.hooks[0]!); // a duplicate from some earlier run
    await applier.teardown();
    assert.deepEqual(f.hooks, []);
    assert.deepEqual([...f.chains].sort(), ['MBX-3F9A1C-SERVICES', other].sort());
    await applier.teardown(); // idempotent
  });
});
