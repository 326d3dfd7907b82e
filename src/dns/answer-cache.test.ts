import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import { ManualClock } from '../core/clock.js';
import { AnswerCache } from './answer-cache.js';

const a = (ttl: number): Answer => ({ name: 'x.test', type: 'A', class: 'IN', ttl, data: '192.0.2.1' });
const entry = (...answers: Answer[]) => ({ flags: 0, answers, authorities: [], additionals: [] });

test('entries live for their smallest TTL and are served with TTLs counted down', () => {
  const clock = new ManualClock(0);
  const cache = new AnswerCache({ clock });
  cache.put('k', entry(a(30), a(10)));
  clock.advance(4_000);
  assert.deepEqual(cache.get('k')!.answers.map((r) => (r as { ttl: number }).ttl), [26, 6]);
  clock.advance(6_000);
  assert.equal(cache.get('k'), undefined);
});

test('zero TTLs, empty answers and a zero-size cache store nothing; maxTtl caps long TTLs', () => {
  const clock = new ManualClock(0);
  const cache = new AnswerCache({ clock, maxTtl: 60 });
  cache.put('zero', entry(a(0)));
  cache.put('empty', entry());
  assert.equal(cache.size, 0);
  cache.put('long', entry(a(86_400)));
  clock.advance(61_000);
  assert.equal(cache.get('long'), undefined);
  const off = new AnswerCache({ clock, maxEntries: 0 });
  off.put('k', entry(a(30)));
  assert.equal(off.size, 0);
});

test('least recently used entries go first when full', () => {
  const cache = new AnswerCache({ clock: new ManualClock(0), maxEntries: 2 });
  cache.put('a', entry(a(30)));
  cache.put('b', entry(a(30)));
  assert.ok(cache.get('a'));
  cache.put('c', entry(a(30)));
  assert.ok(cache.get('a'));
  assert.equal(cache.get('b'), undefined);
  assert.ok(cache.get('c'));
  assert.equal(AnswerCache.key('X.Test.', 'A', 'IN', false), 'x.test|A|IN|0');
});
