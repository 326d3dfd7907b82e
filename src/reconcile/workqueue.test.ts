import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../core/clock.js';
import { WorkQueue } from './workqueue.js';

test('add dedupes keys that are already queued', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
  assert.equal(q.metrics().addsTotal, 2);
});

test('a key re-added while processing is not handed out again until done, then exactly once', async () => {
  const q = new WorkQueue();
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'a processing key is not queued a second time');
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, 'no worker gets a key that another worker holds');
  q.done('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(second, 'a');
  assert.equal(q.len(), 0, 'the two re-adds collapse into one');
  q.done('a');
});

test('get waits for an add and resolves undefined on shutdown', async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
  const blocked = q.get();
  q.shutDown();
  assert.equal(await blocked, undefined);
  q.add('y');
  assert.equal(q.len(), 0, 'adds after shutdown are ignored');
  assert.equal(await q.get(), undefined);
});

test('shutDownWithDrain waits for keys in progress', async () => {
  const q = new WorkQueue();
  q.add('a');
  await q.get();
  let drained = false;
  const p = q.shutDownWithDrain().then(() => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  q.done('a');
  await p;
  assert.equal(drained, true);
});

test('addAfter adds when the clock reaches the delay; the earliest delayed add wins', async () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock });
  q.addAfter('a', 100);
  q.addAfter('a', 500);
  q.addAfter('a', 50);
  assert.equal(q.metrics().waiting, 1);
  clock.advance(49);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  clock.advance(1000);
  assert.equal(q.len(), 0, 'the later delayed adds were replaced, not kept');
});

test('addRateLimited backs off 5 ms doubling, capped, and forget resets it', () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock, maxDelayMs: 1_000_000 });
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) delays.push(q.when('k'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80]);
  for (let i = 0; i < 40; i++) q.when('k');
  assert.equal(q.when('k'), 1_000_000, 'capped at 1000 s');
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  assert.equal(q.when('k'), 5);
  assert.equal(q.when('other'), 5, 'back-off is per key');
});

test('addRateLimited schedules with the back-off delay', () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock, baseDelayMs: 10 });
  q.addRateLimited('k');
  clock.advance(9);
  assert.equal(q.len(), 0);
  clock.advance(1);
  assert.equal(q.len(), 1);
  assert.equal(q.numRequeues('k'), 1);
  assert.equal(q.metrics().retriesTotal, 1);
});

test('shutdown cancels delayed adds', () => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock });
  q.addAfter('a', 10);
  q.shutDown();
  clock.advance(100);
  assert.equal(q.len(), 0);
  assert.equal(q.metrics().waiting, 0);
});

test('FIFO order holds across many keys (head compaction)', async () => {
  const q = new WorkQueue();
  for (let i = 0; i < 5000; i++) q.add(`k${i}`);
  for (let i = 0; i < 5000; i++) {
    const k = await q.get();
    assert.equal(k, `k${i}`);
    q.done(k as string);
  }
  assert.equal(q.len(), 0);
});
