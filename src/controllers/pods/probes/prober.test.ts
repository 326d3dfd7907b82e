// ProbeManager semantics (kubelet worker.go) with a ManualClock: thresholds, initial delay, startup
// gating, liveness hold and reset on restart, events, adoption, cleanup. Most cases script probe
// outcomes through the runProbe seam; the last one probes a real HTTP server that flips 200/500.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { Container, KubeObject, Pod, Probe } from '../../../api/types.js';
import { ManualClock } from '../../../core/clock.js';
import { ProbeManager, type RunningContainer } from './prober.js';
import type { ProbeOutcome, ProbeResult } from './probe-target.js';
import type { ProbeKind } from './probe-timing.js';

const T0 = 1_700_000_000_000;

function makePod(containers: Container[], extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-1' },
    spec: { containers, terminationGracePeriodSeconds: 45 },
    ...extra,
  };
}

function running(id: string, startedAt = T0, podIP = '127.0.0.1'): Map<string, RunningContainer> {
  return new Map([['app', { containerId: id, startedAt, podIP }]]);
}

/** Scripted outcomes per probe kind (keyed by the probe's exec command[0]); records each run. */
class Script {
  readonly calls: ProbeKind[] = [];
  readonly next = new Map<ProbeKind, ProbeOutcome>();
  run = async (probe: Probe): Promise<ProbeResult> => {
    const kind = probe.exec!.command[0] as ProbeKind;
    this.calls.push(kind);
    const outcome = this.next.get(kind) ?? 'success';
    return { outcome, output: outcome === 'failure' ? `${kind} says no` : 'ok' };
  };
  count(kind: ProbeKind): number {
    return this.calls.filter((k) => k === kind).length;
  }
}

const probe = (kind: ProbeKind, p: Partial<Probe> = {}): Probe => ({ exec: { command: [kind] }, periodSeconds: 10, ...p });

function setup(containers: Container[], pod?: Pod) {
  const clock = new ManualClock(T0);
  const script = new Script();
  const changes: string[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const m = new ProbeManager({
    clock,
    runProbe: script.run,
    onChange: (key, uid) => changes.push(`${key} ${uid}`),
    targetFor: (_pod, _c, r) => ({ podIP: r.podIP, exec: async () => ({ exitCode: 0, output: '' }) }),
    events: { event: (_o: KubeObject, type, reason, message) => events.push({ type, reason, message }) },
  });
  const step = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await m.idle();
  };
  return { clock, script, changes, events, m, step, pod: pod ?? makePod(containers) };
}

