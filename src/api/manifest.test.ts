import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIssue, loadManifests, type ManifestIssue } from './manifest.js';

/** YAML literal with the common leading indentation removed, so cases read as files. */
function y(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

const POD_HEAD = y`
  apiVersion: v1
  kind: Pod
  metadata:
    name: web
  spec:
    containers:
`;

/** POD_HEAD followed by `body` indented under spec (containers at line 7). */
function pod(body: string): string {
  return POD_HEAD + body.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
}

interface BadCase {
  name: string;
  text: string;
  file?: string;
  /** FILE:LINE:COL: field */
  at: string;
  message: string;
}

const BAD: BadCase[] = [
  {
    name: 'a number written as a string',
    text: pod(y`
      - name: app
        image: host
        ports:
        - containerPort: "8080"
    `),
    at: 'pod.yaml:10:22: spec.containers[0].ports[0].containerPort',
    message: 'must be an integer, not a string: remove the quotes',
  },
  {
    name: 'a misspelt field gets a suggestion, at the key',
    text: pod(y`
      - name: app
        image: host
        ports:
        - containerport: 8080
    `),
    at: 'pod.yaml:10:7: spec.containers[0].ports[0].containerport',
    message: 'unknown field, did you mean containerPort?',
  },
  {
    name: 'an unknown field far from any known one',
    text: pod(y`
      - name: app
        image: host
        flavour: vanilla
    `),
    at: 'pod.yaml:9:5: spec.containers[0].flavour',
    message: 'unknown field',
  },
  {
    name: 'a missing required field points at the mapping that lacks it',
    text: pod(y`
      - name: app
        command: [sleep, "1"]
    `),
    at: 'pod.yaml:7:5: spec.containers[0].image',
    message: 'required field is missing',
  },
  {
    name: 'an empty value counts as missing and points at its key',
    text: pod(y`
      - name: app
        image:
    `),
    at: 'pod.yaml:8:5: spec.containers[0].image',
    message: 'required field is missing',
  },
  {
    name: 'a missing spec',
    text: y`
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
    `,
    at: 'pod.yaml:1:1: spec',
    message: 'required field is missing',
  },
  {
    name: 'an invalid object name',
    text: y`
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: My_Config
    `,
    at: 'pod.yaml:4:9: metadata.name',
    message: 'not a valid DNS-1123 subdomain',
  },
  {
    name: 'an invalid container name (DNS-1123 label)',
    text: pod(y`
      - name: app.v1
        image: host
    `),
    at: 'pod.yaml:7:11: spec.containers[0].name',
    message: 'not a valid DNS-1123 label',
  },
  {
    name: 'an invalid port name',
    text: pod(y`
      - name: app
        image: host
        ports:
        - name: http_main
          containerPort: 80
    `),
    at: 'pod.yaml:10:13: spec.containers[0].ports[0].name',
    message: 'port name "http_main" is invalid',
  },
  {
    name: 'duplicate container names',
    text: pod(y`
      - name: app
        image: host
      - name: app
        image: host
    `),
    at: 'pod.yaml:9:11: spec.containers[1].name',
    message: 'duplicate container name "app" (first used at containers[0])',
  },
  {
    name: 'duplicate volume names',
    text: pod(y`
      - name: app
        image: host
      volumes:
      - name: data
        emptyDir: {}
      - name: data
        emptyDir: {}
    `),
    at: 'pod.yaml:12:11: spec.volumes[1].name',
    message: 'duplicate volume name "data"',
  },
  {
    name: 'a volumeMount naming a missing volume',
    text: pod(y`
      - name: app
        image: host
        volumeMounts:
        - name: dta
          mountPath: /data
      volumes:
      - name: data
        emptyDir: {}
    `),
    at: 'pod.yaml:10:13: spec.containers[0].volumeMounts[0].name',
    message: 'no volume named "dta" in spec.volumes (did you mean data?)',
  },
  {
    name: 'a port out of range',
    text: pod(y`
      - name: app
        image: host
        ports:
        - containerPort: 70000
    `),
    at: 'pod.yaml:10:22: spec.containers[0].ports[0].containerPort',
    message: 'must be between 1 and 65535, got 70000',
  },
  {
    name: 'a restartPolicy outside the enum',
    text: y`
      apiVersion: v1
      kind: Pod
      metadata: {name: web}
      spec:
        restartPolicy: Sometimes
        containers: [{name: app, image: host}]
    `,
    at: 'pod.yaml:5:18: spec.restartPolicy',
    message: 'unsupported value "Sometimes": use one of Always, OnFailure, Never',
  },
  {
    name: 'a bad memory quantity',
    text: pod(y`
      - name: app
        image: host
        resources:
          limits:
            memory: 128MB
    `),
    at: 'pod.yaml:11:17: spec.containers[0].resources.limits.memory',
    message: 'invalid quantity "128MB": unknown suffix "MB"',
  },
  {
    name: 'a bad cpu quantity',
    text: pod(y`
      - name: app
        image: host
        resources:
          requests:
            cpu: half
    `),
    at: 'pod.yaml:11:14: spec.containers[0].resources.requests.cpu',
    message: 'invalid quantity "half"',
  },
  {
    name: 'an invalid label key',
    text: y`
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: c
        labels:
          -bad-: x
    `,
    at: 'pod.yaml:6:5: metadata.labels[-bad-]',
    message: 'key "-bad-" is invalid',
  },
  {
    name: 'a label value that YAML reads as a number',
    text: y`
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: c
        labels:
          version: 1.10
    `,
    at: 'pod.yaml:6:14: metadata.labels.version',
    message: 'must be a string, got number 1.1; quote it: "1.10"',
  },
  {
    name: 'a YAML 1.1 boolean word where a string belongs',
    text: pod(y`
      - name: app
        image: host
        env:
        - name: DEBUG
          value: yes
    `),
    at: 'pod.yaml:11:14: spec.containers[0].env[0].value',
    message: 'must be a string, got boolean true; quote it: "yes"',
  },
  {
    name: 'an invalid namespace',
    text: y`
      apiVersion: v1
      kind: Secret
      metadata:
        name: s
        namespace: Team.A
    `,
    at: 'pod.yaml:5:14: metadata.namespace',
    message: 'not a valid DNS-1123 label',
  },
  {
    name: 'Secret data that is not base64',
    text: y`
      apiVersion: v1
      kind: Secret
      metadata: {name: s}
      data:
        password: hunter2!
    `,
    at: 'pod.yaml:5:13: data.password',
    message: 'not valid base64',
  },
  {
    name: 'an unknown kind names the known ones',
    text: y`
      apiVersion: apps/v1
      kind: Deploymnet
      metadata: {name: d}
    `,
    at: 'pod.yaml:2:7: kind',
    message: 'unknown kind "Deploymnet"; did you mean Deployment? known kinds: Namespace, Pod',
  },
  {
    name: 'a kind at the wrong apiVersion',
    text: y`
      apiVersion: v1
      kind: Deployment
      metadata: {name: d}
      spec:
        selector: {matchLabels: {app: d}}
        template:
          metadata: {labels: {app: d}}
          spec: {containers: [{name: c, image: host}]}
    `,
    at: 'pod.yaml:1:13: apiVersion',
    message: 'Deployment is served at apiVersion apps/v1, not "v1"',
  },
  {
    name: 'a known Kubernetes field meshbox does not support',
    text: y`
      apiVersion: v1
      kind: Pod
      metadata: {name: web}
      spec:
        hostNetwork: true
        containers: [{name: app, image: host}]
    `,
    at: 'pod.yaml:5:3: spec.hostNetwork',
    message: 'not supported by meshbox: pods always get their own network namespace',
  },
  {
    name: 'a YAML syntax error: tab indentation',
    text: 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: web\n',
    at: 'pod.yaml:4:1: ',
    message: 'YAML syntax error',
  },
  {
    name: 'a YAML syntax error: unterminated quote',
    text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "web\n',
    at: 'pod.yaml:5:1: ',
    message: 'YAML syntax error: Missing closing "quote',
  },
  {
    name: 'a YAML syntax error: a repeated key',
    text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n',
    at: 'pod.yaml:5:3: ',
    message: 'each key may appear once',
  },
  {
    name: 'a document that is not a mapping',
    text: '- just\n- a list\n',
    at: 'pod.yaml:1:1: ',
    message: 'a manifest must be a mapping',
  },
  {
    name: 'an error inside a List points into items',
    text: y`
      apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: ok}
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: bad}
        data: {"a b": x}
    `,
    at: 'pod.yaml:10:10: items[1].data[a b]',
    message: 'key "a b" is invalid',
  },
  {
    name: 'JSON files have positions too',
    file: 'cm.json',
    text: '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "c"},\n  "data": {"n": 5}\n}\n',
    at: 'cm.json:5:17: data.n',
    message: 'must be a string, got number 5; quote it: "5"',
  },
  {
    name: 'a Service with several ports needs port names',
    text: y`
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports:
        - port: 80
        - name: admin
          port: 8080
    `,
    at: 'pod.yaml:7:5: spec.ports[0].name',
    message: 'each port needs a name when a Service has more than one',
  },
  {
    name: 'a Deployment whose selector does not select its template',
    text: y`
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector:
          matchLabels: {app: web}
        template:
          metadata:
            labels: {app: api}
          spec:
            containers: [{name: c, image: host}]
    `,
    at: 'pod.yaml:9:7: spec.template.metadata.labels',
    message: 'the template labels do not match spec.selector',
  },
  {
    name: 'a Job without an allowed restartPolicy',
    text: y`
      apiVersion: batch/v1
      kind: Job
      metadata: {name: once}
      spec:
        template:
          spec:
            containers: [{name: c, image: host}]
    `,
    at: 'pod.yaml:7:7: spec.template.spec.restartPolicy',
    message: "a Job's pods need restartPolicy OnFailure or Never",
  },
];

function only(text: string, file = 'pod.yaml'): ManifestIssue[] {
  const result = loadManifests([{ path: file, text }]);
  return result.issues;
}

describe('loadManifests: bad manifests', () => {
  for (const c of BAD) {
    it(c.name, () => {
      const issues = only(c.text, c.file);
      const lines = issues.map(formatIssue);
      const match = issues.find((i) => `${i.path}:${i.line}:${i.col}: ${i.field}` === c.at && i.message.includes(c.message));
      assert.ok(match, `expected "${c.at}: ...${c.message}..." among:\n${lines.join('\n')}`);
    });
  }

  it('applies nothing from a file with one bad document among good ones', () => {
    const text = y`
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: good}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: Bad}
    `;
    const result = loadManifests([{ path: 'a.yaml', text }]);
    assert.equal(result.issues.length, 1);
    // the good document is returned, but the caller must apply nothing while issues is non-empty
    assert.deepEqual(result.documents.map((d) => d.object.metadata.name), ['good']);
  });

  it('reports every problem of a document, not just the first, in source order', () => {
    const text = pod(y`
      - name: App
        image: 5
        ports:
        - containerPort: 0
          protocol: tcp
        resources:
          limits: {cpu: lots}
        imagePullPolicy: Sometimes
    `);
    const issues = only(text);
    assert.deepEqual(
      issues.map((i) => `${i.line}:${i.col} ${i.field}`),
      [
        '7:11 spec.containers[0].name',
        '8:12 spec.containers[0].image',
        '10:22 spec.containers[0].ports[0].containerPort',
        '11:17 spec.containers[0].ports[0].protocol',
        '13:21 spec.containers[0].resources.limits.cpu',
        '14:22 spec.containers[0].imagePullPolicy',
      ],
    );
    assert.match(issues[3]!.message, /did you mean TCP\?/);
  });

  it('reports the same object defined twice across files', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n';
    const result = loadManifests([
      { path: 'a.yaml', text: cm },
      { path: 'b.yaml', text: `# copy\n${cm}` },
    ]);
    assert.equal(result.issues.length, 1);
    assert.equal(formatIssue(result.issues[0]!), 'b.yaml:5:9: metadata.name: ConfigMap default/same is defined twice (first at a.yaml:1:1); keep one');
  });

  it('gives YAML alias bombs an issue instead of expanding them', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    const issues = only(lines.join('\n'));
    assert.ok(issues.length >= 1);
    assert.match(issues[0]!.message, /could not be read|alias/i);
  });
});

