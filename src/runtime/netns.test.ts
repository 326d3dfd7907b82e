import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomHex } from '../core/ids.js';
import { createNetns, deleteNetns, execInNetns, listNetns, netnsExists, netnsPath } from './netns.js';

const skip = process.getuid?.() !== 0 && 'needs root to create network namespaces';

test('netnsPath validates names', () => {
  assert.equal(netnsPath('mbx-a1'), '/run/netns/mbx-a1');
  assert.throws(() => netnsPath('../etc'), { code: 'MBX_NETNS_INVALID_NAME' });
  assert.throws(() => netnsPath(''), { code: 'MBX_NETNS_INVALID_NAME' });
});

test('create, list, exec in, and delete a named netns (delete is idempotent)', { skip }, async () => {
  const name = `mbx-${randomHex(6)}`;
  try {
    assert.equal(await netnsExists(name), false);
    assert.equal(await createNetns(name), `/run/netns/${name}`);
    assert.equal(await netnsExists(name), true);
    assert.ok((await listNetns()).includes(name));
    await assert.rejects(createNetns(name), { code: 'MBX_NETNS_EXISTS' });
    assert.equal(await createNetns(name, { existOk: true }), `/run/netns/${name}`);
    // a fresh namespace has only lo, and it is down: proof we are not in the host's namespace
    const links = JSON.parse((await execInNetns(name, 'ip', ['-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>;
    assert.deepEqual(links.map((l) => l.ifname), ['lo']);
    const res = await execInNetns(name, 'sh', ['-c', 'exit 3'], { allowFailure: true });
    assert.equal(res.code, 3);
  } finally {
    await deleteNetns(name);
  }
  assert.equal(await netnsExists(name), false);
  assert.ok(!(await listNetns()).includes(name));
  await deleteNetns(name);
  await assert.rejects(execInNetns(name, 'true', []), { code: 'MBX_NETNS_NOT_FOUND' });
});
