import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniNetwork } from './cni-network.js';
import { cniError, ok, FakePluginExec } from './fake-plugin-exec.js';
import type { Attachment, CniConflist, CniResult } from './types.js';

function conflist(name = 'mbxunit', dataDir = '/nonexistent'): CniConflist {
  return {
    cniVersion: '1.0.0',
    name,
    plugins: [
      { type: 'bridge', bridge: 'mbxu0', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.201.9.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true, bandwidth: false }, snat: true },
      { type: 'loopback' },
    ],
  };
}

const att = (id = 'c1', ifName = 'eth0'): Attachment => ({
  containerId: id,
  netns: `/run/netns/${id}`,
  ifName,
  args: { K8S_POD_NAME: 'web' },
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }], bandwidth: { x: 1 } },
});

async function setup(list?: CniConflist) {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-cni-unit-'));
  const exec = new FakePluginExec(['bridge', 'portmap', 'loopback']);
  const net = new CniNetwork({ conflist: list ?? conflist('mbxunit', join(dir, 'ipam')), binDirs: ['/fake/bin'], cacheDir: dir, exec });
  return { dir, exec, net, done: () => rm(dir, { recursive: true, force: true }) };
}

test('ADD runs plugins in order, threads prevResult, injects name/cniVersion/runtimeConfig, caches before returning', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    let cachedDuringLastPlugin: unknown;
    exec.on('loopback', 'ADD', async (call) => {
      cachedDuringLastPlugin = JSON.parse(await readFile(join(dir, 'results', 'mbxunit-c1-eth0'), 'utf8')).result;
      return ok(call.conf.prevResult);
    });
    const result = await net.add(att());
    assert.deepEqual(exec.commands(), ['bridge ADD', 'portmap ADD', 'loopback ADD']);
    const [bridge, portmap, loopback] = exec.calls;
    assert.equal(bridge?.conf.name, 'mbxunit');
    assert.equal(bridge?.conf.cniVersion, '1.0.0');
    assert.equal(bridge?.conf.prevResult, undefined);
    assert.equal(bridge?.conf.runtimeConfig, undefined, 'bridge declares no capabilities');
    assert.deepEqual((portmap?.conf.prevResult as CniResult).interfaces, [{ name: 'bridge-if' }]);
    assert.deepEqual(portmap?.conf.runtimeConfig, { portMappings: att().capabilityArgs?.portMappings }, 'only declared+enabled capabilities');
    assert.deepEqual((loopback?.conf.prevResult as CniResult).interfaces?.map((i) => i.name), ['bridge-if', 'portmap-if']);
    assert.equal(bridge?.env.CNI_CONTAINERID, 'c1');
    assert.equal(bridge?.env.CNI_NETNS, '/run/netns/c1');
    assert.equal(bridge?.env.CNI_IFNAME, 'eth0');
    assert.equal(bridge?.env.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAME=web');
    assert.equal(bridge?.env.CNI_PATH, '/fake/bin');
    assert.equal(cachedDuringLastPlugin, null, 'an unfinished ADD is cached with result null');
    const cached = JSON.parse(await readFile(join(dir, 'results', 'mbxunit-c1-eth0'), 'utf8'));
    assert.deepEqual(cached.result, result);
    assert.equal(cached.config.name, 'mbxunit');
    const listed = await net.listAttachments();
    assert.deepEqual(listed.map((a) => [a.containerId, a.ifName, a.result?.interfaces?.length]), [['c1', 'eth0', 2]]);
  } finally {
    await done();
  }
});

test('DEL runs in reverse with the cached result, removes the cache, and is idempotent', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    const result = await net.add(att());
    exec.calls.length = 0;
    await net.del(att());
    assert.deepEqual(exec.commands(), ['loopback DEL', 'portmap DEL', 'bridge DEL']);
    for (const call of exec.calls) assert.deepEqual(call.conf.prevResult, result);
    assert.deepEqual(await readdir(join(dir, 'results')), []);
    exec.calls.length = 0;
    await net.del(att());
    assert.deepEqual(exec.commands(), ['loopback DEL', 'portmap DEL', 'bridge DEL'], 'second DEL still runs the plugins');
    for (const call of exec.calls) assert.equal(call.conf.prevResult, undefined, 'nothing cached, so no prevResult');
    await net.del({ containerId: 'never-added', netns: '', ifName: 'eth0' });
  } finally {
    await done();
  }
});

test('DEL uses the config the attachment was made with, even after the conflist changed', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    await net.add(att());
    const changed = conflist('mbxunit', join(dir, 'other-ipam'));
    changed.plugins = changed.plugins.filter((p) => p.type !== 'portmap');
    const net2 = new CniNetwork({ conflist: changed, binDirs: ['/fake/bin'], cacheDir: dir, exec });
    exec.calls.length = 0;
    await net2.del(att());
    assert.deepEqual(exec.commands(), ['loopback DEL', 'portmap DEL', 'bridge DEL']);
  } finally {
    await done();
  }
});

