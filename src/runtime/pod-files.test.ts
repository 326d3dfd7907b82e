import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret } from '../api/types.js';
import {
  configMapFiles,
  containerMounts,
  materializeVolumes,
  podHostname,
  renderHostsFile,
  renderResolvConf,
  secretFiles,
  writeAtomicDir,
  writePodEtcFiles,
} from './pod-files.js';

const cm = (data: Record<string, string>, binaryData?: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg', namespace: 'default' },
  data,
  binaryData,
});

test('hosts file: localhost lines, pod IP with hostname', () => {
  const text = renderHostsFile({ podIP: '10.244.0.5', hostname: 'web-1', namespace: 'default', clusterDomain: 'cluster.local' });
  assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(text, /^::1\tlocalhost ip6-localhost ip6-loopback$/m);
  assert.match(text, /^10\.244\.0\.5\tweb-1$/m);
});

test('hosts file: subdomain gives the FQDN first, then host aliases', () => {
  const text = renderHostsFile({
    podIP: '10.244.0.6',
    hostname: 'db-0',
    subdomain: 'db',
    namespace: 'shop',
    clusterDomain: 'cluster.local',
    hostAliases: [{ ip: '1.2.3.4', hostnames: ['foo.local', 'bar.local'] }],
  });
  assert.match(text, /^10\.244\.0\.6\tdb-0\.db\.shop\.svc\.cluster\.local\tdb-0$/m);
  assert.match(text, /# Entries added by HostAliases\.\n1\.2\.3\.4\tfoo\.local\tbar\.local\n$/);
});

test('resolv.conf ClusterFirst: cluster DNS, Kubernetes search path, ndots:5', () => {
  const text = renderResolvConf({ namespace: 'shop', clusterDomain: 'cluster.local', dnsServer: '10.244.0.1' });
  assert.equal(text, 'nameserver 10.244.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
});

test('resolv.conf: dnsConfig merges; None uses only dnsConfig; Default copies the host', () => {
  const merged = renderResolvConf({
    namespace: 'a',
    clusterDomain: 'c.l',
    dnsServer: '10.0.0.1',
    dnsConfig: { nameservers: ['9.9.9.9'], searches: ['corp'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
  });
  assert.match(merged, /^nameserver 10\.0\.0\.1\nnameserver 9\.9\.9\.9\n/);
  assert.match(merged, /search a\.svc\.c\.l svc\.c\.l c\.l corp/);
  assert.match(merged, /options ndots:2 edns0/);
  const none = renderResolvConf({ namespace: 'a', clusterDomain: 'c.l', dnsServer: '10.0.0.1', dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'] } });
  assert.equal(none, 'nameserver 1.1.1.1\n');
  const def = renderResolvConf({
    namespace: 'a',
    clusterDomain: 'c.l',
    dnsServer: '10.0.0.1',
    dnsPolicy: 'Default',
    hostResolvConf: '# host\nnameserver 192.168.1.1\nsearch home\n',
  });
  assert.equal(def, 'nameserver 192.168.1.1\nsearch home\n');
});

test('podHostname: spec.hostname wins, else the name cut to 63', () => {
  assert.equal(podHostname({ metadata: { name: 'p' }, spec: { containers: [], hostname: 'h' } }), 'h');
  assert.equal(podHostname({ metadata: { name: 'x'.repeat(70) }, spec: { containers: [] } }).length, 63);
});

test('configMap projection: all keys (data + binaryData) with defaultMode, or items with paths and modes', () => {
  const all = configMapFiles(cm({ b: 'B', a: 'A' }, { bin: Buffer.from([1, 2]).toString('base64') }), {
    name: 'v',
    configMap: { name: 'cfg', defaultMode: 0o600 },
  });
  assert.deepEqual(all.map((f) => [f.path, f.mode]), [['a', 0o600], ['b', 0o600], ['bin', 0o600]]);
  assert.deepEqual([...all[2]!.content], [1, 2]);
  const items = configMapFiles(cm({ a: 'A', b: 'B' }), {
    name: 'v',
    configMap: { name: 'cfg', items: [{ key: 'a', path: 'conf/app.conf', mode: 0o400 }] },
  });
  assert.deepEqual(items.map((f) => [f.path, f.mode, f.content.toString()]), [['conf/app.conf', 0o400, 'A']]);
});

test('configMap items: a missing key fails unless optional; a path with .. is refused', () => {
  assert.throws(() => configMapFiles(cm({}), { name: 'v', configMap: { name: 'cfg', items: [{ key: 'x', path: 'x' }] } }), {
    code: 'MBX_RUNTIME_VOLUME_KEY_NOT_FOUND',
  });
  assert.deepEqual(configMapFiles(cm({}), { name: 'v', configMap: { name: 'cfg', optional: true, items: [{ key: 'x', path: 'x' }] } }), []);
  assert.throws(() => configMapFiles(cm({ a: 'A' }), { name: 'v', configMap: { name: 'cfg', items: [{ key: 'a', path: '../etc/x' }] } }), {
    code: 'MBX_RUNTIME_INVALID_SUBPATH',
  });
});

test('secret projection decodes base64 data, stringData wins', () => {
  const s: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data: { user: Buffer.from('admin').toString('base64'), pw: Buffer.from('old').toString('base64') },
    stringData: { pw: 'new' },
  };
  const files = secretFiles(s, { name: 'v', secret: { secretName: 's' } });
  assert.deepEqual(files.map((f) => [f.path, f.content.toString(), f.mode]), [['pw', 'new', 0o644], ['user', 'admin', 0o644]]);
});

test('atomic writer: ..data link, top-level links, modes; an update swaps content and drops old keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-podfiles-'));
  try {
    await writeAtomicDir(dir, [
      { path: 'a', content: Buffer.from('1'), mode: 0o600 },
      { path: 'sub/b', content: Buffer.from('2'), mode: 0o644 },
    ]);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), '1');
    assert.equal(await readFile(join(dir, 'sub/b'), 'utf8'), '2');
    assert.equal(await readlink(join(dir, 'a')), '..data/a');
    assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o600);
    await writeAtomicDir(dir, [{ path: 'a', content: Buffer.from('3'), mode: 0o644 }]);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), '3');
    await assert.rejects(stat(join(dir, 'sub')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('volumes → mounts: emptyDir, configMap (always ro), hostPath, subPath file and folder, unknown volume', async () => {
  const podDir = await mkdtemp(join(tmpdir(), 'mbx-podfiles-'));
  try {
    const hostDir = join(podDir, 'host-data');
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', uid: 'u' },
      spec: {
        containers: [],
        volumes: [
          { name: 'scratch', emptyDir: {} },
          { name: 'conf', configMap: { name: 'cfg' } },
          { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
        ],
      },
    };
    const vols = await materializeVolumes(pod, podDir, {
      configMap: (ns, name) => (ns === 'default' && name === 'cfg' ? cm({ 'app.conf': 'x=1' }) : undefined),
      secret: () => undefined,
    });
    assert.ok((await stat(hostDir)).isDirectory(), 'DirectoryOrCreate created the host folder');
    const mounts = await containerMounts(
      {
        name: 'c',
        volumeMounts: [
          { name: 'scratch', mountPath: '/scratch' },
          { name: 'conf', mountPath: '/etc/app' },
          { name: 'conf', mountPath: '/etc/app.conf', subPath: 'app.conf' },
          { name: 'host', mountPath: '/data', readOnly: true, subPath: 'nested/dir' },
        ],
      },
      vols,
    );
    assert.equal(mounts[0]!.source, join(podDir, 'volumes/empty-dir/scratch'));
    assert.equal(mounts[0]!.readOnly, false);
    assert.equal(mounts[1]!.readOnly, true, 'configMap volumes are read-only');
    assert.equal(await readFile(mounts[2]!.source, 'utf8'), 'x=1');
    assert.ok(mounts[2]!.source.includes('/..'), 'subPath of a configMap binds the real file behind ..data');
    assert.equal(mounts[3]!.source, join(hostDir, 'nested/dir'));
    assert.ok((await stat(mounts[3]!.source)).isDirectory(), 'missing subPath folder is created');
    assert.equal(mounts[3]!.readOnly, true);
    await assert.rejects(containerMounts({ name: 'c', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, vols), {
      code: 'MBX_RUNTIME_UNKNOWN_VOLUME',
    });
    await assert.rejects(containerMounts({ name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: '../..' }] }, vols), {
      code: 'MBX_RUNTIME_INVALID_SUBPATH',
    });
  } finally {
    await rm(podDir, { recursive: true, force: true });
  }
});

test('subPath that escapes through a symlink is refused', async () => {
  const podDir = await mkdtemp(join(tmpdir(), 'mbx-podfiles-'));
  try {
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [], volumes: [{ name: 'scratch', emptyDir: {} }] },
    };
    const vols = await materializeVolumes(pod, podDir, { configMap: () => undefined, secret: () => undefined });
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc', join(podDir, 'volumes/empty-dir/scratch/evil'));
    await assert.rejects(containerMounts({ name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: 'evil' }] }, vols), {
      code: 'MBX_RUNTIME_INVALID_SUBPATH',
    });
  } finally {
    await rm(podDir, { recursive: true, force: true });
  }
});

