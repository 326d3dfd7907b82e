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
    assert.deepEqual(proxy!.command, ['/usr/bin/node', '--max-semi-space-size=2', '/opt/meshbox/dist/src/proxy/sidecar-entry.js']);
    assert.deepEqual(proxy!.securityContext, { runAsUser: 1337, runAsGroup: 1337 });
    const env = Object.fromEntries((proxy!.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom as { fieldRef: { fieldPath: string } }).fieldRef.fieldPath]));
    assert.equal(env.ISTIO_META_WORKLOAD_NAME, 'reviews-v1', 'the Deployment behind the ReplicaSet');
    assert.equal(env.ISTIO_META_APP, 'reviews');
    assert.equal(env.ISTIO_META_VERSION, 'v1');
    assert.equal(env.INSTANCE_IP, 'status.podIP');
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
