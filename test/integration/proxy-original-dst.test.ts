/**
 * Original destination through real iptables REDIRECT, as root: a netns "pod" (lo holding fake
 * VIPs and a real passthrough destination in 10.222.<r>.0/24, a veth to a "peer" netns in
 * 10.222.<r+1>.0/30), the proxy running there as uid 1337 from a config file
 * (the real addon reads SO_ORIGINAL_DST), nat OUTPUT rules like the sidecar's capture (the proxy's
 * uid excluded) and a PREROUTING rule for inbound. Clients run in the netns as root, so their
 * connections are redirected; everything is deleted in `finally`.
 * The second test runs the same through injected sidecars in a meshbox daemon (MeshboxHarness,
 * which runs bin/meshbox.js, i.e. dist/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeObject, Pod } from '../../src/api/types.js';
import { run } from '../../src/core/exec.js';
import { randomHex } from '../../src/core/ids.js';
import { MeshboxHarness } from './helpers/meshbox-harness.js';
import { podReady } from './helpers/pod-waits.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, iptables, setpriv)' : false;
const ENTRY = fileURLToPath(new URL('../../src/proxy/entry.js', import.meta.url));

// Upstreams inside the pod netns (root, so nothing of theirs is redirected: they only accept).
const SERVERS = `
const http = require('http'), net = require('net');
const [vipNet] = process.argv.slice(1);
const up = [];
const h = (port, host, name) => up.push(new Promise((r) => http.createServer((q, s) => s.end(name)).listen(port, host, r)));
const t = (port, host, onConn) => up.push(new Promise((r) => net.createServer(onConn).listen(port, host, r)));
h(8081, '127.0.0.1', 'A');
t(7001, '127.0.0.1', (s) => s.pipe(s));
t(7002, '127.0.0.1', (s) => s.write('220 banner\\r\\n'));
h(8080, vipNet + '.50', 'D');
t(7000, vipNet + '.50', (s) => { s.write('D:'); s.pipe(s); });
h(9090, '0.0.0.0', 'APP');
t(5001, '127.0.0.1', (s) => s.write('IN5001'));
Promise.all(up).then(() => console.log('listening'));
`;

// Runs in a netns as root; prints one JSON object with every result.
const CLIENT = `
const http = require('http'), net = require('net');
const checks = JSON.parse(process.argv[1]);
const get = (host, port, hostHeader, path = '/') => new Promise((resolve) => {
  const req = http.request({ host, port, path, headers: { host: hostHeader }, agent: false, timeout: 4000 }, (res) => {
    let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode, body, error: res.headers['x-meshbox-error'] }));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => resolve({ status: 0, body: '', error: String(e.code || e.message) }));
  req.end();
});
const tcp = (host, port, send, ms) => new Promise((resolve) => {
  const t0 = Date.now(); let data = ''; let first = -1;
  const s = net.connect(port, host, () => { if (send) s.write(send); });
  const timer = setTimeout(() => { s.destroy(); resolve({ data, closed: false, firstByteMs: first }); }, ms);
  s.on('data', (d) => { if (first < 0) first = Date.now() - t0; data += d; });
  s.on('error', () => {});
  s.on('close', () => { clearTimeout(timer); resolve({ data, closed: true, firstByteMs: first }); });
});
(async () => {
  // The proxy is ready when its health port answers.
  for (let i = 0; i < 100 && checks.waitHealth; i++) {
    const r = await get('127.0.0.1', 15021, 'x', '/healthz/ready');
    if (r.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = {};
  for (const [name, c] of Object.entries(checks.list)) {
    out[name] = c.kind === 'http' ? await get(c.host, c.port, c.hostHeader, c.path) : await tcp(c.host, c.port, c.send, c.ms);
  }
  console.log(JSON.stringify(out));
})();
`;

interface Result {
  status?: number;
  body?: string;
  error?: string;
  data?: string;
  closed?: boolean;
  firstByteMs?: number;
}

async function sh(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args, { timeoutMs: 15_000 });
}

function spawnIn(ns: string, args: string[], out: { text: string }): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.text += d.toString()));
  return child;
}

async function waitFor(pred: () => boolean, ms: number, what: string, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function clientIn(ns: string, list: Record<string, unknown>, waitHealth = false): Promise<Record<string, Result>> {
  const r = await run('ip', ['netns', 'exec', ns, 'node', '-e', CLIENT, JSON.stringify({ list, waitHealth })], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, Result>;
}

test('proxy reads SO_ORIGINAL_DST after iptables REDIRECT: VIP routing, tcp entries, passthrough, black hole, inbound', { skip, timeout: 120_000 }, async () => {
  const rand = randomHex(3);
  const ns = `mbx-od-${rand}`;
  const peer = `mbx-odp-${rand}`;
  const octet = 10 + (parseInt(rand, 16) % 120) * 2; // even, so octet+1 is free for the veth /30
  const vip = `10.222.${octet}`;
  const link = `10.222.${octet + 1}`;
  const dir = mkdtempSync(join(tmpdir(), 'mbx-od-'));
  const procs: ChildProcess[] = [];
  const serversOut = { text: '' };
  const proxyOut = { text: '' };
  try {
    chmodSync(dir, 0o755);
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['netns', 'add', peer]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', peer, 'link', 'set', 'lo', 'up']);
    // On lo (this kernel has no dummy module): .50 hosts the real passthrough destination;
    // .100-.102 are fake VIPs nothing listens on. .200 (below) is routable but nobody's.
    for (const a of [`${vip}.50/32`, `${vip}.100/32`, `${vip}.101/32`, `${vip}.102/32`]) {
      await sh('ip', ['-n', ns, 'addr', 'add', a, 'dev', 'lo']);
    }
    await sh('ip', ['-n', ns, 'link', 'add', 'vpod', 'type', 'veth', 'peer', 'name', 'vpeer', 'netns', peer]);
    await sh('ip', ['-n', ns, 'addr', 'add', `${link}.2/30`, 'dev', 'vpod']);
    await sh('ip', ['-n', peer, 'addr', 'add', `${link}.1/30`, 'dev', 'vpeer']);
    await sh('ip', ['-n', ns, 'link', 'set', 'vpod', 'up']);
    await sh('ip', ['-n', peer, 'link', 'set', 'vpeer', 'up']);
    await sh('ip', ['-n', ns, 'route', 'add', `${vip}.128/25`, 'dev', 'vpod']);

    // The sidecar capture, reduced: the app's outbound to the VIP range goes to 15001 (its lower
    // half) or 15011 (upper half: a listener without passthrough); inbound from the veth to 15006.
    const ipt = (...args: string[]): Promise<void> => sh('ip', ['netns', 'exec', ns, 'iptables', '-w', '-t', 'nat', ...args]);
    await ipt('-A', 'OUTPUT', '-p', 'tcp', '-d', `${vip}.0/25`, '-m', 'owner', '!', '--uid-owner', '1337', '-j', 'REDIRECT', '--to-ports', '15001');
    await ipt('-A', 'OUTPUT', '-p', 'tcp', '-d', `${vip}.128/25`, '-m', 'owner', '!', '--uid-owner', '1337', '-j', 'REDIRECT', '--to-ports', '15011');
    await ipt('-A', 'PREROUTING', '-p', 'tcp', '-i', 'vpod', '-j', 'REDIRECT', '--to-ports', '15006');

    const servers = spawnIn(ns, ['node', '-e', SERVERS, vip], serversOut);
    procs.push(servers);
    await waitFor(() => serversOut.text.includes('listening'), 15_000, 'upstream servers', () => serversOut.text);

    const http = (port: number): unknown[] => [{ address: '127.0.0.1', port }];
    const config = {
      node: { id: `sidecar~${link}.2~od.test~test.svc.cluster.local`, metadata: { workload: 'od', namespace: 'test' } },
      admin: { address: '127.0.0.1', port: 15000 },
      stats: { address: '127.0.0.1', port: 15090 },
      health: { address: '127.0.0.1', port: 15021 },
      accessLog: 'stdout',
      limits: { detectTimeout: '3s' },
      version: '1',
      listeners: [
        {
          name: 'virtualOutbound', address: '0.0.0.0', port: 15001, protocol: 'auto', direction: 'outbound', routeConfig: 'outbound',
          originalDst: { tcp: { [`${vip}.101:5432`]: 'echo', [`${vip}.102:25`]: 'banner' }, passthrough: true },
        },
        { name: 'strictOutbound', address: '0.0.0.0', port: 15011, protocol: 'auto', direction: 'outbound', routeConfig: 'outbound', originalDst: { passthrough: false } },
        {
          name: 'virtualInbound', address: '0.0.0.0', port: 15006, protocol: 'auto', direction: 'inbound', routeConfig: 'inbound',
          originalDst: { tcp: { '*:5000': 'in5001' }, passthrough: true },
        },
      ],
      routes: [
        { name: 'outbound', virtualHosts: [{ name: 'a', domains: ['a.test.svc.cluster.local:80', `${vip}.100:80`], routes: [{ name: 'default', route: [{ cluster: 'a' }] }] }] },
        { name: 'inbound', virtualHosts: [] },
      ],
      clusters: [
        { name: 'a', protocol: 'http', endpoints: http(8081) },
        { name: 'echo', protocol: 'tcp', endpoints: http(7001) },
        { name: 'banner', protocol: 'tcp', endpoints: http(7002) },
        { name: 'in5001', protocol: 'tcp', endpoints: http(5001) },
      ],
    };
    const file = join(dir, 'proxy.json');
    writeFileSync(file, JSON.stringify(config));
    chmodSync(file, 0o644);
    const proxy = spawnIn(ns, ['setpriv', '--reuid', '1337', '--regid', '1337', '--clear-groups', process.execPath, ENTRY, file], proxyOut);
    procs.push(proxy);

    const out = await clientIn(ns, {
      vipHttp: { kind: 'http', host: `${vip}.100`, port: 80, hostHeader: 'unknown-name.example' },
      hostHttp: { kind: 'http', host: `${vip}.50`, port: 8080, hostHeader: 'a.test.svc.cluster.local:80' },
      tcpClientFirst: { kind: 'tcp', host: `${vip}.101`, port: 5432, send: 'ping', ms: 2000 },
      tcpServerFirst: { kind: 'tcp', host: `${vip}.102`, port: 25, ms: 2000 },
      passHttp: { kind: 'http', host: `${vip}.50`, port: 8080, hostHeader: 'nobody.example' },
      passTcp: { kind: 'tcp', host: `${vip}.50`, port: 7000, send: '\u0000bin', ms: 2000 },
      strictHttp: { kind: 'http', host: `${vip}.200`, port: 8080, hostHeader: 'nobody.example' },
      strictTcp: { kind: 'tcp', host: `${vip}.200`, port: 9999, send: '\u0000bin', ms: 5000 },
      stats: { kind: 'http', host: '127.0.0.1', port: 15090, hostHeader: 'x', path: '/stats/prometheus' },
    }, true);
    const diag = (): string => `${JSON.stringify(out, null, 1)}\nproxy output:\n${proxyOut.text}`;

    assert.equal(out.vipHttp?.body, 'A', `unknown Host to a VIP: routed by VIP:port\n${diag()}`);
    assert.equal(out.hostHttp?.body, 'A', 'a known Host wins over the original destination');
    assert.equal(out.tcpClientFirst?.data, 'ping', 'client-first TCP to a VIP reaches the tcp entry\'s cluster');
    assert.equal(out.tcpServerFirst?.data, '220 banner\r\n', 'server-first TCP to a VIP gets the banner');
    assert.ok((out.tcpServerFirst?.firstByteMs ?? -1) >= 0 && (out.tcpServerFirst?.firstByteMs ?? 9999) < 2500, 'without waiting for the 3 s protocol detection');
    assert.equal(out.passHttp?.status, 200);
    assert.equal(out.passHttp?.body, 'D', 'HTTP to an address nobody configured passes through to the real listener there');
    assert.equal(out.passTcp?.data, 'D:\u0000bin', 'so does plain TCP');
    assert.equal(out.strictHttp?.status, 502, 'no passthrough: 502');
    assert.match(out.strictHttp?.error ?? '', new RegExp(`^NR .*${vip.replace(/\./g, '\\.')}\\.200:8080.*strictOutbound`));
    assert.equal(out.strictTcp?.closed, true, 'no passthrough: TCP closed');
    assert.equal(out.strictTcp?.data, '');
    assert.match(out.stats?.body ?? '', /destination_service_name="PassthroughCluster"/);
    assert.match(out.stats?.body ?? '', /istio_tcp_connections_opened_total\{[^}]*destination_service_name="BlackHoleCluster"[^}]*\} 1/);
    await waitFor(() => proxyOut.text.includes('BlackHoleCluster'), 3000, 'the black-hole access-log line', diag);

    const inbound = await clientIn(peer, {
      inHttp: { kind: 'http', host: `${link}.2`, port: 9090, hostHeader: 'whatever.example' },
      inTcp: { kind: 'tcp', host: `${link}.2`, port: 5000, ms: 2000 },
    });
    assert.equal(inbound.inHttp?.body, 'APP', `inbound HTTP on an undeclared port passes through to 127.0.0.1:9090\n${JSON.stringify(inbound)}\n${proxyOut.text}`);
    assert.equal(inbound.inTcp?.data, 'IN5001', 'inbound TCP on port 5000 goes to the *:5000 entry\'s cluster');
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await run('ip', ['netns', 'del', ns], { allowFailure: true, timeoutMs: 15_000 });
    await run('ip', ['netns', 'del', peer], { allowFailure: true, timeoutMs: 15_000 });
    rmSync(dir, { recursive: true, force: true });
  }
  const left = await run('ip', ['netns', 'list'], { timeoutMs: 5000 });
  assert.ok(!left.stdout.includes(`mbx-od-${rand}`) && !left.stdout.includes(`mbx-odp-${rand}`), 'both netns are gone');
});

const MESH_APP = `
apiVersion: v1
kind: ConfigMap
metadata: { name: apps }
data:
  banner.js: |
    // server-first: says hello, then echoes
    require('node:net').createServer((s) => { s.write('hello\\n'); s.pipe(s); }).listen(5000);
    process.on('SIGTERM', () => process.exit(0));
  loner.js: |
    require('node:http').createServer((q, r) => r.end('loner')).listen(8080);
    process.on('SIGTERM', () => process.exit(0));
---
apiVersion: v1
kind: Pod
metadata: { name: banner, labels: { app: banner } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: banner
      image: host
      command: ["node", "/app/banner.js"]
      ports: [{ name: tcp, containerPort: 5000 }]
      readinessProbe: { tcpSocket: { port: 5000 }, periodSeconds: 1 }
      volumeMounts: [{ name: app, mountPath: /app }]
  volumes: [{ name: app, configMap: { name: apps } }]
---
apiVersion: v1
kind: Service
metadata: { name: banner }
spec:
  selector: { app: banner }
  ports: [{ name: tcp-banner, port: 5432, targetPort: 5000 }]
---
apiVersion: v1
kind: Pod
metadata: { name: loner, labels: { app: loner } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: loner
      image: host
      command: ["node", "/app/loner.js"]
      ports: [{ name: http, containerPort: 8080 }]
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
      volumeMounts: [{ name: app, mountPath: /app }]
  volumes: [{ name: app, configMap: { name: apps } }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { app: client } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - { name: client, image: host, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }
`;

// Reads the banner, sends "ping", expects it back; prints what it got.
const TCP_CLIENT = `
const s = require('net').connect(Number(process.argv[2]), process.argv[1]);
let d = '';
s.on('data', (c) => { d += c; if (d === 'hello\\n') s.write('ping'); if (d === 'hello\\nping') { console.log('OK'); process.exit(0); } });
s.on('error', (e) => { console.log('ERROR ' + e.message); process.exit(1); });
setTimeout(() => { console.log('TIMEOUT ' + JSON.stringify(d)); process.exit(1); }, 8000);
`;

test('mesh: a TCP Service by its VIP through both sidecars, and a pod IP no Service names passed through', { skip, timeout: 240_000 }, async () => {
  const h = new MeshboxHarness({ mesh: true });
  try {
    await h.start();
    await h.apply(MESH_APP);
    const ready = (name: string): Promise<Pod> =>
      h.eventually(`${name} Ready`, async () => {
        const p = await h.pod(name);
        return p && podReady(p) ? p : undefined;
      }, 90_000);
    const [client, banner, loner] = [await ready('client'), await ready('banner'), await ready('loner')];
    const svc = (await h.list<KubeObject & { spec: { clusterIP: string } }>('/api/v1/namespaces/default/services')).find((x) => x.metadata.name === 'banner')!;
    const vip = svc.spec.clusterIP;

    // The client's sidecar pipes VIP:5432 to the banner pod at once (server-first works), and the
    // banner's sidecar takes it on *:5000.
    let last = '';
    const r = await h.eventually('TCP through both sidecars', async () => {
      const x = await h.cli(['exec', 'client', '--', 'node', '-e', TCP_CLIENT, vip, '5432']);
      last = `${x.stdout} ${x.stderr}`;
      return x.stdout.includes('OK') ? x : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; last try: ${last}`);
    });
    assert.equal(r.code, 0);
    const tcpLines = async (p: Pod): Promise<string> => {
      const text = await (await fetch(`http://${p.status!.podIP}:15090/stats/prometheus`)).text();
      return text.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{')).join('\n');
    };
    assert.match(await tcpLines(client), /reporter="source"[^}]*destination_service_name="banner"/);
    assert.match(await tcpLines(banner), /reporter="destination"[^}]*destination_service_name="banner"/);

    // No Service names the loner: the client's sidecar passes the call through to its pod IP.
    const call = await h.cli(['exec', 'client', '--', 'curl', '-s', '-m', '5', `http://${loner.status!.podIP}:8080/`]);
    assert.equal(call.stdout, 'loner', call.stderr);
    const clientStats = await (await fetch(`http://${client.status!.podIP}:15090/stats/prometheus`)).text();
    assert.match(clientStats, /istio_requests_total\{[^}]*destination_service_name="PassthroughCluster"[^}]*response_code="200"/);
  } finally {
    const leaks = await h.down();
    assert.deepEqual(leaks, [], 'meshbox down leaves nothing behind');
  }
});

test('addon: IPv6 (IP6T_SO_ORIGINAL_DST), IPv4 on a dual-stack socket, and null-equivalent for a direct connection', { skip, timeout: 60_000 }, async () => {
  const ns = `mbx-od6-${randomHex(4)}`;
  const addon = createRequire(import.meta.url).resolve('meshbox-original-dst');
  const script = `
const net = require('net'); const m = require(${JSON.stringify(addon)});
const seen = [];
const s = net.createServer((c) => { seen.push([c.remoteAddress, m.originalDst(c._handle.fd)]); c.destroy(); if (seen.length === 3) { console.log(JSON.stringify(seen)); process.exit(0); } })
  .listen(15099, '::', async () => {
    for (const [port, host] of [[80, 'fd00:222::100'], [80, '10.222.251.100'], [15099, '::1']]) {
      net.connect(port, host).on('error', () => {});
      await new Promise((r) => setTimeout(r, 200));
    }
  });
setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(1); }, 10000);
`;
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', 'fd00:222::100/128', 'dev', 'lo', 'nodad']);
    await sh('ip', ['-n', ns, 'addr', 'add', '10.222.251.100/32', 'dev', 'lo']);
    await sh('ip', ['netns', 'exec', ns, 'ip6tables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', 'fd00:222::100', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '15099']);
    await sh('ip', ['netns', 'exec', ns, 'iptables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '10.222.251.100', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '15099']);
    const r = await run('ip', ['netns', 'exec', ns, 'node', '-e', script], { timeoutMs: 20_000 });
    const seen = JSON.parse(r.stdout.trim()) as [string, [string, number] | null][];
    assert.deepEqual(seen[0]?.[1], ['fd00:222::100', 80], 'IPv6 original destination');
    assert.deepEqual(seen[1]?.[1], ['10.222.251.100', 80], 'IPv4 through a dual-stack (::) socket');
    // Not NATed: the kernel reports the connection's own destination (or nothing); the wrapper calls that "not redirected".
    const direct = seen[2]?.[1];
    assert.ok(direct === null || (direct?.[0] === '::1' && direct[1] === 15099), JSON.stringify(seen[2]));
  } finally {
    await run('ip', ['netns', 'del', ns], { allowFailure: true, timeoutMs: 15_000 });
  }
});
