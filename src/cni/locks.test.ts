import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from './keyed-mutex.js';
import { RwLock } from './rw-lock.js';

const tick = () => new Promise((r) => setTimeout(r, 2));

test('KeyedMutex serialises one key, runs different keys in parallel, and forgets idle keys', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const job = (key: string, name: string) =>
    m.with(key, async () => {
      log.push(`${name}<`);
      await tick();
      log.push(`${name}>`);
    });
  await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1')]);
  assert.deepEqual(log.slice(0, 2), ['a1<', 'b1<'], 'b does not wait for a');
  assert.ok(log.indexOf('a2<') > log.indexOf('a1>'), 'a2 waits for a1');
  assert.equal(m.size, 0);
  await assert.rejects(m.with('a', async () => Promise.reject(new Error('x'))), /x/);
  await m.with('a', async () => undefined);
  assert.equal(m.size, 0, 'a failed holder releases the key');
});

test('RwLock: readers share, a writer is alone, and a waiting writer goes before later readers', async () => {
  const l = new RwLock();
  let readers = 0;
  let maxReaders = 0;
  const log: string[] = [];
  const read = (n: string) =>
    l.withRead(async () => {
      readers++;
      maxReaders = Math.max(maxReaders, readers);
      log.push(n);
      await tick();
      readers--;
    });
  const write = (n: string) =>
    l.withWrite(async () => {
      assert.equal(readers, 0);
      log.push(n);
      await tick();
    });
  await Promise.all([read('r1'), read('r2'), write('w'), read('r3')]);
  assert.equal(maxReaders, 2);
  assert.deepEqual(log, ['r1', 'r2', 'w', 'r3']);
});
