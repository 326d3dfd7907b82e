import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOciSpec, DEFAULT_CAPABILITIES, type ContainerConfig } from './oci-spec.js';

function cfg(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    id: 'uid1-web-0',
    podUid: 'uid1',
    podName: 'web',
    namespace: 'default',
    containerName: 'web',
    restartCount: 0,
    image: 'host',
    argv: ['node', 'server.js'],
    env: ['A=1'],
    hostname: 'web',
    netnsPath: '/run/netns/mbx-uid1',
    mounts: [],
    hostsPath: '/s/pods/uid1/etc/hosts',
    resolvConfPath: '/s/pods/uid1/etc/resolv.conf',
    hostnamePath: '/s/pods/uid1/etc/hostname',
    cgroupsPath: '/meshbox/uid1/uid1-web-0',
    logPath: '/s/pods/uid1/logs/web/0.log',
    ...over,
  };
}

test('image host: read-only root from the host rootfs bind, own namespaces, pod netns by path', () => {
  const s = buildOciSpec(cfg(), { rootfsPath: '/s/rootfs' });
  assert.deepEqual(s.root, { path: '/s/rootfs', readonly: true });
  assert.equal(s.hostname, 'web');
  const ns = s.linux.namespaces;
  assert.deepEqual(ns.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(ns.find((n) => n.type === 'network')?.path, '/run/netns/mbx-uid1');
  assert.equal(ns.find((n) => n.type === 'pid')?.path, undefined);
  assert.equal(s.linux.cgroupsPath, '/meshbox/uid1/uid1-web-0');
});

test('private /tmp and /run, ro /sys, per-pod etc files', () => {
  const s = buildOciSpec(cfg(), { rootfsPath: '/r' });
  const by = new Map(s.mounts.map((m) => [m.destination, m]));
  assert.equal(by.get('/tmp')?.type, 'tmpfs');
  assert.equal(by.get('/run')?.type, 'tmpfs');
  assert.equal(by.get('/proc')?.type, 'proc');
  assert.ok(by.get('/sys')?.options.includes('ro'));
  assert.equal(by.get('/etc/hosts')?.source, '/s/pods/uid1/etc/hosts');
  assert.equal(by.get('/etc/resolv.conf')?.source, '/s/pods/uid1/etc/resolv.conf');
  assert.equal(by.get('/etc/hostname')?.source, '/s/pods/uid1/etc/hostname');
});

test('user mounts: parents before children, readOnly becomes ro, tmpfs kept', () => {
  const s = buildOciSpec(
    cfg({
      mounts: [
        { source: '/v/b', destination: '/data/sub/file', readOnly: true, type: 'bind' },
        { source: '/v/a', destination: '/data', readOnly: false, type: 'bind' },
        { source: '', destination: '/cache', readOnly: false, type: 'tmpfs' },
      ],
    }),
    { rootfsPath: '/r' },
  );
  const dests = s.mounts.map((m) => m.destination);
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/sub/file'));
  const file = s.mounts.find((m) => m.destination === '/data/sub/file')!;
  assert.equal(file.source, '/v/b');
  assert.ok(file.options.includes('ro'));
  assert.ok(!s.mounts.find((m) => m.destination === '/data')!.options.includes('ro'));
  assert.equal(s.mounts.find((m) => m.destination === '/cache')!.type, 'tmpfs');
});

test('memory limit sets swap = limit; cpu milli becomes a CFS quota on a 100 ms period', () => {
  const s = buildOciSpec(cfg({ memoryLimitBytes: 32 * 1024 * 1024, cpuMilli: 250 }), { rootfsPath: '/r' });
  assert.deepEqual(s.linux.resources.memory, { limit: 33554432, swap: 33554432 });
  assert.deepEqual(s.linux.resources.cpu, { quota: 25000, period: 100000 });
  const none = buildOciSpec(cfg(), { rootfsPath: '/r' });
  assert.equal(none.linux.resources.memory, undefined);
  assert.equal(none.linux.resources.cpu, undefined);
  // tiny limits keep the kubelet's 1 ms minimum quota
  assert.deepEqual(buildOciSpec(cfg({ cpuMilli: 1 }), { rootfsPath: '/r' }).linux.resources.cpu, { quota: 1000, period: 100000 });
});

test('env gets a PATH and HOSTNAME unless given; argv and cwd pass through', () => {
  const s = buildOciSpec(cfg({ cwd: '/work' }), { rootfsPath: '/r' });
  assert.ok(s.process.env.some((e) => e.startsWith('PATH=/usr/local/sbin')));
  assert.ok(s.process.env.includes('HOSTNAME=web'));
  assert.ok(s.process.env.includes('A=1'));
  assert.deepEqual(s.process.args, ['node', 'server.js']);
  assert.equal(s.process.cwd, '/work');
  const own = buildOciSpec(cfg({ env: ['PATH=/x'] }), { rootfsPath: '/r' });
  assert.deepEqual(own.process.env.filter((e) => e.startsWith('PATH=')), ['PATH=/x']);
});

test('capabilities: Docker defaults plus added ones, normalised', () => {
  const s = buildOciSpec(cfg({ capabilitiesAdd: ['NET_ADMIN'] }), { rootfsPath: '/r' });
  const eff = s.process.capabilities.effective!;
  for (const c of DEFAULT_CAPABILITIES) assert.ok(eff.includes(c));
  assert.ok(eff.includes('CAP_NET_ADMIN'));
  assert.ok(!buildOciSpec(cfg(), { rootfsPath: '/r' }).process.capabilities.effective!.includes('CAP_NET_ADMIN'));
});

test('annotations identify the pod and container for adoption', () => {
  const s = buildOciSpec(cfg({ restartCount: 3 }), { rootfsPath: '/r' });
  assert.equal(s.annotations['io.kubernetes.pod.uid'], 'uid1');
  assert.equal(s.annotations['io.kubernetes.container.name'], 'web');
  assert.equal(s.annotations['io.kubernetes.container.restartCount'], '3');
});

test('hostNetwork: no network namespace entry when netnsPath is empty', () => {
  const s = buildOciSpec(cfg({ netnsPath: '' }), { rootfsPath: '/r' });
  assert.equal(s.linux.namespaces.find((n) => n.type === 'network'), undefined);
  const sys = s.mounts.find((m) => m.destination === '/sys')!;
  assert.equal(sys.type, 'bind', 'sysfs cannot be mounted without an own netns');
  assert.ok(sys.options.includes('ro'));
});

test('an image other than host is MBX_RUNTIME_IMAGE_NOT_FOUND, saying only host works', () => {
  assert.throws(
    () => buildOciSpec(cfg({ image: 'nginx:1.25' }), { rootfsPath: '/r' }),
    (e: Error & { code?: string }) => e.code === 'MBX_RUNTIME_IMAGE_NOT_FOUND' && /image: host/.test(e.message),
  );
});

test('no command is MBX_RUNTIME_NO_COMMAND', () => {
  assert.throws(() => buildOciSpec(cfg({ argv: [] }), { rootfsPath: '/r' }), { code: 'MBX_RUNTIME_NO_COMMAND' });
});
