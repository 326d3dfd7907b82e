import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStatus, Pod } from '../../api/types.js';
import { computePodStatus, podPhase, qosClass } from './pod-status.js';

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never', names = ['a', 'b']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { restartPolicy, containers: names.map((name) => ({ name, image: 'host' })) },
  };
}

const running = (name: string, ready = true): ContainerStatus => ({
  name, ready, restartCount: 0, image: 'host', imageID: '', state: { running: { startedAt: 'x' } }, lastState: {},
});
const exited = (name: string, exitCode: number): ContainerStatus => ({
  name, ready: false, restartCount: 0, image: 'host', imageID: '', state: { terminated: { exitCode } }, lastState: {},
});
const waiting = (name: string, crashed = false): ContainerStatus => ({
  name, ready: false, restartCount: crashed ? 1 : 0, image: 'host', imageID: '',
  state: { waiting: { reason: crashed ? 'CrashLoopBackOff' : 'ContainerCreating' } },
  lastState: crashed ? { terminated: { exitCode: 1 } } : {},
});
const observed = (containers: ContainerStatus[]) => ({ hostIP: '10.0.0.1', podIP: '10.0.0.5', containers, initialized: true });

test('phase follows the kubelet rules', () => {
  assert.equal(podPhase(pod('Always'), observed([waiting('a'), running('b')])), 'Pending');
  assert.equal(podPhase(pod('Always'), observed([running('a'), running('b')])), 'Running');
  assert.equal(podPhase(pod('Always'), observed([waiting('a', true), running('b')])), 'Running');
  assert.equal(podPhase(pod('Always'), observed([exited('a', 0), exited('b', 0)])), 'Running');
  assert.equal(podPhase(pod('Never'), observed([exited('a', 0), exited('b', 0)])), 'Succeeded');
  assert.equal(podPhase(pod('Never'), observed([exited('a', 0), exited('b', 2)])), 'Failed');
  assert.equal(podPhase(pod('OnFailure'), observed([exited('a', 0), exited('b', 2)])), 'Running');
  assert.equal(podPhase(pod('OnFailure'), observed([exited('a', 0), running('b')])), 'Running');
});

test('Ready needs every container ready, and keeps its transition time while unchanged', () => {
  const p = pod('Always');
  const s1 = computePodStatus(p, observed([running('a'), running('b', false)]), 1_000_000);
  const ready1 = s1.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready1.status, 'False');
  assert.equal(ready1.reason, 'ContainersNotReady');
  assert.match(ready1.message!, /\[b\]/);
  p.status = s1;
  const s2 = computePodStatus(p, observed([running('a'), running('b')]), 2_000_000);
  const ready2 = s2.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready2.status, 'True');
  assert.notEqual(ready2.lastTransitionTime, ready1.lastTransitionTime);
  p.status = s2;
  const s3 = computePodStatus(p, observed([running('a'), running('b')]), 3_000_000);
  assert.equal(s3.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, ready2.lastTransitionTime);
  assert.deepEqual(s3.conditions!.map((c) => c.type).sort(), ['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'PodScheduled', 'Ready']);
  assert.equal(s3.podIP, '10.0.0.5');
});

test('QoS class', () => {
  const p = pod('Always', ['a']);
  assert.equal(qosClass(p), 'BestEffort');
  p.spec.containers[0]!.resources = { limits: { memory: '64Mi', cpu: '1' } };
  assert.equal(qosClass(p), 'Guaranteed');
  p.spec.containers[0]!.resources = { limits: { memory: '64Mi' } };
  assert.equal(qosClass(p), 'Burstable');
});
