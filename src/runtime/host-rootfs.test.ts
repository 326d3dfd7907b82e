import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copiesOfOtherBinds } from './host-rootfs.js';
import type { MountEntry } from '../core/mountinfo.js';

const m = (id: string, mountPoint: string, devMajorMinor = '254:0', root = '/'): MountEntry => ({ id, parent: '1', devMajorMinor, root, mountPoint });

test('copiesOfOtherBinds: other daemons\' rootfs inside ours, outermost only; our own bind, other filesystems and sub-folder binds stay', () => {
  const mounts = [
    m('26', '/'),
    m('40', '/tmp/mbx-a/rootfs'), // another daemon's bind, outside ours
    m('50', '/tmp/mbx-b/rootfs'), // ours
    m('51', '/tmp/mbx-b/rootfs/proc', '0:20'),
    m('52', '/tmp/mbx-b/rootfs/tmp/mbx-a/rootfs'), // its copy in ours
    m('53', '/tmp/mbx-b/rootfs/tmp/mbx-a/rootfs/proc', '0:20'),
    m('54', '/tmp/mbx-b/rootfs/tmp/mbx-a/rootfs/tmp/mbx-c/rootfs'), // below the copy: goes with it
    m('55', '/tmp/mbx-b/rootfs/tmp/mbx-c/rootfs'),
    m('56', '/tmp/mbx-b/rootfs/srv/data', '254:0', '/srv/data'), // a bind of a sub-folder, not of "/"
  ];
  assert.deepEqual(copiesOfOtherBinds('/tmp/mbx-b/rootfs', mounts), ['/tmp/mbx-b/rootfs/tmp/mbx-a/rootfs', '/tmp/mbx-b/rootfs/tmp/mbx-c/rootfs']);
  assert.deepEqual(copiesOfOtherBinds('/tmp/mbx-b/rootfs', [m('26', '/'), m('50', '/tmp/mbx-b/rootfs')]), []);
});