describe('ProbeManager', () => {
  test('readiness starts False, turns True on success and False after failureThreshold failures', async () => {
    const s = setup([{ name: 'app', image: 'host', readinessProbe: probe('readiness', { failureThreshold: 3 }) }]);
    s.m.sync(s.pod, running('c1'));
    assert.equal(s.m.readiness('uid-1', 'app'), false, 'False before the first probe');
    assert.equal(s.m.started('uid-1', 'app'), true, 'no startup probe: started');
    await s.step(0);
    assert.equal(s.m.readiness('uid-1', 'app'), true);
    assert.deepEqual(s.changes, ['shop/web uid-1']);

    s.script.next.set('readiness', 'failure');
    await s.step(10_000);
    await s.step(10_000);
    assert.equal(s.m.readiness('uid-1', 'app'), true, 'two failures are below the threshold');
    await s.step(10_000);
    assert.equal(s.m.readiness('uid-1', 'app'), false, 'the third failure flips it');
    assert.equal(s.changes.length, 2);
    assert.deepEqual(
      s.events.map((e) => `${e.type} ${e.reason} ${e.message}`),
      Array(3).fill('Warning Unhealthy Readiness probe failed: readiness says no'),
      'every failed run is an Unhealthy event',
    );
    s.script.next.set('readiness', 'success');
    await s.step(10_000);
    assert.equal(s.m.readiness('uid-1', 'app'), true, 'a recovered probe puts it back');
    s.m.stop();
    assert.equal(s.m.workerCount, 0);
  });

  test('successThreshold needs that many successes in a row; the period is kept', async () => {
    const s = setup([{ name: 'app', image: 'host', readinessProbe: probe('readiness', { successThreshold: 2, periodSeconds: 5 }) }]);
    s.m.sync(s.pod, running('c1'));
    await s.step(0);
    assert.equal(s.m.readiness('uid-1', 'app'), false);
    await s.step(4_999);
    assert.equal(s.script.count('readiness'), 1, 'no run before the period passes');
    await s.step(1);
    assert.equal(s.script.count('readiness'), 2);
    assert.equal(s.m.readiness('uid-1', 'app'), true);
    s.m.stop();
  });

  test('initialDelaySeconds counts from the container start', async () => {
    const s = setup([{ name: 'app', image: 'host', livenessProbe: probe('liveness', { initialDelaySeconds: 15 }) }]);
    s.m.sync(s.pod, running('c1', T0 - 5_000)); // started 5 s ago
    await s.step(9_999);
    assert.equal(s.script.count('liveness'), 0);
    await s.step(1);
    assert.equal(s.script.count('liveness'), 1);
    s.m.stop();
  });

  test('a startup probe holds readiness and liveness back until it passes, then stops', async () => {
    const s = setup([
      { name: 'app', image: 'host', startupProbe: probe('startup', { failureThreshold: 30 }), readinessProbe: probe('readiness'), livenessProbe: probe('liveness') },
    ]);
    s.script.next.set('startup', 'failure');
    s.m.sync(s.pod, running('c1'));
    await s.step(0);
    await s.step(10_000);
    assert.equal(s.m.started('uid-1', 'app'), false);
    assert.equal(s.m.readiness('uid-1', 'app'), false);
    assert.equal(s.script.count('readiness') + s.script.count('liveness'), 0, 'others wait for the startup probe');
    s.script.next.set('startup', 'success');
    await s.step(10_000);
    assert.equal(s.m.started('uid-1', 'app'), true);
    assert.equal(s.m.readiness('uid-1', 'app'), false, 'started, but readiness has not passed yet');
    await s.step(10_000);
    assert.equal(s.m.readiness('uid-1', 'app'), true);
    await s.step(10_000);
    assert.equal(s.script.count('startup'), 3, 'the startup probe stopped once it passed');
    assert.equal(s.script.count('liveness'), 2);
    s.m.stop();
  });

  test('liveness failure asks for a kill with the probe-level grace, holds, and resets with a new container', async () => {
    const s = setup([{ name: 'app', image: 'host', livenessProbe: probe('liveness', { failureThreshold: 2, terminationGracePeriodSeconds: 7 }) }]);
    s.m.sync(s.pod, running('c1'));
    await s.step(0);
    assert.deepEqual(s.m.livenessFailed('uid-1', 'app'), { failed: false, message: '', graceSeconds: 7 });
    s.script.next.set('liveness', 'failure');
    await s.step(10_000);
    assert.equal(s.m.livenessFailed('uid-1', 'app').failed, false, 'one failure is below the threshold');
    await s.step(10_000);
    assert.deepEqual(s.m.livenessFailed('uid-1', 'app'), {
      failed: true,
      probe: 'liveness',
      output: 'liveness says no',
      message: 'Container app failed liveness probe, will be restarted',
      graceSeconds: 7,
    });
    assert.equal(s.changes.length, 1, 'the reconciler is told once');
    assert.equal(s.m.readiness('uid-1', 'app'), false, 'a container about to be killed is not ready');
    await s.step(10_000);
    await s.step(10_000);
    assert.equal(s.script.count('liveness'), 3, 'on hold until the container is replaced');

    s.script.next.set('liveness', 'success');
    s.m.sync(s.pod, running('c2', T0 + 40_000)); // restarted
    assert.equal(s.m.livenessFailed('uid-1', 'app').failed, false, 'a new run starts clean');
    await s.step(0);
    assert.equal(s.script.count('liveness'), 4);
    s.m.stop();
  });

  test('a startup probe that never passes asks for a kill too; grace falls back to the pod', async () => {
    const s = setup([{ name: 'app', image: 'host', startupProbe: probe('startup', { failureThreshold: 1 }) }]);
    s.script.next.set('startup', 'failure');
    s.m.sync(s.pod, running('c1'));
    await s.step(0);
    const v = s.m.livenessFailed('uid-1', 'app');
    assert.equal(v.failed, true);
    assert.equal(v.probe, 'startup');
    assert.equal(v.message, 'Container app failed startup probe, will be restarted');
    assert.equal(v.graceSeconds, 45);
    assert.equal(s.events[0]?.message, 'Startup probe failed: startup says no');
    s.m.stop();
  });

  test('containers without probes are ready once running; stopped containers lose their workers', async () => {
    const s = setup([
      { name: 'app', image: 'host', readinessProbe: probe('readiness') },
      { name: 'side', image: 'host' },
    ]);
    const both = new Map([
      ['app', { containerId: 'a1', startedAt: T0, podIP: '127.0.0.1' }],
      ['side', { containerId: 's1', startedAt: T0, podIP: '127.0.0.1' }],
    ]);
    s.m.sync(s.pod, both);
    assert.equal(s.m.readiness('uid-1', 'side'), true);
    assert.equal(s.m.workerCount, 1);
    s.m.sync(s.pod, new Map([['side', both.get('side')!]]));
    assert.equal(s.m.workerCount, 0, 'the stopped container has no worker');
    assert.equal(s.m.readiness('uid-1', 'app'), false);
    assert.equal(s.m.started('uid-1', 'app'), false);
    await s.step(20_000);
    assert.equal(s.script.count('readiness'), 0, 'its timer was cancelled');
    s.m.forget('uid-1');
    assert.equal(s.m.readiness('uid-1', 'side'), false);
  });

  test('adopting a running container keeps the Ready its status reported for that same run', async () => {
    const c: Container = { name: 'app', image: 'host', readinessProbe: probe('readiness') };
    const status = { phase: 'Running' as const, containerStatuses: [{ name: 'app', ready: true, started: true, restartCount: 0, image: 'host', imageID: 'host', state: { running: { startedAt: '' } }, lastState: {}, containerID: 'runc://c1' }] };
    const s = setup([c], makePod([c], { status }));
    s.m.sync(s.pod, running('c1'));
    assert.equal(s.m.readiness('uid-1', 'app'), true, 'same run: no flap to False');
    s.m.forget('uid-1');
    s.m.sync(s.pod, running('c2'));
    assert.equal(s.m.readiness('uid-1', 'app'), false, 'another run starts False');
    s.m.stop();
  });

  test('an adopted container gets its first run within one period, not all at once', async () => {
    const s = setup([{ name: 'app', image: 'host', livenessProbe: probe('liveness') }]);
    s.m.sync(s.pod, running('c1', T0 - 3_600_000)); // running for an hour when the daemon came up
    await s.step(10_000);
    assert.equal(s.script.count('liveness'), 1);
    s.m.stop();
  });

  test('stopLivenessAndStartup keeps readiness probing only', async () => {
    const s = setup([{ name: 'app', image: 'host', readinessProbe: probe('readiness'), livenessProbe: probe('liveness') }]);
    s.m.sync(s.pod, running('c1'));
    s.m.stopLivenessAndStartup('uid-1');
    await s.step(0);
    assert.deepEqual(s.script.calls, ['readiness']);
    s.m.stop();
  });

  test('follows a real HTTP server that flips between 200 and 500', async () => {
    let code = 200;
    const server = http.createServer((_q, res) => res.writeHead(code).end());
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
    const clock = new ManualClock(T0);
    const changes: string[] = [];
    const events: string[] = [];
    const m = new ProbeManager({
      clock,
      onChange: (key) => changes.push(key),
      targetFor: (_p, _c, r) => ({ podIP: r.podIP, exec: async () => ({ exitCode: 0, output: '' }) }),
      events: { event: (_o, _t, reason, message) => events.push(`${reason}: ${message}`) },
    });
    try {
      const pod = makePod([{ name: 'app', image: 'host', ports: [{ name: 'http', containerPort: port }], readinessProbe: { httpGet: { path: '/ready', port: 'http' }, failureThreshold: 1 } }]);
      m.sync(pod, running('c1'));
      const step = async (ms: number) => {
        clock.advance(ms);
        await m.idle();
      };
      await step(0);
      assert.equal(m.readiness('uid-1', 'app'), true);
      code = 500;
      await step(10_000);
      assert.equal(m.readiness('uid-1', 'app'), false);
      assert.deepEqual(events, ['Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 500']);
      code = 200;
      await step(10_000);
      assert.equal(m.readiness('uid-1', 'app'), true);
      assert.equal(changes.length, 3);
    } finally {
      m.stop();
      server.close();
    }
  });
});
