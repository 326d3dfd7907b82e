import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameTooLarge, LineDecoder } from './codec.js';
import { assembleSnapshot, encodeResource, snapshotResources, type ResourceType, type WireResource } from './protocol.js';
import type { Snapshot } from '../types.js';

test('frames split across chunks and several frames per chunk', () => {
  const d = new LineDecoder();
  assert.deepEqual(d.push(Buffer.from('{"a":1}\n{"b"')), ['{"a":1}']);
  assert.deepEqual(d.push(Buffer.from(':2')), []);
  assert.deepEqual(d.push(Buffer.from('}\n{"c":3}\n')), ['{"b":2}', '{"c":3}']);
  // multi-byte UTF-8 split between chunks
  const bytes = Buffer.from('{"s":"é"}\n');
  assert.deepEqual([...d.push(bytes.subarray(0, 7)), ...d.push(bytes.subarray(7))], ['{"s":"é"}']);
});

test('an over-long frame is refused', () => {
  const d = new LineDecoder(10);
  assert.throws(() => d.push(Buffer.from('x'.repeat(11))), FrameTooLarge);
});

test('snapshot → resources → snapshot round trip; unchanged bodies keep their hash and encoding', () => {
  const s: Snapshot = {
    version: '3',
    listeners: [{ name: 'l', address: '127.0.0.1', port: 15001, protocol: 'http', direction: 'outbound', routeConfig: 'rc' }],
    routes: [{ name: 'rc', virtualHosts: [{ name: 'b', domains: ['b'], routes: [] }, { name: 'a', domains: ['a'], routes: [] }] }],
    clusters: [{ name: 'c', protocol: 'http', endpoints: [{ address: '10.0.0.1', port: 80 }] }],
  };
  const res = snapshotResources(s);
  const state = {} as Record<ResourceType, Map<string, WireResource>>;
  for (const [type, list] of Object.entries(res)) {
    state[type as ResourceType] = new Map(list.map((r) => [r.name, { name: r.name, hash: '', body: JSON.parse(JSON.stringify(r.body)) }]));
  }
  assert.deepEqual(assembleSnapshot('3', state), s, 'virtual host order kept, endpoints rejoined');
  const e1 = encodeResource('c', { x: 1 });
  assert.strictEqual(encodeResource('c', { x: 1 }, e1), e1);
  assert.notEqual(encodeResource('c', { x: 2 }, e1).hash, e1.hash);
});
