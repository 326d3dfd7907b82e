import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { KubeObject } from '../api/types.js';
import { applyDefaults } from '../api/defaults.js';
import { validateObject } from '../api/validate.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApiServer } from '../daemon/api-server.js';
import type { ExecIO, LogOptions, PodIO } from '../daemon/api-types.js';
import { run, registerCommand } from './main.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function sink(): { w: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer | string, _e, cb) {
      chunks.push(Buffer.from(c));
      cb();
    },
  });
  return { w, text: () => Buffer.concat(chunks).toString() };
}

class FakePodIO implements PodIO {
  async logs(_ns: string, pod: string, opts: LogOptions): Promise<Readable> {
    return Readable.from([`log of ${pod} tail=${opts.tailLines ?? '-'} container=${opts.container ?? '-'}\n`]);
  }
  async exec(_ns: string, _pod: string, _c: string | undefined, argv: string[], io: ExecIO): Promise<number> {
    if (argv[0] === 'cat') {
      for await (const c of io.stdin!) io.stdout.write(c);
      return 0;
    }
    io.stdout.write(`ran ${argv.join(' ')}\n`);
    io.stderr.write('warn\n');
    return Number(argv.at(-1));
  }
}

interface Env {
  dir: string;
  store: SqliteStore;
  cli: (args: string[], opts?: { stdin?: Readable; signal?: AbortSignal }) => Promise<{ code: number; out: string; err: string }>;
}