test('a failing middle plugin: ADD runs DEL over all plugins in reverse, clears the cache, keeps the CNI code', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    exec.on('portmap', 'ADD', () => cniError(11, 'iptables lock held', 'try later'));
    const err = await net.add(att()).then(
      () => assert.fail('ADD should fail'),
      (e: unknown) => e as import('../core/errors.js').MeshboxError,
    );
    assert.equal(err.code, 'MBX_CNI_PLUGIN_FAILED');
    assert.equal(err.retryable, true, 'CNI code 11 means try again later');
    assert.equal(err.details?.cniCode, 11);
    assert.equal(err.details?.plugin, 'portmap');
    assert.match(err.message, /"portmap".*ADD.*c1.*iptables lock held \(try later\)/);
    assert.deepEqual(exec.commands(), ['bridge ADD', 'portmap ADD', 'loopback DEL', 'portmap DEL', 'bridge DEL']);
    assert.ok(exec.calls[2]?.conf.prevResult, 'cleanup DEL gets the partial result');
    assert.deepEqual(await readdir(join(dir, 'results')), []);
  } finally {
    await done();
  }
});

test('a non-retryable plugin error and a plugin that prints no JSON', async () => {
  const { exec, net, done } = await setup();
  try {
    exec.on('bridge', 'ADD', () => cniError(7, 'bad subnet'));
    await assert.rejects(net.add(att()), (e: import('../core/errors.js').MeshboxError) => {
      assert.equal(e.retryable, false);
      assert.match(e.message, /fix the conflist/);
      return true;
    });
    exec.on('bridge', 'ADD', () => ({ code: 2, stdout: '', stderr: 'panic: boom', timedOut: false }));
    await assert.rejects(net.add(att('c2')), /"bridge" failed on ADD for container c2 interface eth0: panic: boom/);
    exec.on('bridge', 'ADD', () => ok('not a result'));
    await assert.rejects(net.add(att('c3')), { code: 'MBX_CNI_PLUGIN_BAD_OUTPUT' });
    exec.on('bridge', 'ADD', () => ({ code: null, stdout: '', stderr: '', timedOut: true }));
    await assert.rejects(net.add(att('c4')), { code: 'MBX_CNI_PLUGIN_TIMEOUT', retryable: true });
  } finally {
    await done();
  }
});

test('a missing plugin fails before anything runs and says which package to install', async () => {
  const { exec, net, done } = await setup();
  try {
    exec.installed.delete('portmap');
    await assert.rejects(net.add(att()), (e: import('../core/errors.js').MeshboxError) => {
      assert.equal(e.code, 'MBX_CNI_PLUGIN_NOT_FOUND');
      assert.match(e.message, /"portmap".*containernetworking-plugins/);
      return true;
    });
    assert.deepEqual(exec.commands(), []);
    const status = await net.status();
    assert.equal(status.ready, false);
    assert.equal(status.plugins.find((p) => p.type === 'portmap')?.error?.code, 'MBX_CNI_PLUGIN_NOT_FOUND');
    assert.deepEqual(status.plugins.filter((p) => !p.error).map((p) => p.type), ['bridge', 'loopback']);
  } finally {
    await done();
  }
});

