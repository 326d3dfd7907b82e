import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../api/types.js';
import { compareForDeletion, isPodActive, isPodAvailable, nextAvailableInMs } from './pod-utils.js';

function pod(name: string, o: { phase?: NonNullable<Pod['status']>['phase']; ready?: string; restarts?: number; created?: string; node?: string; deleting?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z', ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:09Z' } : {}) },
    spec: { containers: [{ name: 'c', image: 'host' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: o.ready }] : [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: 'c', ready: !!o.ready, restartCount: o.restarts ?? 0, image: 'host', imageID: '', state: { running: { startedAt: '' } }, lastState: {} }],
    },
  };
}

test('deletion order: pending, not ready, ready for less time, more restarts, newer', () => {
  const pods = [
    pod('old-ready', { ready: '2026-01-01T00:00:01Z' }),
    pod('recent-ready', { ready: '2026-01-01T00:05:00Z' }),
    pod('not-ready'),
    pod('pending', { phase: 'Pending' }),
    pod('not-ready-restarts', { restarts: 4 }),
    pod('not-ready-newer', { created: '2026-01-02T00:00:00Z' }),
  ];
  const order = [...pods].sort(compareForDeletion).map((p) => p.metadata.name);
  assert.deepEqual(order, ['pending', 'not-ready-restarts', 'not-ready-newer', 'not-ready', 'recent-ready', 'old-ready']);
});

test('active excludes finished and terminating pods; availability waits minReadySeconds', () => {
  assert.equal(isPodActive(pod('a')), true);
  assert.equal(isPodActive(pod('a', { phase: 'Succeeded' })), false);
  assert.equal(isPodActive(pod('a', { deleting: true })), false);
  const p = pod('a', { ready: '2026-01-01T00:00:00Z' });
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(isPodAvailable(p, 0, t0), true);
  assert.equal(isPodAvailable(p, 5, t0 + 4000), false);
  assert.equal(isPodAvailable(p, 5, t0 + 5000), true);
  assert.equal(nextAvailableInMs([p], 5, t0 + 1000), 4050);
  assert.equal(nextAvailableInMs([p], 5, t0 + 6000), undefined);
});