async function withDaemon(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cli-'));
  const store = new SqliteStore({ stateDir: dir, clock: { now: () => NOW - 60_000, monotonic: () => 0, setTimeout: () => ({ cancel() {} }) } });
  const server = new ApiServer({
    store,
    podIO: new FakePodIO(),
    admit: (_r, o) => applyDefaults(o),
    validate: (o) => validateObject(o).map((i) => ({ path: i.field, message: i.message })),
  });
  await server.listen(join(dir, 'meshbox.sock'));
  const cli: Env['cli'] = async (args, opts = {}) => {
    const out = sink();
    const err = sink();
    const code = await run(['--state-dir', dir, ...args], {
      stdout: out.w,
      stderr: err.w,
      stdin: opts.stdin ?? Readable.from([]),
      env: {},
      now: () => NOW,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { code, out: out.text(), err: err.text() };
  };
  try {
    await fn({ dir, store, cli });
  } finally {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const POD_YAML = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  containers:
    - name: app
      image: host
      command: ["sleep", "1000"]
${extra}`;

test('a missing daemon gets a clear message and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-cli-'));
  try {
    const err = sink();
    const code = await run(['get', 'pods'], { stdout: sink().w, stderr: err.w, env: { MESHBOX_STATE_DIR: dir }, now: () => NOW });
    assert.equal(code, 1);
    assert.equal(err.text(), `error: meshbox daemon is not running (no socket at ${dir}/meshbox.sock): start it with \`meshbox up\`\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('apply: folders sorted, stdin, dry run, unchanged and configured', () =>
  withDaemon(async ({ dir, cli, store }) => {
    const m = join(dir, 'manifests');
    mkdirSync(m);
    writeFileSync(join(m, 'b-pods.yaml'), `${POD_YAML('web')}---\n${POD_YAML('api')}`);
    writeFileSync(join(m, 'a-config.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v\n');
    writeFileSync(join(m, 'notes.txt'), 'not a manifest');
    let r = await cli(['apply', '-f', m, '--dry-run']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'configmap/cfg created (dry run)\npod/web created (dry run)\npod/api created (dry run)\n');
    assert.equal(store.get('pods', 'default', 'web'), undefined);
    r = await cli(['apply', '-f', m]);
    assert.equal(r.out, 'configmap/cfg created\npod/web created\npod/api created\n');
    assert.equal(store.get('pods', 'default', 'web')?.spec && (store.get('pods', 'default', 'web')!.spec as { restartPolicy: string }).restartPolicy, 'Always', 'defaults applied');
    r = await cli(['apply', '-f', m]);
    assert.equal(r.out, 'configmap/cfg unchanged\npod/web unchanged\npod/api unchanged\n');
    r = await cli(['apply', '-f', '-'], { stdin: Readable.from(['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  k: v2\n']) });
    assert.equal(r.out, 'configmap/cfg configured\n');
    r = await cli(['apply', '-f', '-', '-n', 'other'], { stdin: Readable.from(['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n']) });
    assert.equal(r.code, 1);
    assert.match(r.err, /namespace "other" not found/);
  }));

test('apply: manifest errors print FILE:LINE:COL and change nothing', () =>
  withDaemon(async ({ dir, cli, store }) => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, `${POD_YAML('good')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n    - name: app\n      image: host\n      ports:\n        - contianerPort: 80\n`);
    const rv = store.currentResourceVersion();
    const r = await cli(['apply', '-f', f]);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split('\n');
    assert.match(lines[0]!, new RegExp(`^${f}:\\d+:\\d+: spec\\.containers\\[0\\]\\.ports\\[0\\]\\.contianerPort: .*containerPort`));
    assert.match(lines.at(-1)!, /^error: .*nothing was applied/);
    assert.equal(store.currentResourceVersion(), rv);
    assert.equal(store.get('pods', 'default', 'good'), undefined);
    const missing = await cli(['apply', '-f', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: cannot read .*nope.yaml: no such file or folder\n$/);
  }));

function setPodStatus(store: SqliteStore, name: string, status: object, meta: object = {}): void {
  const p = store.get('pods', 'default', name)!;
  store.updateStatus('pods', { ...p, status });
  if (Object.keys(meta).length) store.update('pods', { ...store.get('pods', 'default', name)!, metadata: { ...p.metadata, ...meta, resourceVersion: undefined } } as KubeObject);
}

test('get pods: kubectl columns, statuses, wide, names, selectors, formats', () =>
  withDaemon(async ({ dir, cli, store }) => {
    const f = join(dir, 'pods.yaml');
    writeFileSync(f, ['web', 'crash', 'oom', 'done', 'new'].map((n) => POD_YAML(n)).join('---\n'));
    assert.equal((await cli(['apply', '-f', f])).code, 0);
    const running = { running: { startedAt: ago(50) } };
    setPodStatus(store, 'web', { phase: 'Running', podIP: '10.231.0.5', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'host', imageID: '', state: running, lastState: {} }] });
    setPodStatus(store, 'crash', {
      phase: 'Running',
      containerStatuses: [{ name: 'app', ready: false, restartCount: 4, image: 'host', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(20) } } }],
    });
    setPodStatus(store, 'oom', { phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'host', imageID: '', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } }, lastState: {} }] });
    setPodStatus(store, 'done', { phase: 'Succeeded', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'host', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } }, lastState: {} }] });
    setPodStatus(store, 'new', { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'host', imageID: '', state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} }] });
    const p = store.get('pods', 'default', 'done')!;
    store.update('pods', { ...p, metadata: { ...p.metadata, finalizers: ['x'] } });
    store.delete('pods', 'default', 'done');

    let r = await cli(['get', 'pods']);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      [
        'NAME    READY   STATUS              RESTARTS      AGE',
        'crash   0/1     CrashLoopBackOff    4 (20s ago)   60s',
        'done    0/1     Terminating         0             60s',
        'new     0/1     ContainerCreating   0             60s',
        'oom     0/1     OOMKilled           0             60s',
        'web     1/1     Running             0             60s',
        '',
      ].join('\n'),
    );
    r = await cli(['get', 'po', 'web', '-o', 'wide']);
    assert.equal(r.out, 'NAME   READY   STATUS    RESTARTS   AGE   IP           NODE\nweb    1/1     Running   0          60s   10.231.0.5   <none>\n');
    r = await cli(['get', 'pod', 'web', '--show-labels']);
    assert.equal(r.out, 'NAME   READY   STATUS    RESTARTS   AGE   LABELS\nweb    1/1     Running   0          60s   app=web\n');
    r = await cli(['get', 'pod', '-l', 'app in (web,oom)', '-o', 'name']);
    assert.equal(r.out, 'pod/oom\npod/web\n');
    r = await cli(['get', 'pods/web', '-o', 'json']);
    const obj = JSON.parse(r.out);
    assert.equal(obj.kind, 'Pod');
    assert.equal(obj.status.podIP, '10.231.0.5');
    r = await cli(['get', 'pods', '--field-selector', 'status.phase=Running', '-o', 'json']);
    const list = JSON.parse(r.out);
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((i: KubeObject) => i.metadata.name), ['crash', 'oom', 'web']);
    r = await cli(['get', 'pods', 'web', '-o', 'yaml']);
    assert.match(r.out, /^apiVersion: v1\nkind: Pod\n/);
    r = await cli(['get', 'pods', '-A']);
    assert.match(r.out.split('\n')[0]!, /^NAMESPACE   NAME /);
    r = await cli(['get', 'pods', 'web', 'ghost']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: pods "ghost" not found/);
    assert.match(r.out, /^NAME/);
    r = await cli(['get', 'pods', '-n', 'kube-system']);
    assert.equal(r.code, 0);
    assert.equal(r.err, 'No resources found in kube-system namespace.\n');
    r = await cli(['get', 'gizmos']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: the server doesn't have a resource type "gizmos"/);
    r = await cli(['get', 'pods', '-o', 'table']);
    assert.equal(r.code, 1);
    assert.match(r.err, /allowed formats are: wide,json,yaml,name/);
  }));

test('get: columns of other kinds', () =>
  withDaemon(async ({ cli, store }) => {
    const base = { metadata: { name: 'web', namespace: 'default' } };
    store.create('deployments.apps', { apiVersion: 'apps/v1', kind: 'Deployment', ...base, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'app', image: 'host' }] } } }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } });
    store.create('services', { apiVersion: 'v1', kind: 'Service', ...base, spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } });
    store.create('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', ...base, data: { a: '1', b: '2' } });
    store.create('secrets', { apiVersion: 'v1', kind: 'Secret', ...base, data: { a: 'eA==' } });
    store.create('events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.1', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web' }, reason: 'Started', message: 'Started container app', type: 'Normal', lastTimestamp: ago(30) });
    const out = async (args: string[]) => (await cli(args)).out;
    assert.equal(await out(['get', 'deploy']), 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    2/3     3            2           60s\n');
    assert.equal(await out(['get', 'deploy', '-o', 'wide']), 'NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES   SELECTOR\nweb    2/3     3            2           60s   app          host     app=web\n');
    assert.equal(await out(['get', 'svc']), 'NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE\nweb    NodePort   10.96.0.10   <none>        80:30080/TCP,53/UDP   60s\n');
    assert.equal(await out(['get', 'cm']), 'NAME   DATA   AGE\nweb    2      60s\n');
    assert.equal(await out(['get', 'secrets']), 'NAME   TYPE     DATA   AGE\nweb    Opaque   1      60s\n');
    assert.equal(await out(['get', 'ns']), 'NAME      STATUS   AGE\ndefault   Active   60s\n');
    assert.equal(await out(['get', 'ev']), 'LAST SEEN   TYPE     REASON    OBJECT    MESSAGE\n30s         Normal   Started   pod/web   Started container app\n');
    assert.equal(await out(['get', 'rs']), '');
    store.create('pods', { apiVersion: 'v1', kind: 'Pod', ...base, spec: { containers: [{ name: 'app', image: 'host' }] } });
    assert.equal(
      await out(['get', 'all']),
      [
        'NAME      READY   STATUS    RESTARTS   AGE',
        'pod/web   0/1     Pending   0          60s',
        '',
        'NAME          TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE',
        'service/web   NodePort   10.96.0.10   <none>        80:30080/TCP,53/UDP   60s',
        '',
        'NAME                  READY   UP-TO-DATE   AVAILABLE   AGE',
        'deployment.apps/web   2/3     3            2           60s',
        '',
      ].join('\n'),
    );
    assert.equal(await out(['get', 'all', '-o', 'name']), 'pod/web\nservice/web\ndeployment.apps/web\n');
  }));

test('describe shows fields and the object\'s events', () =>
  withDaemon(async ({ dir, cli, store }) => {
    writeFileSync(join(dir, 'p.yaml'), POD_YAML('web'));
    await cli(['apply', '-f', join(dir, 'p.yaml')]);
    const pod = store.get('pods', 'default', 'web')!;
    setPodStatus(store, 'web', { phase: 'Running', podIP: '10.231.0.7', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', ready: true, restartCount: 1, image: 'host', imageID: '', state: { running: { startedAt: ago(40) } }, lastState: {} }] });
    store.create('events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', uid: pod.metadata.uid! }, reason: 'Started', message: 'Started container app', type: 'Normal', source: { component: 'meshbox' }, count: 2, firstTimestamp: ago(50), lastTimestamp: ago(40) });
    store.create('events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e2', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', uid: 'old' }, reason: 'Killing', message: 'of an earlier pod', type: 'Normal' });
    store.create('events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e3', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'other' }, reason: 'BackOff', message: 'not this pod', type: 'Warning' });
    const r = await cli(['describe', 'pod', 'web']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Name:         web\nNamespace:    default\nLabels:       app=web\n/);
    assert.match(r.out, /\nIP:           10\.231\.0\.7\n/);
    assert.match(r.out, /\n    State:          Running\n      Started:      /);
    assert.match(r.out, /\n    Restart Count:  1\n/);
    assert.match(r.out, /\nConditions:\n  Type    Status\n  Ready   True\n/);
    assert.match(r.out, /\nEvents:\n  Type     Reason    Age                 From      Message\n  ----     ------    ----                ----      -------\n  Normal   Started   40s \(x2 over 50s\)   meshbox   Started container app\n$/);
    assert.doesNotMatch(r.out, /earlier pod|not this pod/);
    const cm = await cli(['describe', 'ns', 'default']);
    assert.match(cm.out, /^Name:         default\n/);
    assert.match(cm.out, /\nStatus:\n  Phase:  Active\n/);
    assert.match(cm.out, /Events:  <none>\n$/);
  }));

test('describe deployment and service: kubectl sections with related objects', () =>
  withDaemon(async ({ cli, store }) => {
    const d = store.create('deployments.apps', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'host', ports: [{ containerPort: 8080 }] }] } } },
      status: { replicas: 3, updatedReplicas: 3, availableReplicas: 2, unavailableReplicas: 1, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' }] },
    });
    const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid!, controller: true }];
    const rs = (name: string, rev: string, replicas: number) =>
      store.create('replicasets.apps', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default', ownerReferences: owner, annotations: { 'deployment.kubernetes.io/revision': rev } }, spec: { replicas }, status: { replicas } });
    rs('web-old', '1', 1);
    rs('web-new', '2', 2);
    store.create('events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Deployment', name: 'web', uid: d.metadata.uid! }, reason: 'ScalingReplicaSet', message: 'Scaled up replica set web-new to 2', type: 'Normal', source: { component: 'deployment-controller' }, lastTimestamp: ago(5) });
    let r = await cli(['describe', 'deploy', 'web']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Name:                   web\nNamespace:              default\n/);
    assert.match(r.out, /\nReplicas:               3 desired \| 3 updated \| 3 total \| 2 available \| 1 unavailable\n/);
    assert.match(r.out, /\nRollingUpdateStrategy:  25% max unavailable, 25% max surge\n/);
    assert.match(r.out, /\nPod Template:\n  Labels:  app=web\n  Containers:\n    app:\n      Image:          host\n      Port:           8080\/TCP\n/);
    assert.doesNotMatch(r.out, /Restart Count/);
    assert.match(r.out, /\n  Available   False    MinimumReplicasUnavailable\n/);
    assert.match(r.out, /\nOldReplicaSets:  web-old \(1\/1 replicas created\)\nNewReplicaSet:   web-new \(2\/2 replicas created\)\n/);
    assert.match(r.out, /Normal   ScalingReplicaSet   5s     deployment-controller   Scaled up replica set web-new to 2\n$/);

    store.create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, clusterIP: '10.96.0.7', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } });
    store.create('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.231.0.5' }, { ip: '10.231.0.6' }], ports: [{ name: 'http', port: 8080 }] }] });
    r = await cli(['describe', 'svc/web']);
    assert.match(r.out, /\nSelector:          app=web\nType:              ClusterIP\nIP:                10\.96\.0\.7\nPort:              http  80\/TCP\nTargetPort:        8080\/TCP\nEndpoints:         10\.231\.0\.5:8080,10\.231\.0\.6:8080\nSession Affinity:  None\n/);
  }));

test('delete by name, by file, not found, ignore-not-found', () =>
  withDaemon(async ({ dir, cli, store }) => {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, `${POD_YAML('a')}---\n${POD_YAML('b')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers: [{name: app, image: host}]\n`);
    assert.equal((await cli(['apply', '-f', f])).code, 0);
    let r = await cli(['delete', 'pod', 'a']);
    assert.equal(r.out, 'pod "a" deleted\n');
    assert.equal(store.get('pods', 'default', 'a'), undefined);
    r = await cli(['delete', 'pod', 'a']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: pods "a" not found/);
    r = await cli(['delete', '-f', f, '--ignore-not-found']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'pod "b" deleted\ndeployment.apps "d" deleted\n');
    r = await cli(['delete', 'pods']);
    assert.equal(r.code, 1);
    assert.match(r.err, /give the names/);
    // a pod whose finalizer (the runtime's teardown) runs: delete waits until it is gone
    writeFileSync(f, POD_YAML('slow'));
    await cli(['apply', '-f', f]);
    const slow = store.get('pods', 'default', 'slow')!;
    store.update('pods', { ...slow, metadata: { ...slow.metadata, finalizers: ['meshbox.dev/runtime'] } });
    const started = Date.now();
    setTimeout(() => {
      const cur = store.get('pods', 'default', 'slow')!;
      store.update('pods', { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
    }, 300);
    r = await cli(['delete', 'pod', 'slow']);
    assert.equal(r.code, 0, r.err);
    assert.ok(Date.now() - started >= 250, 'delete returned before the finalizer finished');
    assert.equal(store.get('pods', 'default', 'slow'), undefined);
    await cli(['apply', '-f', f]);
    const again = store.get('pods', 'default', 'slow')!;
    store.update('pods', { ...again, metadata: { ...again.metadata, finalizers: ['meshbox.dev/runtime'] } });
    r = await cli(['delete', 'pod', 'slow', '--timeout', '0']);
    assert.equal(r.code, 1);
    assert.match(r.err, /timed out waiting for pod "slow" to go; its finalizers \(meshbox.dev\/runtime\)/);
    r = await cli(['delete', 'pod', 'slow', '--no-wait']);
    assert.equal(r.code, 0);
  }));

test('logs, exec (exit status passed on, stdin), scale', () =>
  withDaemon(async ({ dir, cli, store }) => {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, `${POD_YAML('web')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers: [{name: app, image: host}]\n`);
    await cli(['apply', '-f', f]);
    let r = await cli(['logs', 'web', '--tail', '5', '-c', 'app']);
    assert.equal(r.out, 'log of web tail=5 container=app\n');
    r = await cli(['logs', 'ghost']);
    assert.equal(r.code, 1);
    assert.match(r.err, /pods "ghost" not found/);
    r = await cli(['exec', 'web', '--', 'sh', '-c', 'exit', '3']);
    assert.equal(r.code, 3);
    assert.equal(r.out, 'ran sh -c exit 3\n');
    assert.equal(r.err, 'warn\n');
    r = await cli(['exec', '-i', 'web', '--', 'cat'], { stdin: Readable.from([Buffer.from('piped in')]) });
    assert.equal(r.code, 0);
    assert.equal(r.out, 'piped in');
    r = await cli(['exec', 'web']);
    assert.equal(r.code, 1);
    assert.match(r.err, /give the command after --/);
    r = await cli(['scale', 'deployment/d', '--replicas', '4']);
    assert.equal(r.out, 'deployment.apps/d scaled\n');
    assert.equal((store.get('deployments.apps', 'default', 'd')!.spec as { replicas: number }).replicas, 4);
    r = await cli(['scale', 'pod/web', '--replicas', '2']);
    assert.equal(r.code, 1);
  }));

test('get -w prints changes until stopped', () =>
  withDaemon(async ({ cli, store }) => {
    const ac = new AbortController();
    const pending = cli(['get', 'cm', '-w'], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 150));
    store.create('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' }, data: { a: 'b' } });
    await new Promise((r) => setTimeout(r, 150));
    ac.abort();
    const r = await pending;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'NAME   DATA   AGE\nlate   1      60s\n');
  }));

test('registered commands replace built-ins', async () => {
  registerCommand((program, ctx) => {
    program.command('down').action(() => {
      ctx.out('custom down\n');
      ctx.exitCode = 0;
    });
  });
  const out = sink();
  assert.equal(await run(['down'], { stdout: out.w, stderr: sink().w, env: {} }), 0);
  assert.equal(out.text(), 'custom down\n');
  const help = sink();
  assert.equal(await run(['--help'], { stdout: help.w, stderr: sink().w, env: {} }), 0);
  assert.match(help.text(), /apply/);
  const bad = sink();
  assert.equal(await run(['get'], { stdout: sink().w, stderr: bad.w, env: {} }), 1);
  assert.match(bad.text(), /error: missing required argument 'kind'/);
  void PassThrough;
});