describe('loadManifests: good manifests', () => {
  const ALL = y`
    # leading comment, then an empty document
    ---
    ---
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
      labels: {istio-injection: enabled}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
    data:
      LOG_LEVEL: debug
      app.properties: |
        a=1
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: creds, namespace: shop}
    type: Opaque
    data:
      password: aHVudGVyMg==
    stringData:
      user: admin
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      namespace: shop
      labels: {app: web, app.kubernetes.io/version: "1.10"}
      annotations: {sidecar.istio.io/inject: "false", note: "anything goes: here"}
    spec:
      restartPolicy: OnFailure
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: host
        command: [node, server.js]
        env:
        - name: PORT
          value: "8080"
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: creds, key: password}}
        envFrom:
        - configMapRef: {name: settings}
        ports:
        - {name: http, containerPort: 8080, hostPort: 18080}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: "0.5", memory: 128Mi}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket: {port: 8080}
        volumeMounts:
        - {name: config, mountPath: /etc/app, readOnly: true}
        - {name: scratch, mountPath: /scratch}
      volumes:
      - name: config
        configMap: {name: settings, defaultMode: 0644}
      - name: scratch
        emptyDir: {medium: Memory, sizeLimit: 64Mi}
  `;

  it('loads a multi-document file with every supported core kind and no issue', () => {
    const result = loadManifests([{ path: 'all.yaml', text: ALL }]);
    assert.deepEqual(result.issues.map(formatIssue), []);
    assert.deepEqual(result.documents.map((d) => d.object.kind), ['Namespace', 'ConfigMap', 'Secret', 'Pod']);
    assert.deepEqual(result.documents.map((d) => d.source.line), [4, 10, 18, 27]);
    const pod = result.documents[3]!.object as { spec: { volumes: { configMap?: { defaultMode: number } }[] } };
    // YAML 1.1, as Kubernetes reads it: 0644 is octal
    assert.equal(pod.spec.volumes[0]!.configMap!.defaultMode, 0o644);
  });

  it('keeps timestamps and yes/no words as Kubernetes reads them', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    date: "x"\ndata:\n  day: 2024-01-01\n';
    const result = loadManifests([{ path: 'c.yaml', text }]);
    assert.deepEqual(result.issues, []);
    assert.equal((result.documents[0]!.object as unknown as { data: { day: unknown } }).data.day, '2024-01-01');
  });

  it('expands kind: List and keeps item positions', () => {
    const text = y`
      apiVersion: v1
      kind: List
      items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: b}
    `;
    const result = loadManifests([{ path: 'list.yaml', text }]);
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.documents.map((d) => [d.object.metadata.name, d.source.line, d.source.col]), [['a', 4, 3], ['b', 7, 3]]);
  });

  it('loads JSON', () => {
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' }, spec: { containers: [{ name: 'c', image: 'host' }] } }, null, 2);
    const result = loadManifests([{ path: 'pod.json', text }]);
    assert.deepEqual(result.issues, []);
    assert.equal(result.documents[0]!.object.metadata.name, 'j');
  });

  it('drops nulls (an empty `labels:` is absent) and returns objects as written', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\ndata:\n  a: b\n';
    const result = loadManifests([{ path: 'c.yaml', text }]);
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.documents[0]!.object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } });
  });

  it('warns about accepted fields meshbox ignores, without blocking', () => {
    const text = pod(y`
      - name: app
        image: host
      nodeSelector: {disk: ssd}
    `);
    const result = loadManifests([{ path: 'pod.yaml', text }]);
    assert.deepEqual(result.issues, []);
    assert.equal(result.documents.length, 1);
    assert.equal(formatIssue(result.warnings[0]!), 'pod.yaml:9:3: spec.nodeSelector: ignored: meshbox runs every pod on this one machine, so scheduling settings have no effect');
  });

  it('loads the workload and service kinds', () => {
    const text = y`
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 3
        selector:
          matchLabels: {app: web}
          matchExpressions: [{key: tier, operator: In, values: [front]}]
        strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: "25%"}}
        template:
          metadata: {labels: {app: web, tier: front}}
          spec:
            containers: [{name: web, image: host, ports: [{name: http, containerPort: 8080}]}]
      ---
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: web-1}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: host}]}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{name: http, port: 80, targetPort: http}, {name: grpc, port: 9090, appProtocol: grpc}]
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web-headless}
      spec: {clusterIP: None, selector: {app: web}}
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: migrate}
      spec:
        backoffLimit: 2
        template:
          spec:
            restartPolicy: Never
            containers: [{name: m, image: host, command: ["true"]}]
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: only-frontend}
      spec:
        podSelector: {matchLabels: {app: web}}
        policyTypes: [Ingress]
        ingress:
        - from:
          - podSelector: {matchLabels: {app: frontend}}
          - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
          ports: [{protocol: TCP, port: 8000, endPort: 8080}]
      ---
      apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata: {name: web-abc, labels: {kubernetes.io/service-name: web}}
      addressType: IPv4
      endpoints: [{addresses: [10.244.0.5], conditions: {ready: true}}]
      ports: [{name: http, port: 8080, protocol: TCP}]
      ---
      apiVersion: v1
      kind: Endpoints
      metadata: {name: web}
      subsets: [{addresses: [{ip: 10.244.0.5}], ports: [{name: http, port: 8080}]}]
    `;
    const result = loadManifests([{ path: 'w.yaml', text }]);
    assert.deepEqual(result.issues.map(formatIssue), []);
    assert.equal(result.documents.length, 8);
  });
});
