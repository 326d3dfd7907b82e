import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, renderTable } from './format.js';
import { podStatusReason } from './printers.js';
import type { Pod } from '../api/types.js';

test('humanDuration prints ages like kubectl', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-0.5 * s, '0s'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [182 * s, '3m2s'],
    [240 * s, '4m'],
    [15 * 60 * s, '15m'],
    [179 * 60 * s, '179m'],
    [4 * 3600 * s, '4h'],
    [4 * 3600 * s + 30 * 60 * s, '4h30m'],
    [30 * 3600 * s, '30h'],
    [2 * 86400 * s, '2d'],
    [3 * 86400 * s + 5 * 3600 * s, '3d5h'],
    [100 * 86400 * s, '100d'],
    [3 * 365 * 86400 * s + 10 * 86400 * s, '3y10d'],
    [9 * 365 * 86400 * s, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('tables align columns with three spaces', () => {
  assert.equal(renderTable(['NAME', 'AGE'], [['web-1', '5s'], ['a', '10m']]), 'NAME    AGE\nweb-1   5s\na       10m\n');
});

function pod(status: Partial<Pod['status']> & object, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...extra },
    spec: { containers: [{ name: 'a', image: 'host' }] },
    status: status as Pod['status'],
  };
}

const cs = (state: object, ready = false) => ({ name: 'a', ready, restartCount: 0, image: 'host', imageID: '', state, lastState: {} }) as never;

test('pod STATUS follows kubectl', () => {
  assert.equal(podStatusReason(pod({ phase: 'Pending' })), 'Pending');
  assert.equal(podStatusReason(pod({ phase: 'Pending', containerStatuses: [cs({ waiting: { reason: 'ContainerCreating' } })] })), 'ContainerCreating');
  assert.equal(podStatusReason(pod({ phase: 'Running', containerStatuses: [cs({ waiting: { reason: 'CrashLoopBackOff' } })] })), 'CrashLoopBackOff');
  assert.equal(podStatusReason(pod({ phase: 'Running', containerStatuses: [cs({ terminated: { exitCode: 137, reason: 'OOMKilled' } })] })), 'OOMKilled');
  assert.equal(podStatusReason(pod({ phase: 'Succeeded', containerStatuses: [cs({ terminated: { exitCode: 0, reason: 'Completed' } })] })), 'Completed');
  assert.equal(podStatusReason(pod({ phase: 'Failed', containerStatuses: [cs({ terminated: { exitCode: 3 } })] })), 'ExitCode:3');
  assert.equal(podStatusReason(pod({ phase: 'Failed', containerStatuses: [cs({ terminated: { exitCode: 0, signal: 9 } })] })), 'Signal:9');
  assert.equal(podStatusReason(pod({ phase: 'Running', containerStatuses: [cs({ running: { startedAt: 'x' } }, true)] })), 'Running');
  assert.equal(podStatusReason(pod({ phase: 'Running' }, { deletionTimestamp: '2024-01-01T00:00:00Z' })), 'Terminating');
  assert.equal(
    podStatusReason({ ...pod({ phase: 'Pending', initContainerStatuses: [cs({ waiting: { reason: 'PodInitializing' } })] }), spec: { containers: [], initContainers: [{ name: 'i', image: 'host' }] } }),
    'Init:0/1',
  );
});