test('status reports a plugin that does not speak the conflist version', async () => {
  const { exec, net, done } = await setup();
  try {
    exec.on('loopback', 'VERSION', () => ok({ cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0'] }));
    const status = await net.status();
    assert.equal(status.ready, false);
    assert.equal(status.plugins.find((p) => p.type === 'loopback')?.error?.code, 'MBX_CNI_PLUGIN_INCOMPATIBLE');
  } finally {
    await done();
  }
});

test('CHECK needs a cached result and runs every plugin in order with it', async () => {
  const { exec, net, done } = await setup();
  try {
    await assert.rejects(net.check(att()), { code: 'MBX_CNI_NOT_ATTACHED' });
    const result = await net.add(att());
    exec.calls.length = 0;
    await net.check(att());
    assert.deepEqual(exec.commands(), ['bridge CHECK', 'portmap CHECK', 'loopback CHECK']);
    for (const call of exec.calls) assert.deepEqual(call.conf.prevResult, result);
    exec.on('bridge', 'CHECK', () => cniError(999, 'veth gone'));
    await assert.rejects(net.check(att()), /"bridge" failed on CHECK.*veth gone/);
  } finally {
    await done();
  }
});

test('CHECK tolerates only the known portmap IPv6 bug, and only for IPv4-only pods', async () => {
  const { exec, net, done } = await setup();
  try {
    exec.on('bridge', 'ADD', () => ok({ cniVersion: '1.0.0', ips: [{ address: '10.201.9.2/24' }] }));
    exec.on('portmap', 'ADD', (c) => ok(c.conf.prevResult));
    await net.add(att());
    exec.on('portmap', 'CHECK', () => cniError(999, 'could not check ipv6 dnat: chain CNI-DN-x not found in iptables table nat'));
    await net.check(att());
    exec.on('portmap', 'CHECK', () => cniError(999, 'could not check ipv4 dnat: chain CNI-DN-x not found in iptables table nat'));
    await assert.rejects(net.check(att()), /ipv4 dnat/);
  } finally {
    await done();
  }
});

test('ADD refuses an attachment that is already attached and repairs one whose ADD never finished', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    await net.add(att());
    await assert.rejects(net.add(att()), { code: 'MBX_CNI_ALREADY_ATTACHED' });
    const file = join(dir, 'results', 'mbxunit-c1-eth0');
    const entry = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...entry, result: null }));
    exec.calls.length = 0;
    await net.add(att());
    assert.deepEqual(exec.commands(), [
      'loopback DEL', 'portmap DEL', 'bridge DEL', 'bridge ADD', 'portmap ADD', 'loopback ADD',
    ]);
    await writeFile(file, '{not json');
    exec.calls.length = 0;
    await net.del(att());
    assert.deepEqual(exec.commands(), ['loopback DEL', 'portmap DEL', 'bridge DEL'], 'a corrupt cache does not block DEL');
    assert.deepEqual(await readdir(join(dir, 'results')), []);
  } finally {
    await done();
  }
});

test('DEL that fails keeps the cache entry so it can be retried', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    await net.add(att());
    exec.on('portmap', 'DEL', () => cniError(5, 'iptables: resource busy'));
    exec.calls.length = 0;
    await assert.rejects(net.del(att()), (e: import('../core/errors.js').MeshboxError) => {
      assert.equal(e.code, 'MBX_CNI_DEL_FAILED');
      assert.equal((e.cause as import('../core/errors.js').MeshboxError).details?.plugin, 'portmap');
      return true;
    });
    assert.deepEqual(exec.commands(), ['loopback DEL', 'portmap DEL', 'bridge DEL'], 'goes on past the failure');
    assert.deepEqual(await readdir(join(dir, 'results')), ['mbxunit-c1-eth0']);
    exec.behaviours.delete('portmap DEL');
    await net.del(att());
    assert.deepEqual(await readdir(join(dir, 'results')), []);
  } finally {
    await done();
  }
});

test('GC deletes attachments not in the valid list with their cached config and frees unowned leases', async () => {
  const { dir, exec, net, done } = await setup();
  try {
    await net.add(att('keep'));
    await net.add(att('gone'));
    await net.add(att('stuck'));
    const leases = join(dir, 'ipam', 'mbxunit');
    await mkdir(leases, { recursive: true });
    await writeFile(join(leases, '10.201.9.2'), 'keep\r\neth0');
    await writeFile(join(leases, '10.201.9.3'), 'gone\r\neth0');
    await writeFile(join(leases, '10.201.9.4'), 'stuck\r\neth0');
    await writeFile(join(leases, '10.201.9.5'), 'orphan-from-a-crash\r\neth0');
    await writeFile(join(leases, 'last_reserved_ip.0'), '10.201.9.5');
    await writeFile(join(leases, 'lock'), '');
    await writeFile(join(dir, 'results', 'mbxunit-bad-eth0'), 'garbage');
    exec.on('bridge', 'DEL', (c) => (c.env.CNI_CONTAINERID === 'stuck' ? cniError(5, 'device busy') : ok()));
    exec.calls.length = 0;
    const report = await net.gc([{ containerId: 'keep', ifName: 'eth0' }]);
    assert.deepEqual(report.removed, [{ containerId: 'gone', ifName: 'eth0' }]);
    assert.deepEqual(report.failed.map((f) => f.containerId), ['stuck']);
    assert.deepEqual(report.releasedIps.map((r) => r.ip).sort(), ['10.201.9.3', '10.201.9.5']);
    assert.equal(report.corruptCacheFiles.length, 1);
    assert.deepEqual((await readdir(leases)).sort(), ['10.201.9.2', '10.201.9.4', 'last_reserved_ip.0', 'lock']);
    assert.deepEqual((await net.listAttachments()).map((a) => a.containerId).sort(), ['keep', 'stuck']);
    assert.ok(!exec.calls.some((c) => c.env.CNI_CONTAINERID === 'keep'), 'valid attachments are not touched');
  } finally {
    await done();
  }
});

