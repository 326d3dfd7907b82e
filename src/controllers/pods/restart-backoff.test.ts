import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff, BACKOFF_MAX_MS } from './restart-backoff.js';

test('first restart is immediate, then 10 s doubling to 5 min', () => {
  const b = new RestartBackoff();
  let t = 1_000_000;
  assert.equal(b.remaining('c', t, 1000, t), 0);
  b.restarted('c', t);
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    const crashedAt = t + 1000; // it crashes again one second after the restart
    waits.push(b.remaining('c', crashedAt, 1000, crashedAt));
    t = crashedAt + waits.at(-1)!;
    assert.equal(b.remaining('c', crashedAt, 1000, t), 0, 'no wait left once the back-off has passed');
    b.restarted('c', crashedAt);
  }
  assert.deepEqual(waits, [10_000, 20_000, 40_000, 80_000, 160_000, BACKOFF_MAX_MS, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
});

test('a container that ran for 10 minutes resets the back-off', () => {
  const b = new RestartBackoff();
  b.restarted('c', 0);
  b.restarted('c', 1);
  assert.equal(b.currentDelay('c'), 20_000);
  assert.equal(b.remaining('c', 700_000, 600_000, 700_000), 0);
  assert.equal(b.currentDelay('c'), 0);
});

test('remaining counts from the latest exit', () => {
  const b = new RestartBackoff();
  b.restarted('c', 0);
  assert.equal(b.remaining('c', 5_000, 100, 6_000), 9_000);
});
