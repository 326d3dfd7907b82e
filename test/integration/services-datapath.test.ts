/**
 * The service data path end to end, as root: a bridge mbx<rand> with pods in 10.205.<r>.0/24 and
 * Services in 10.206.<r>.0/24, three "pods" (netns attached by the real CNI plugins, each running a
 * tiny HTTP server that answers its name), a client netns, the real SqliteStore with the Endpoints
 * controller, the allocator, and ServiceProxy writing real iptables rules. Everything is removed in
 * `finally`, and the last check is that iptables-save has no line with the proxy's prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import type { KubeObject, Pod } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { execInNetns, netnsCommand } from '../../src/runtime/netns.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { InformerFactory } from '../../src/reconcile/index.js';
import { ClusterIpAllocator } from '../../src/controllers/services/cluster-ip-allocator.js';
import { endpointsController } from '../../src/controllers/services/endpoints-controllers.js';
import { ServiceProxy, type SyncInfo } from '../../src/controllers/services/service-proxy.js';
import type { Endpoints, Service } from '../../src/controllers/services/service-types.js';
import { NetnsPods, bridgeNameFor, pickFreeOctet } from './helpers/netns-pods.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, bridges, iptables)' : false;
const POD_NAMES = ['a', 'b', 'c'] as const;

const SERVER = `
const name = process.argv[1];
const server = require('http').createServer((req, res) => res.end(name)).listen(8080, '0.0.0.0', () => console.log('listening'));
// a well-behaved app: on SIGTERM stop accepting, finish what is in flight, exit
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

// Runs in the client netns: N requests, each on a new connection; prints {counts, errors, ms}.
const CLIENT = `
const [host, port, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const http = require('http');
const counts = {}; const errors = []; const ms = [];
function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = ''; res.on('data', (d) => (body += d));
      res.on('end', () => { counts[body] = (counts[body] || 0) + 1; ms.push(Number(process.hrtime.bigint() - t0) / 1e6); if (ms.length === 20) process.stderr.write('warm\\n'); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { errors.push({ code: e.code || e.message, ms: Number(process.hrtime.bigint() - t0) / 1e6 }); resolve(); });
  });
}
(async () => { for (let i = 0; i < n; i++) await one(); console.log(JSON.stringify({ counts, errors, ms })); })();
`;

interface ClientResult {
  counts: Record<string, number>;
  errors: { code: string; ms: number }[];
  ms: number[];
}

function podObject(name: string, ip: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web', [`pod-${name}`]: 'yes' } },
    spec: { containers: [{ name: 'srv', image: 'host', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function setReady(store: Store, name: string, ready: boolean): void {
  const p = store.get('pods', 'default', name)!;
  store.updateStatus('pods', { ...p, status: { ...(p.status as object), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

function serviceObject(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], sessionAffinity: 'None', ...spec },
  };
}

function hostGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('service data path: balancing, endpoint removal, hairpin, reject, affinity, NodePort, teardown', { skip, timeout: 180_000 }, async (t) => {
  const tag = randomHex(6);
  const bridge = bridgeNameFor(tag);
  const r = await pickFreeOctet(bridge, (o) => [`10.205.${o}.0/24`, `10.206.${o}.0/24`], {
    attempts: 30,
    exhausted: 'no free /24 pair in 10.205.0.0/16 and 10.206.0.0/16',
  });
  const podCidr = `10.205.${r}.0/24`;
  const serviceCidr = `10.206.${r}.0/24`;
  const pods = await NetnsPods.create({ tag, networkName: `mbx-svc-${tag}`, subnet: podCidr, gateway: `10.205.${r}.1`, routes: [podCidr, serviceCidr] });
  const store = new SqliteStore({ stateDir: join(pods.dir, 'state') });
  const informers = new InformerFactory(store);
  const endpoints = endpointsController({ store, informers });
  const syncs: { at: number; info: SyncInfo }[] = [];
  let proxy: ServiceProxy | undefined;
  let prefix = '';
  try {
    const ips: Record<string, string> = {};
    for (const name of [...POD_NAMES, 'client']) ips[name] = (await pods.addPod(name)).ip;
    const servers = new Map<string, ChildProcess>();
    for (const name of POD_NAMES) servers.set(name, await pods.serve(pods.nsName(name), SERVER, [name]));

    const allocator = new ClusterIpAllocator({ store, serviceCidr });
    const createService = (name: string, spec: Record<string, unknown>) => store.create('services', allocator.admitService(serviceObject(name, spec))) as Service;
    for (const name of POD_NAMES) {
      const created = store.create('pods', { ...podObject(name, ips[name]!), status: undefined } as KubeObject);
      store.updateStatus('pods', { ...created, status: podObject(name, ips[name]!).status });
    }
    const web = createService('web', {});
    const solo = createService('solo', { selector: { 'pod-a': 'yes' } });
    const empty = createService('empty', { selector: { app: 'nothing' } });
    const sticky = createService('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
    const nodePort = createService('published', { type: 'NodePort' });

    informers.start();
    await endpoints.start();
    proxy = new ServiceProxy({ informers, bridge, podCidr, serviceCidr, onSync: (info) => syncs.push({ at: performance.now(), info }) });
    prefix = proxy.prefix;
    await proxy.start();
    // the Endpoints controller may still be writing: wait until the proxy has every Service's endpoints
    const deadline = Date.now() + 5000;
    while (proxy.desiredRules().find((x) => x.name === 'default/web:http')?.endpoints.length !== 3 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 20));
    }
    await proxy.syncNow();

    const client = async (host: string, port: number, n: number, from = 'client'): Promise<ClientResult> => {
      const out = await execInNetns(pods.nsName(from), 'node', ['-e', CLIENT, host, String(port), String(n)], { timeoutMs: 60_000 });
      return JSON.parse(out.stdout) as ClientResult;
    };
    const vip = (s: Service) => s.spec.clusterIP!;

    await t.test('300 connections to the ClusterIP reach all three endpoints, each a share', async () => {
      const res = await client(vip(web), 80, 300);
      assert.deepEqual(res.errors, []);
      assert.deepEqual(Object.keys(res.counts).sort(), ['a', 'b', 'c']);
      // each should get about 100; 50 is far outside random variation (p < 1e-8)
      for (const name of POD_NAMES) assert.ok(res.counts[name]! >= 50, `endpoint ${name} got ${res.counts[name]} of 300: ${JSON.stringify(res.counts)}`);
    });

    await t.test('an endpoint taken out of the Endpoints gets no new connection within 1 s', async () => {
      const before = syncs.length;
      const t0 = performance.now();
      const notServing = proxy!.waitUntilNotServing(ips.b!, 2000);
      setReady(store, 'b', false);
      assert.equal(await notServing, true, 'waitUntilNotServing timed out');
      t.diagnostic(`waitUntilNotServing resolved after ${(performance.now() - t0).toFixed(1)} ms`);
      // the data path is current once a sync that saw the change has finished
      while (performance.now() - t0 < 3000) {
        const ep = store.get('endpoints', 'default', 'web') as Endpoints | undefined;
        const goneFromEndpoints = !ep?.subsets?.some((s) => s.addresses?.some((a) => a.ip === ips.b));
        if (goneFromEndpoints && syncs.length > before && !proxy!.desiredRules().find((x) => x.name === 'default/web:http')!.endpoints.some((e) => e.ip === ips.b)) break;
        await new Promise((res) => setTimeout(res, 5));
      }
      const elapsed = syncs[syncs.length - 1]!.at - t0;
      assert.ok(elapsed < 1000, `the data path took ${elapsed.toFixed(0)} ms to follow the change`);
      t.diagnostic(`endpoint removal applied after ${elapsed.toFixed(1)} ms (last restore ${syncs[syncs.length - 1]!.info.restoreMs.toFixed(1)} ms)`);
      const res = await client(vip(web), 80, 60);
      assert.deepEqual(res.errors, []);
      assert.equal(res.counts.b, undefined, `b still got connections: ${JSON.stringify(res.counts)}`);
      assert.ok((res.counts.a ?? 0) > 0 && (res.counts.c ?? 0) > 0);
      setReady(store, 'b', true);
      const back = Date.now() + 3000;
      while (Date.now() < back) {
        const res2 = await client(vip(web), 80, 30);
        if (res2.counts.b) return;
      }
      assert.fail('b did not come back after it turned ready');
    });

    await t.test('hairpin: a pod reaches itself through its own Service', async () => {
      const res = await client(vip(solo), 80, 5, 'a');
      assert.deepEqual(res.errors, []);
      assert.deepEqual(res.counts, { a: 5 });
    });

    await t.test('a Service without endpoints rejects at once (no hang)', async () => {
      const res = await client(vip(empty), 80, 3);
      assert.equal(res.errors.length, 3);
      for (const e of res.errors) {
        assert.equal(e.code, 'ECONNREFUSED');
        assert.ok(e.ms < 100, `rejection took ${e.ms} ms`);
      }
      t.diagnostic(`rejections after ${res.errors.map((e) => e.ms.toFixed(1)).join(', ')} ms`);
      // a port of the service CIDR that no Service has is refused as well, never routed away
      const unserved = await client(vip(web), 81, 1);
      assert.equal(unserved.errors[0]?.code, 'ECONNREFUSED');
    });

    await t.test('sessionAffinity ClientIP keeps a client on one endpoint', async () => {
      const res = await client(vip(sticky), 80, 40);
      assert.deepEqual(res.errors, []);
      assert.equal(Object.keys(res.counts).length, 1, `affinity broken: ${JSON.stringify(res.counts)}`);
      // and without affinity the same client does spread (the control)
      const spread = await client(vip(web), 80, 40);
      assert.ok(Object.keys(spread.counts).length > 1);
    });

    await t.test('NodePort answers on 127.0.0.1 from the host', async () => {
      const port = nodePort.spec.ports![0]!.nodePort!;
      assert.ok(port >= 30000 && port <= 32767);
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add(await hostGet(port));
      for (const name of seen) assert.ok((POD_NAMES as readonly string[]).includes(name), `unexpected answer ${name}`);
      assert.ok(seen.size >= 2, `NodePort reached only ${[...seen].join(',')}`);
    });

    await t.test('under load, an endpoint that leaves the rules before SIGTERM drops no request', async () => {
      // the client in the background; go on once it has 20 answers
      const cmd = netnsCommand(pods.nsName('client'), 'node', ['-e', CLIENT, vip(web), '80', '600']);
      const loader = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      pods.spawned.push(loader);
      let stdout = '';
      loader.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      const load = new Promise<ClientResult>((resolve, reject) =>
        loader.once('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as ClientResult) : reject(new Error(`client exited with ${code}`)))),
      );
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the load never started')), 10_000);
        loader.stderr!.on('data', (d: Buffer) => {
          if (d.toString().includes('warm')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      // the kubelet's order for a terminating pod: out of the endpoints, wait for the data path, then SIGTERM
      setReady(store, 'b', false);
      assert.equal(await proxy!.waitUntilNotServing(ips.b!, 2000), true);
      const b = servers.get('b')!;
      const exited = new Promise((res) => b.once('exit', res));
      b.kill('SIGTERM');
      await exited;
      const res = await load;
      assert.deepEqual(res.errors, [], `failed requests: ${JSON.stringify(res.errors.slice(0, 5))}`);
      assert.equal(Object.values(res.counts).reduce((x, y) => x + y, 0), 600);
      t.diagnostic(`under load: ${JSON.stringify(res.counts)}, p99 ${res.ms.sort((x, y) => x - y)[Math.floor(res.ms.length * 0.99)]!.toFixed(1)} ms`);
      assert.ok((res.counts.b ?? 0) > 0, 'b served nothing before it left; the test proved nothing');
    });

    await t.test('teardown leaves no rule or chain with the prefix', async () => {
      await proxy!.teardown();
      const saved = await run('iptables-save', []);
      const mine = saved.stdout.split('\n').filter((l) => l.includes(prefix));
      assert.deepEqual(mine, []);
      proxy = undefined;
    });
  } finally {
    await proxy?.teardown().catch(() => undefined);
    await endpoints.stop();
    informers.stop();
    store.close();
    await pods.cleanup();
    if (prefix) {
      const saved = await run('iptables-save', [], { allowFailure: true });
      assert.ok(!saved.stdout.includes(prefix), `rules with ${prefix} left behind`);
    }
  }
});
