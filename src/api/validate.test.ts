import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { any, deprecated, ignored, integer, object, rejected, required, string } from './schema.js';
import { suggest } from './suggest.js';
import { validateObject, warningsFor } from './validate.js';
import { walkSchema } from './walk-schema.js';

const container = { name: 'c', image: 'host' };
const pod = (spec: object, metadata: object = { name: 'p' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

/** Asserts that `issues` contains `field` with a message containing `text`. */
function has(issues: { field: string; message: string }[], field: string, text: string): void {
  const hit = issues.find((i) => i.field === field && i.message.includes(text));
  assert.ok(hit, `expected ${field}: ...${text}... among ${JSON.stringify(issues, null, 1)}`);
}

describe('validateObject (server side, no positions)', () => {
  it('accepts a minimal Pod and rejects non-objects', () => {
    assert.deepEqual(validateObject(pod({ containers: [container] })), []);
    has(validateObject('Pod'), '', 'must be a mapping');
    has(validateObject([]), '', 'must be a mapping');
    has(validateObject({}), 'kind', 'required');
    has(validateObject({}), 'apiVersion', 'required');
    has(validateObject(pod({ containers: [{ name: 'c', image: 'nginx latest' }] })), 'spec.containers[0].image', 'contains whitespace');
  });

  it('accepts objects as the store returns them (server-set metadata and status)', () => {
    const stored = pod(
      { containers: [container] },
      { name: 'p', namespace: 'default', uid: 'u-1', resourceVersion: '7', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u-0', controller: true }], finalizers: ['meshbox.io/cni'] },
    );
    assert.deepEqual(validateObject({ ...stored, status: { phase: 'Running' } }), []);
  });

  it('accepts generateName instead of a name', () => {
    assert.deepEqual(validateObject(pod({ containers: [container] }, { generateName: 'web-' })), []);
    has(validateObject(pod({ containers: [container] }, {})), 'metadata.name', 'required');
  });

  it('checks Pod rules that need sibling fields', () => {
    const issues = validateObject(
      pod({
        dnsPolicy: 'None',
        initContainers: [{ name: 'c', image: 'host', restartPolicy: 'Always' }],
        containers: [
          {
            name: 'c',
            image: 'host',
            restartPolicy: 'Always',
            ports: [{ name: 'http', containerPort: 80, hostPort: 8080 }, { name: 'http', containerPort: 81, hostPort: 8080 }],
            livenessProbe: { httpGet: { port: 'admin' }, successThreshold: 2 },
            readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: 80 } },
            startupProbe: {},
            volumeMounts: [{ name: 'v', mountPath: '/a' }, { name: 'v', mountPath: '/a' }],
            env: [{ name: 'A=B', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            resources: { requests: { memory: '2Gi', cpus: '1' }, limits: { memory: '1Gi' } },
          },
        ],
        volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/tmp' } }, { name: 'w', persistentVolumeClaim: { claimName: 'x' } }],
      }),
    );
    has(issues, 'spec.containers[0].name', 'duplicate container name "c" (first used at initContainers[0])');
    has(issues, 'spec.containers[0].restartPolicy', 'only init containers');
    has(issues, 'spec.containers[0].ports[1].name', 'duplicate port name "http"');
    has(issues, 'spec.containers[0].ports[1].hostPort', 'hostPort 8080 is already used');
    has(issues, 'spec.containers[0].livenessProbe.httpGet.port', 'no container port named "admin"');
    has(issues, 'spec.containers[0].livenessProbe.successThreshold', 'must be 1');
    has(issues, 'spec.containers[0].readinessProbe.tcpSocket', 'only one of exec, httpGet, tcpSocket, grpc');
    has(issues, 'spec.containers[0].startupProbe', 'set exactly one of exec, httpGet, tcpSocket, grpc');
    has(issues, 'spec.containers[0].volumeMounts[1].mountPath', 'duplicate mountPath "/a"');
    has(issues, 'spec.containers[0].env[0].name', 'without \'=\'');
    has(issues, 'spec.containers[0].env[0].valueFrom', 'takes a value or a valueFrom');
    has(issues, 'spec.containers[0].resources.requests.cpus', 'did you mean cpu?');
    has(issues, 'spec.containers[0].resources.requests.memory', 'request 2Gi is more than the limit 1Gi');
    has(issues, 'spec.volumes[0].hostPath', 'only one of');
    has(issues, 'spec.volumes[1].persistentVolumeClaim', 'volume type persistentVolumeClaim is not supported');
    has(issues, 'spec.dnsConfig.nameservers', 'dnsPolicy None needs');
  });

  it('checks ConfigMap and Secret data', () => {
    const cm = validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x', 'b/c': 'y', n: 1 }, binaryData: { a: 'eA==' } });
    has(cm, 'data[b/c]', 'is invalid');
    has(cm, 'data.n', 'must be a string');
    has(cm, 'binaryData.a', 'also in data');
    const big = validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } });
    has(big, 'data', 'more than the 1 MiB');
    const tls = validateObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==' } });
    has(tls, 'data[tls.key]', 'needs the key "tls.key"');
    assert.deepEqual(validateObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'aGk=', b: '' } }), []);
    has(validateObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'aGk' } }), 'data.a', 'base64');
  });

  it('checks Services', () => {
    const svc = (spec: object, name = 'web') => validateObject({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });
    assert.deepEqual(svc({ ports: [{ port: 80 }] }), []);
    assert.deepEqual(svc({ clusterIP: 'None', selector: { app: 'a' } }), []);
    has(svc({ ports: [{ port: 80 }] }, '1web'), 'metadata.name', 'DNS-1035');
    has(svc({}), 'spec.ports', 'at least one port');
    has(svc({ type: 'LoadBalancer', ports: [{ port: 80 }] }), 'spec.type', 'LoadBalancer is not supported');
    has(svc({ ports: [{ port: 80, nodePort: 30080 }] }), 'spec.ports[0].nodePort', 'only be set on a Service of type NodePort');
    has(svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), 'spec.ports[1].port', 'already defined');
    has(svc({ ports: [{ port: 80, targetPort: 'Http' }] }), 'spec.ports[0].targetPort', 'port name "Http" is invalid');
    has(svc({ clusterIP: '10.96.0.300', ports: [{ port: 80 }] }), 'spec.clusterIP', 'not an IP address');
    has(svc({ type: 'ExternalName' }), 'spec.externalName', 'needs externalName');
  });

  it('checks Deployments and Jobs', () => {
    const template = { metadata: { labels: { app: 'a' } }, spec: { containers: [container] } };
    const deploy = (spec: object) => validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec });
    assert.deepEqual(deploy({ selector: { matchLabels: { app: 'a' } }, template }), []);
    has(deploy({ template }), 'spec.selector', 'required');
    has(deploy({ selector: {}, template }), 'spec.selector', 'empty selector');
    has(deploy({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['b'] }] }, template }), 'spec.template.metadata.labels', 'do not match');
    has(deploy({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, template }), 'spec.selector.matchExpressions[0].values', 'at least one value');
    has(deploy({ selector: { matchLabels: { app: 'a' } }, template, strategy: { type: 'Recreate', rollingUpdate: {} } }), 'spec.strategy.rollingUpdate', 'Recreate');
    has(deploy({ selector: { matchLabels: { app: 'a' } }, template, strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'both be 0');
    has(deploy({ selector: { matchLabels: { app: 'a' } }, template, strategy: { rollingUpdate: { maxSurge: '25' } } }), 'spec.strategy.rollingUpdate.maxSurge', 'percentage like "25%"');
    has(deploy({ selector: { matchLabels: { app: 'a' } }, template: { ...template, spec: { containers: [container], restartPolicy: 'Never' } } }), 'spec.template.spec.restartPolicy', 'must be Always');
    has(deploy({ selector: { matchLabels: { app: 'a' } }, template, replicas: -1 }), 'spec.replicas', 'zero or more');

    const job = (spec: object) => validateObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec });
    const jobTemplate = { spec: { containers: [container], restartPolicy: 'OnFailure' } };
    assert.deepEqual(job({ template: jobTemplate, completions: 3, parallelism: 2 }), []);
    has(job({ template: { spec: { containers: [container], restartPolicy: 'Always' } } }), 'spec.template.spec.restartPolicy', 'OnFailure or Never, got "Always"');
    has(job({ template: jobTemplate, selector: { matchLabels: { a: 'b' } } }), 'spec.selector', 'generates a Job');
    has(job({ template: jobTemplate, completionMode: 'Indexed' }), 'spec.completionMode', 'use one of NonIndexed');
    has(job({ template: jobTemplate, podFailurePolicy: { rules: [] } }), 'spec.podFailurePolicy', 'not supported');
  });

  it('checks NetworkPolicies and EndpointSlices', () => {
    const np = (spec: object) => validateObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec });
    assert.deepEqual(np({ podSelector: {} }), []);
    has(np({}), 'spec.podSelector', 'required');
    has(np({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' }, podSelector: {} }] }] }), 'spec.ingress[0].from[0].ipBlock.cidr', 'not a valid CIDR');
    has(np({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }), 'spec.ingress[0].from[0].podSelector', 'ipBlock excludes selectors');
    has(np({ podSelector: {}, egress: [{ ports: [{ port: 'dns', endPort: 60 }] }] }), 'spec.egress[0].ports[0].endPort', 'numeric port');
    has(np({ podSelector: {}, egress: [{ ports: [{ port: 100, endPort: 60 }] }] }), 'spec.egress[0].ports[0].endPort', 'at least port');
    has(np({ podSelector: {}, policyTypes: ['Ingress', 'ingress'] }), 'spec.policyTypes[1]', 'did you mean Ingress?');

    const slice = validateObject({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'e' }, endpoints: [{ addresses: [] }] });
    has(slice, 'addressType', 'required');
    has(slice, 'endpoints[0].addresses', 'at least one item');
  });

  it('tells where a field misplaced one level too high belongs', () => {
    has(validateObject(pod({ containers: [container], image: 'host' })), 'spec.image', 'image belongs under containers[] or initContainers[] (check the indentation)');
    has(validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, containers: [container] }), 'containers', 'containers belongs under spec');
  });

  it('names the known kinds and versions', () => {
    has(validateObject({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }), 'kind', 'known kinds: Namespace, Pod, ConfigMap, Secret');
    has(validateObject({ apiVersion: 'v1', kind: 'pod', metadata: { name: 'w' } }), 'kind', 'did you mean Pod?');
    has(validateObject({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'w' } }), 'spec', 'required field is missing');
    has(validateObject({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} }), 'apiVersion', 'apps/v1');
  });

  it('warns about ignored fields and keeps them out of the errors', () => {
    const obj = pod({ containers: [container], serviceAccountName: 'sa', tolerations: [] });
    assert.deepEqual(validateObject(obj), []);
    assert.deepEqual(warningsFor(obj).map((w) => w.field), ['spec.serviceAccountName', 'spec.tolerations']);
  });
});

