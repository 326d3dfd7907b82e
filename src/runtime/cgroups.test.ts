import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerCgroupPath, parseCgroupMounts, podCgroupPath } from './cgroups.js';

test('paths: /meshbox/<podUid>/<containerId>, absolute', () => {
  assert.equal(podCgroupPath('u1'), '/meshbox/u1');
  assert.equal(containerCgroupPath('u1', 'c1'), '/meshbox/u1/c1');
});

test('parses v1 hierarchies (with their controllers) and the v2 tree from mountinfo', () => {
  const text = [
    '30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
    '31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '32 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
    '33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate',
    '34 25 0:30 / /tmp rw - tmpfs tmpfs rw',
  ].join('\n');
  const m = parseCgroupMounts(text);
  assert.equal(m.length, 4);
  assert.deepEqual(m[0], { mountPoint: '/sys/fs/cgroup/memory', version: 1, controllers: ['memory'] });
  assert.deepEqual(m[1]!.controllers, ['cpu', 'cpuacct']);
  assert.ok(m[2]!.controllers.includes('name=systemd'));
  assert.deepEqual(m[3], { mountPoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] });
});
