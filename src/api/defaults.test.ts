import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, defaultPullPolicy } from './defaults.js';
import type { KubeObject } from './types.js';
import { validateObject } from './validate.js';

const podSpec = () => ({
  containers: [
    {
      name: 'app',
      image: 'nginx:1.25',
      ports: [{ containerPort: 80 }],
      readinessProbe: { httpGet: { port: 80 } },
      livenessProbe: { exec: { command: ['true'] }, periodSeconds: 3 },
      env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
    },
  ],
  volumes: [{ name: 'c', configMap: { name: 'cm' } }],
});

describe('applyDefaults', () => {
  it('fills Pod defaults as Kubernetes does, without touching what the user set', () => {
    const input: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: podSpec() };
    const before = structuredClone(input);
    const pod = applyDefaults(input) as KubeObject & { spec: any };
    assert.deepEqual(input, before, 'the input is not mutated');
    assert.equal(pod.metadata.namespace, 'default');
    assert.equal(pod.spec.restartPolicy, 'Always');
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30);
    assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.spec.enableServiceLinks, true);
    const c = pod.spec.containers[0];
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.equal(c.ports[0].protocol, 'TCP');
    assert.deepEqual(c.readinessProbe, {
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(c.livenessProbe.periodSeconds, 3, 'a value the user set stays');
    assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.equal(pod.spec.volumes[0].configMap.defaultMode, 0o644);
    assert.deepEqual(validateObject(pod), [], 'defaulted objects stay valid');
  });

  it('keeps a namespace the user set and drops one from cluster-scoped kinds', () => {
    const cm = applyDefaults({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' } });
    assert.equal(cm.metadata.namespace, 'shop');
    const ns = applyDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', namespace: 'x' } });
    assert.equal(ns.metadata.namespace, undefined);
  });

  it('picks the image pull policy from the tag', () => {
    assert.equal(defaultPullPolicy('nginx'), 'Always');
    assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
    assert.equal(defaultPullPolicy('registry:5000/team/nginx'), 'Always');
    assert.equal(defaultPullPolicy('registry:5000/team/nginx:1.2'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('nginx@sha256:abcd'), 'IfNotPresent');
    assert.equal(defaultPullPolicy('host'), 'Never');
  });

  it('sets Secret type Opaque and folds stringData into base64 data', () => {
    const s = applyDefaults({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'YQ==' }, stringData: { b: 'bé' } }) as KubeObject & { data: Record<string, string> };
    assert.equal(s.type, 'Opaque');
    assert.equal(s.stringData, undefined);
    assert.deepEqual(s.data, { a: 'YQ==', b: Buffer.from('bé').toString('base64') });
  });

  it('fills Service defaults, targetPort = port', () => {
    const svc = applyDefaults({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }, { name: 'x', port: 81, targetPort: 'http', protocol: 'UDP' }] },
    }) as KubeObject & { spec: any };
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.equal(svc.spec.sessionAffinity, 'None');
    assert.deepEqual(svc.spec.ports, [
      { port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'x', port: 81, targetPort: 'http', protocol: 'UDP' },
    ]);
  });

  it('fills Deployment, ReplicaSet and Job defaults, including their pod templates', () => {
    const template = { metadata: { labels: { app: 'a' } }, spec: podSpec() };
    const d = applyDefaults({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'a' } }, template } }) as KubeObject & { spec: any };
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.spec.template.spec.restartPolicy, 'Always');
    assert.deepEqual(validateObject(d), []);

    const recreate = applyDefaults({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' }, template } }) as KubeObject & { spec: any };
    assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });

    const rs = applyDefaults({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { replicas: 0, template } }) as KubeObject & { spec: any };
    assert.equal(rs.spec.replicas, 0, 'zero is a value, not absent');

    const job = applyDefaults({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } },
    }) as KubeObject & { spec: any };
    assert.equal(job.spec.completions, 1);
    assert.equal(job.spec.parallelism, 1);
    assert.equal(job.spec.backoffLimit, 6);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.equal(job.spec.template.spec.terminationGracePeriodSeconds, 30);

    const noPolicy = applyDefaults({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: podSpec() } } });
    assert.equal((noPolicy as KubeObject & { spec: any }).spec.template.spec.restartPolicy, undefined, 'a Job template gets no Always');
    assert.ok(validateObject(noPolicy).some((i) => i.field === 'spec.template.spec.restartPolicy' && i.message.includes('OnFailure or Never')));
  });

  it('fills NetworkPolicy policyTypes from the rules', () => {
    const np = (spec: object) => (applyDefaults({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec }) as KubeObject & { spec: any }).spec;
    assert.deepEqual(np({ podSelector: {} }).policyTypes, ['Ingress']);
    assert.deepEqual(np({ podSelector: {}, egress: [{ ports: [{ port: 53 }] }] }).policyTypes, ['Ingress', 'Egress']);
    assert.equal(np({ podSelector: {}, egress: [{ ports: [{ port: 53 }] }] }).egress[0].ports[0].protocol, 'TCP');
  });
});