test('GC never overlaps ADD/DEL on the network, and one container never has two operations at once', async () => {
  const { exec, net, done } = await setup();
  try {
    let active = 0;
    let maxActivePerContainer = 0;
    const perContainer = new Map<string, number>();
    const events: string[] = [];
    const slow = (label: string) => async (c: import('./fake-plugin-exec.js').FakeCall) => {
      const id = c.env.CNI_CONTAINERID ?? '';
      perContainer.set(id, (perContainer.get(id) ?? 0) + 1);
      maxActivePerContainer = Math.max(maxActivePerContainer, perContainer.get(id) ?? 0);
      active++;
      events.push(`${label}-${c.command}+${id}:${active}`);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      perContainer.set(id, (perContainer.get(id) ?? 1) - 1);
      return c.command === 'ADD' ? ok(c.conf.prevResult ?? { cniVersion: '1.0.0' }) : ok();
    };
    exec.on('bridge', '*', slow('bridge'));
    await net.add(att('old'));
    events.length = 0;
    const ops = [
      net.add(att('a')),
      net.add(att('b')),
      net.gc([{ containerId: 'a', ifName: 'eth0' }, { containerId: 'b', ifName: 'eth0' }]),
      net.del(att('a')),
      net.add(att('a')),
      net.check(att('b')),
    ];
    await Promise.all(ops);
    assert.equal(maxActivePerContainer, 1, 'no two operations for one container at once');
    const gcIndex = events.findIndex((e) => e.startsWith('bridge-DEL+old'));
    assert.ok(gcIndex >= 0, 'GC ran the DEL of the stale attachment');
    assert.ok(events.slice(0, gcIndex).some((e) => e.startsWith('bridge-ADD+')), 'ADDs that came first ran first');
    assert.match(events[gcIndex] ?? '', /:1$/, 'nothing else ran while GC held the network');
    assert.deepEqual((await net.listAttachments()).map((a) => a.containerId).sort(), ['a', 'b']);
  } finally {
    await done();
  }
});

test('invalid attachments and conflists are rejected before any plugin runs', async () => {
  const { exec, net, done } = await setup();
  try {
    await assert.rejects(net.add({ ...att(), containerId: '../x' }), { code: 'MBX_CNI_ATTACHMENT_INVALID' });
    await assert.rejects(net.add({ ...att(), ifName: 'a-very-long-ifname' }), { code: 'MBX_CNI_ATTACHMENT_INVALID' });
    await assert.rejects(net.add({ ...att(), netns: '' }), { code: 'MBX_CNI_ATTACHMENT_INVALID' });
    await assert.rejects(net.add({ ...att(), args: { 'A;B': '1' } }), { code: 'MBX_CNI_ATTACHMENT_INVALID' });
    const pm = { hostPort: 80, containerPort: 80, protocol: 'tcp' as const };
    for (const bad of [{ ...pm, hostPort: 0 }, { ...pm, containerPort: 70000 }, { ...pm, protocol: 'icmp' }, { ...pm, hostIP: 'x' }]) {
      await assert.rejects(net.add({ ...att(), capabilityArgs: { portMappings: [bad as typeof pm] } }), /portMappings\[0\]/);
    }
    assert.throws(() => new CniNetwork({ conflist: { ...conflist(), plugins: [] }, binDirs: [], cacheDir: '/tmp/x' }), {
      code: 'MBX_CNI_CONFIG_INVALID',
    });
    assert.throws(() => new CniNetwork({ conflist: { ...conflist(), name: 'a/b' }, binDirs: [], cacheDir: '/tmp/x' }), {
      code: 'MBX_CNI_CONFIG_INVALID',
    });
    assert.deepEqual(exec.commands(), []);
  } finally {
    await done();
  }
});

test('fuzz: whatever a plugin prints, ADD either succeeds or fails with a coded error naming the plugin', async () => {
  const { exec, net, done } = await setup();
  try {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['{', '}', '[', ']', '"cniVersion"', ':', '"1.0.0"', ',', '"ips"', '"address"', 'null', '1', '"interfaces"', '"code"', '"msg"', 'x'];
    const garbage = () => Array.from({ length: Math.floor(rand() * 12) }, () => pieces[Math.floor(rand() * pieces.length)]).join('');
    for (let i = 0; i < 300; i++) {
      const stdout = garbage();
      const code = rand() < 0.5 ? 0 : 1;
      exec.on('bridge', 'ADD', () => ({ code, stdout, stderr: '', timedOut: false }));
      try {
        await net.add(att(`f${i}`));
        await net.del(att(`f${i}`));
      } catch (err) {
        const e = err as import('../core/errors.js').MeshboxError;
        assert.ok(typeof e.code === 'string' && e.code.startsWith('MBX_CNI_'), `stdout ${stdout} gave ${String(err)}`);
        assert.equal(e.details?.plugin ?? 'bridge', 'bridge');
        assert.match(e.message, /bridge/);
      }
    }
  } finally {
    await done();
  }
});
