import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId, propagateTrace, randomHexBytes } from './trace-context.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are version 4 UUIDs, unique over many draws, with every hex digit in use', () => {
  const seen = new Set<string>();
  const digits = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = newRequestId();
    assert.match(id, UUID_V4);
    seen.add(id);
    for (const ch of id) digits.add(ch);
  }
  assert.equal(seen.size, 20_000);
  assert.equal(digits.size, 17, '0-9, a-f and the dash');
});

test('random hex has the asked length and roughly even digits', () => {
  assert.match(randomHexBytes(8), /^[0-9a-f]{16}$/);
  assert.match(randomHexBytes(16), /^[0-9a-f]{32}$/);
  const counts = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < 5000; i++) for (const ch of randomHexBytes(16)) {
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
    n++;
  }
  for (const [ch, c] of counts) assert.ok(Math.abs(c / n - 1 / 16) < 0.005, `digit ${ch}: ${c / n}`);
});

test('traceparent keeps the trace id and flags, gets a new span; a missing one starts a trace; B3 follows', () => {
  const h: Record<string, string | string[] | undefined> = {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'x-b3-traceid': '0af7651916cd43dd8448eb211c80319c',
    'x-b3-spanid': 'b7ad6b7169203331',
  };
  propagateTrace(h);
  const m = /^00-0af7651916cd43dd8448eb211c80319c-([0-9a-f]{16})-01$/.exec(h.traceparent as string);
  assert.ok(m, String(h.traceparent));
  assert.notEqual(m[1], 'b7ad6b7169203331');
  assert.equal(h['x-b3-spanid'], m[1]);
  assert.equal(h['x-b3-parentspanid'], 'b7ad6b7169203331');
  const fresh: Record<string, string | string[] | undefined> = {};
  propagateTrace(fresh);
  assert.match(fresh.traceparent as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});
