// The ingress gateway: a Gateway object gets a gateway proxy process on the host, fed by the daemon's
// control plane, serving 127.0.0.1:<server port> by the VirtualServices bound to it;
// `meshbox proxy-status` shows it SYNCED, `proxy-config` shows its listener; deleting the Gateway
// stops the process and `meshbox down` leaves none; a killed daemon's gateway keeps serving and the
// next daemon adopts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { meshboxForThisFile, sleep } from './helpers/meshbox-harness.js';
import { freePort } from './helpers/free-port.js';
import { processAlive } from '../../src/core/process-alive.js';

const h = meshboxForThisFile();

const SERVER = `["node", "-e", "require('http').createServer((q,s)=>s.end('backend '+require('os').hostname()+' '+q.url)).listen(8080)"]`;

test('a Gateway gets a gateway proxy on 127.0.0.1 that routes by its VirtualService, shows SYNCED, survives a daemon restart, and stops with the Gateway', async () => {
  const port = await freePort();
  const selector = `gw-${Math.random().toString(36).slice(2, 8)}`;
  await h.apply(`apiVersion: apps/v1
kind: Deployment
metadata: { name: backend }
spec:
  replicas: 1
  selector: { matchLabels: { app: backend } }
  template:
    metadata: { labels: { app: backend } }
    spec:
      containers:
        - { name: web, image: host, command: ${SERVER}, ports: [{ name: http, containerPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: backend }
spec:
  selector: { app: backend }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ${selector} }
  servers:
    - port: { number: ${port}, name: http, protocol: HTTP }
      hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge-routes }
spec:
  hosts: ["*"]
  gateways: [edge]
  http:
    - route:
        - destination: { host: backend, port: { number: 80 } }
`);

  const body = await h.eventually(
    `the gateway answering on 127.0.0.1:${port}`,
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      return res.status === 200 && text.startsWith('backend ') ? text : undefined;
    },
    60_000,
  );
  assert.match(body, /^backend backend-[a-z0-9-]+ \/hello$/, 'the backend pod answered through the gateway');

  const status = await h.eventually('proxy-status listing the gateway as SYNCED', async () => {
    const r = await h.cli(['proxy-status']);
    const line = r.stdout.split('\n').find((l) => l.startsWith('edge.default '));
    return line && /gateway\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+\d+/.test(line) ? r.stdout : undefined;
  });
  assert.match(status, /^NAME\s+KIND\s+CLUSTERS\s+ENDPOINTS\s+LISTENERS\s+ROUTES\s+VERSION/m);

  const listeners = await h.cli(['proxy-config', 'gateway/edge', 'listeners', '-o', 'json']);
  assert.equal(listeners.code, 0, listeners.stderr);
  const ls = JSON.parse(listeners.stdout) as { address: string; port: number }[];
  assert.ok(ls.some((l) => l.address === '127.0.0.1' && l.port === port), `a listener on 127.0.0.1:${port}: ${listeners.stdout}`);
  const missing = await h.cli(['proxy-config', 'no-such-pod']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /proxy-status/, 'an unknown proxy says where to look');

  const pid = Number(readFileSync(join(h.stateDir, 'gateways', 'default.edge.pid'), 'utf8'));
  assert.ok(processAlive(pid), 'the gateway proxy process runs');

  // The daemon dies: the gateway keeps serving its last config; a new daemon adopts the process.
  await h.killDaemon();
  const whileDown = await fetch(`http://127.0.0.1:${port}/down`, { signal: AbortSignal.timeout(2000) });
  assert.equal(whileDown.status, 200);
  assert.match(await whileDown.text(), /^backend .* \/down$/);
  await h.start();
  await h.eventually('the adopted gateway SYNCED with the new daemon', async () => {
    const r = await h.cli(['proxy-status']);
    return /^edge\.default\s+gateway\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/m.test(r.stdout);
  });
  assert.equal(Number(readFileSync(join(h.stateDir, 'gateways', 'default.edge.pid'), 'utf8')), pid, 'the restarted daemon adopted the process');
  assert.ok(processAlive(pid));

  // A gateway proxy that dies is started again (the supervisor resyncs every 5 s).
  process.kill(pid, 'SIGKILL');
  const restarted = await h.eventually('a new gateway process', async () => {
    const p = Number(readFileSync(join(h.stateDir, 'gateways', 'default.edge.pid'), 'utf8'));
    return p !== pid && processAlive(p) ? p : undefined;
  });
  await h.eventually('the restarted gateway serving', async () => (await fetch(`http://127.0.0.1:${port}/again`, { signal: AbortSignal.timeout(2000) })).status === 200);
  const del = await h.cli(['delete', 'gateway', 'edge']);
  assert.ok(!processAlive(pid), 'the killed process is gone');
  assert.equal(del.code, 0, del.stderr);
  await h.eventually('the gateway process stopped', async () => !processAlive(restarted), 15_000);
  const refused = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
    () => false,
    () => true,
  );
  assert.ok(refused, 'nothing listens on the gateway port after the Gateway is deleted');

  // A second Gateway is running when `meshbox down` comes (after): the leak check finds no process.
  await h.apply(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge2 }
spec:
  selector: { istio: ${selector}-2 }
  servers:
    - port: { number: ${port}, name: http, protocol: HTTP }
      hosts: ["*"]
`);
  await h.eventually('the second gateway process', async () => {
    try {
      return processAlive(Number(readFileSync(join(h.stateDir, 'gateways', 'default.edge2.pid'), 'utf8')));
    } catch {
      return false;
    }
  });
  await sleep(200);
});
