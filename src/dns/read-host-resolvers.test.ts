import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNameservers, readHostResolvers } from './read-host-resolvers.js';
import { parseUpstream } from './upstream-forwarder.js';

async function withFiles(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mbx-dns-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('parseNameservers keeps valid addresses once, ignores comments, options and zoned IPv6', () => {
  const text = [
    '# generated',
    'search example.test',
    'nameserver 10.0.0.2',
    '  nameserver\t10.0.0.3 # trailing',
    'nameserver 10.0.0.2',
    'nameserver fe80::1%eth0',
    'nameserver 2001:db8::53',
    'nameserver not-an-ip',
    ';nameserver 10.9.9.9',
    'options ndots:5',
  ].join('\n');
  assert.deepEqual(parseNameservers(text), ['10.0.0.2', '10.0.0.3', '2001:db8::53']);
});

test('loopback stubs are dropped when a real resolver is listed too', async () => {
  await withFiles({ 'resolv.conf': 'nameserver 127.0.0.53\nnameserver 10.0.0.2\n' }, async (dir) => {
    assert.deepEqual(await readHostResolvers(join(dir, 'resolv.conf'), join(dir, 'absent')), ['10.0.0.2']);
  });
});

test('only a stub: systemd-resolved upstreams are used when present, else the stub itself', async () => {
  await withFiles(
    { 'resolv.conf': 'nameserver 127.0.0.53\noptions edns0\n', 'resolved.conf': 'nameserver 192.0.2.10\nnameserver 127.0.0.1\n' },
    async (dir) => {
      assert.deepEqual(await readHostResolvers(join(dir, 'resolv.conf'), join(dir, 'resolved.conf')), ['192.0.2.10']);
      assert.deepEqual(await readHostResolvers(join(dir, 'resolv.conf'), join(dir, 'absent')), ['127.0.0.53']);
    },
  );
});

test('a missing or empty resolv.conf gives no upstreams', async () => {
  await withFiles({ empty: '# nothing\n' }, async (dir) => {
    assert.deepEqual(await readHostResolvers(join(dir, 'nope'), join(dir, 'nope2')), []);
    assert.deepEqual(await readHostResolvers(join(dir, 'empty'), join(dir, 'nope2')), []);
  });
});

test('parseUpstream understands ports and IPv6 brackets, rejects names', () => {
  assert.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53, family: 4 });
  assert.deepEqual(parseUpstream('10.0.0.2:5353'), { host: '10.0.0.2', port: 5353, family: 4 });
  assert.deepEqual(parseUpstream('2001:db8::1'), { host: '2001:db8::1', port: 53, family: 6 });
  assert.deepEqual(parseUpstream('[2001:db8::1]:54'), { host: '2001:db8::1', port: 54, family: 6 });
  assert.throws(() => parseUpstream('dns.example.test'), { code: 'MBX_DNS_INVALID_UPSTREAM' });
  assert.throws(() => parseUpstream('10.0.0.2:0'), { code: 'MBX_DNS_INVALID_UPSTREAM' });
});