describe('the schema DSL', () => {
  it('lets a kind mark fields known-but-unsupported and ignored, with their reason', () => {
    const schema = object({
      host: required(string()),
      tls: rejected('TLS origination comes with the mTLS milestone'),
      tracing: ignored('meshbox does not trace yet', any()),
      percent: deprecated('use percentage.value', integer({ min: 0, max: 100 })),
    });
    const issues = walkSchema(schema, { tls: {}, tracing: 1, hots: 'x', percent: 150 });
    assert.deepEqual(
      issues.map((i) => [i.path.join('.'), i.severity, i.anchor, i.message]),
      [
        ['tls', 'error', 'key', 'not supported by meshbox: TLS origination comes with the mTLS milestone'],
        ['tracing', 'warning', 'key', 'ignored: meshbox does not trace yet'],
        ['hots', 'error', 'key', 'unknown field, did you mean host?'],
        ['percent', 'warning', 'key', 'deprecated: use percentage.value'],
        ['percent', 'error', 'value', 'must be between 0 and 100, got 150'],
      ],
    );
  });

  it('suggests only close names', () => {
    assert.equal(suggest('containerport', ['containerPort', 'hostPort']), 'containerPort');
    assert.equal(suggest('imagePullPolcy', ['image', 'imagePullPolicy']), 'imagePullPolicy');
    assert.equal(suggest('volumeMount', ['volumeMounts', 'volumes']), 'volumeMounts');
    assert.equal(suggest('flavour', ['image', 'name', 'ports']), undefined);
    assert.equal(suggest('ab', ['cd']), undefined);
    assert.equal(suggest('hots', ['host', 'port']), 'host', 'a transposition is one edit');
  });
});