test('missing configMap: error unless optional; hostPath type Directory must exist', async () => {
  const podDir = await mkdtemp(join(tmpdir(), 'mbx-podfiles-'));
  try {
    const base = { apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name: 'p' } };
    const lookup = { configMap: () => undefined, secret: () => undefined };
    await assert.rejects(
      materializeVolumes({ ...base, spec: { containers: [], volumes: [{ name: 'c', configMap: { name: 'gone' } }] } }, podDir, lookup),
      { code: 'MBX_RUNTIME_VOLUME_SOURCE_NOT_FOUND' },
    );
    const ok = await materializeVolumes(
      { ...base, spec: { containers: [], volumes: [{ name: 'c', configMap: { name: 'gone', optional: true } }] } },
      podDir,
      lookup,
    );
    assert.equal(ok.get('c')?.kind, 'configMap');
    await assert.rejects(
      materializeVolumes(
        { ...base, spec: { containers: [], volumes: [{ name: 'h', hostPath: { path: join(podDir, 'nope'), type: 'Directory' } }] } },
        podDir,
        lookup,
      ),
      { code: 'MBX_RUNTIME_HOSTPATH_TYPE' },
    );
  } finally {
    await rm(podDir, { recursive: true, force: true });
  }
});

test('writePodEtcFiles writes hosts, resolv.conf and hostname under <podDir>/etc', async () => {
  const podDir = await mkdtemp(join(tmpdir(), 'mbx-podfiles-'));
  try {
    await mkdir(podDir, { recursive: true });
    const p = await writePodEtcFiles(podDir, { hosts: 'H\n', resolvConf: 'R\n', hostname: 'web' });
    assert.equal(await readFile(p.hostsPath, 'utf8'), 'H\n');
    assert.equal(await readFile(p.resolvConfPath, 'utf8'), 'R\n');
    assert.equal(await readFile(p.hostnamePath, 'utf8'), 'web\n');
    await writeFile(p.hostsPath, 'changed');
  } finally {
    await rm(podDir, { recursive: true, force: true });
  }
});
