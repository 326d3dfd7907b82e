import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../../api/types.js';
import { injectSidecar, injectionWanted, isInjected, SIDECAR_NAME, STATUS_ANNOTATION } from './sidecar-injector.js';

const settings = { installRoot: '/opt/src/meshbox', nodePath: '/usr/bin/node', xdsDir: '/var/lib/meshbox/mesh', clusterDomain: 'cluster.local' };

function pod(extra: Partial<Pod['metadata']> = {}, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'reviews-v1-7d9f8-abcde', namespace: 'shop', labels: { app: 'reviews', version: 'v1' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v1-7d9f8c6b5', uid: 'u', controller: true }], ...extra },
    spec: { containers: [{ name: 'app', image: 'host', command: ['node', 'app.js'] }], ...spec },
  } as Pod;
}

describe('injectionWanted', () => {
  it('injects by default and honours the opt-outs', () => {
    assert.equal(injectionWanted(pod(), undefined).inject, true);
    assert.equal(injectionWanted(pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), undefined).inject, false);
    assert.equal(injectionWanted(pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), undefined).inject, false);
    assert.equal(injectionWanted(pod(), { 'istio-injection': 'disabled' }).inject, false);
    // the pod's own "true" wins over the namespace
    assert.equal(injectionWanted(pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), { 'istio-injection': 'disabled' }).inject, true);
    assert.equal(injectionWanted(pod({}, { hostNetwork: true } as Partial<Pod['spec']>), undefined).inject, false);
  });

  it('never injects twice', () => {
    const once = injectSidecar(pod(), settings);
    assert.equal(injectionWanted(once, undefined).inject, false);
  });
});

describe('injectSidecar', () => {
  it('adds a native sidecar first among the init containers, with its volumes, identity and probes', () => {
    const p = injectSidecar(pod({}, { initContainers: [{ name: 'migrate', image: 'host', command: ['true'] }] }), settings);
    assert.ok(isInjected(p));
    assert.deepEqual(JSON.parse(p.metadata.annotations![STATUS_ANNOTATION]!).initContainers, [SIDECAR_NAME]);
    const [proxy, migrate] = p.spec.initContainers!;
    assert.equal(proxy!.name, SIDECAR_NAME);
    assert.equal(migrate!.name, 'migrate');
    assert.equal(proxy!.restartPolicy, 'Always');
    assert.deepEqual(proxy!.command, ['/usr/bin/node', '--max-semi-space-size=1', '--v8-pool-size=0', '/opt/meshbox/dist/src/proxy/sidecar-entry.js']);
    const bundled = injectSidecar(pod({}), { ...settings, entry: 'dist/sidecar.mjs' }).spec.initContainers![0]!;
    assert.equal(bundled.command!.at(-1), '/opt/meshbox/dist/sidecar.mjs', 'the daemon picks the bundle when the build made one');
    assert.deepEqual(proxy!.securityContext, { runAsUser: 1337, runAsGroup: 1337 });
    const env = Object.fromEntries((proxy!.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom as { fieldRef: { fieldPath: string } }).fieldRef.fieldPath]));
    assert.equal(env.ISTIO_META_WORKLOAD_NAME, 'reviews-v1', 'the Deployment behind the ReplicaSet');
    assert.equal(env.ISTIO_META_APP, 'reviews');
    assert.equal(env.ISTIO_META_VERSION, 'v1');
    assert.equal(env.INSTANCE_IP, 'status.podIP');
    assert.equal(env.MALLOC_ARENA_MAX, '1');
    assert.equal(env.MESHBOX_PROXY_TOKEN, undefined, 'the credential is never stored in the pod');
    assert.equal((proxy!.startupProbe as { httpGet: { port: number } }).httpGet.port, 15021);
    assert.deepEqual(p.spec.volumes!.map((v) => [v.name, (v.hostPath as { path: string }).path]), [
      ['istio-xds', '/var/lib/meshbox/mesh'],
      ['meshbox-install', '/opt/src/meshbox'],
    ]);
    assert.equal(p.spec.containers.length, 1, 'the app containers are untouched');
  });

  it('rejects bad capture annotations at admission', () => {
    assert.throws(() => injectSidecar(pod({ annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': 'eighty' } }), settings), /excludeInboundPorts.*not a port number/);
  });
});

describe('probe rewrite (Istio rewriteAppHTTPProbers)', () => {
  const app = {
    name: 'web',
    image: 'host',
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/ready', port: 'http', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, periodSeconds: 2, timeoutSeconds: 4 },
    livenessProbe: { tcpSocket: { port: 8080 }, failureThreshold: 5 },
    startupProbe: { exec: { command: ['true'] } },
  };

  it("points HTTP and TCP probes at the sidecar's agent and hands it the originals", () => {
    const p = injectSidecar(pod({}, { containers: [app] as Pod['spec']['containers'] }), settings);
    const web = p.spec.containers[0]!;
    assert.deepEqual(web.readinessProbe, { periodSeconds: 2, timeoutSeconds: 4, httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' } });
    assert.deepEqual(web.livenessProbe, { failureThreshold: 5, httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP' } });
    assert.deepEqual(web.startupProbe, { exec: { command: ['true'] } }, 'exec probes run in the container as before');
    const env = p.spec.initContainers![0]!.env!.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')!;
    assert.deepEqual(JSON.parse(env.value!), {
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080, httpHeaders: [{ name: 'X-Probe', value: '1' }] }, timeoutSeconds: 4 },
      '/app-health/web/livez': { tcpSocket: { port: 8080 } },
    });
  });

  it('leaves probes alone when the pod says rewriteAppHTTPProbers: "false"', () => {
    const p = injectSidecar(pod({ annotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' } }, { containers: [app] as Pod['spec']['containers'] }), settings);
    assert.deepEqual(p.spec.containers[0]!.readinessProbe, app.readinessProbe);
    assert.equal(p.spec.initContainers![0]!.env!.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS'), undefined);
  });
});
