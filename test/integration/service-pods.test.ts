// Services over real pods: a ClusterIP and its DNS name reach every ready replica, a headless name
// returns every ready pod IP, readiness gates endpoints, service env vars are injected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshboxForThisFile } from './helpers/meshbox-harness.js';

const h = meshboxForThisFile();

const SERVER = `["node", "-e", "require('http').createServer((q,s)=>s.end(require('os').hostname())).listen(8080)"]`;

function backend(name: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: web } }
spec:
  containers:
    - { name: web, image: host, command: ${SERVER}, ports: [{ name: http, containerPort: 8080 }] }
---
`;
}

test('a ClusterIP and its DNS names reach every ready backend; headless returns pod IPs; env vars', async () => {
  await h.apply(`${backend('web-a')}${backend('web-b')}${backend('web-c')}apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: web-headless }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ name: http, port: 8080 }]
`);
  const ips = new Set<string>();
  for (const n of ['web-a', 'web-b', 'web-c']) ips.add((await h.waitReady(n)).status!.podIP!);
  // the client starts after the services exist, so it gets their environment variables
  await h.apply(`apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  containers: [{ name: c, image: host, command: ["sleep", "3600"] }]
`);
  await h.waitReady('client');
  const svc = await h.client.get<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/web');
  const vip = svc.spec.clusterIP;
  assert.match(vip, /^10\.21[23]\.\d+\.\d+$/, 'the ClusterIP comes from the service CIDR');

  const env = await h.cli(['exec', 'client', '--', 'sh', '-c', 'echo $WEB_SERVICE_HOST:$WEB_SERVICE_PORT']);
  assert.equal(env.stdout.trim(), `${vip}:80`);

  const script = (url: string, n: number) =>
    `(async()=>{const c={};for(let i=0;i<${n};i++){const t=await (await fetch('${url}',{headers:{connection:'close'}})).text();c[t]=(c[t]||0)+1}process.stdout.write(JSON.stringify(c))})()`;
  for (const url of [`http://${vip}/`, 'http://web/', 'http://web.default/', 'http://web.default.svc.cluster.local/']) {
    const r = await h.eventually(`spread through ${url}`, async () => {
      const out = await h.cli(['exec', 'client', '--', 'node', '-e', script(url, 60)]);
      if (out.code !== 0) return undefined;
      const counts = JSON.parse(out.stdout) as Record<string, number>;
      return Object.keys(counts).length === 3 ? counts : undefined;
    });
    for (const n of ['web-a', 'web-b', 'web-c']) assert.ok((r[n] ?? 0) >= 5, `${n} got a share through ${url}: ${JSON.stringify(r)}`);
  }

  const headless = await h.cli(['exec', 'client', '--', 'node', '-e', "require('dns').resolve4('web-headless.default.svc.cluster.local',(e,a)=>{if(e)throw e;process.stdout.write(a.sort().join(','))})"]);
  assert.equal(headless.stdout, [...ips].sort().join(','), headless.stderr);

  // a deleted backend leaves the endpoints before its containers stop: no request fails meanwhile
  const del = h.cli(['delete', 'pod', 'web-c']);
  const during = await h.cli(['exec', 'client', '--', 'node', '-e', script(`http://${vip}/`, 100)]);
  assert.equal(during.code, 0, `no request failed while a backend was deleted: ${during.stderr}`);
  assert.equal((await del).code, 0);
  await h.waitGone('web-c');
  const after = JSON.parse((await h.cli(['exec', 'client', '--', 'node', '-e', script(`http://${vip}/`, 40)])).stdout) as Record<string, number>;
  assert.deepEqual(Object.keys(after).sort(), ['web-a', 'web-b']);

  // a service whose pods are all gone rejects at once
  await h.cli(['delete', 'pods', '-l', 'app=web']);
  await h.waitGone('web-a');
  await h.waitGone('web-b');
  const refused = await h.eventually('refused quickly', async () => {
    const r = await h.cli(['exec', 'client', '--', 'node', '-e', `const t=Date.now();require('net').connect(80,'${vip}').on('error',e=>{process.stdout.write(e.code+' '+(Date.now()-t))}).on('connect',()=>process.stdout.write('connected'))`]);
    return r.stdout.startsWith('ECONNREFUSED') ? r.stdout : undefined;
  });
  assert.ok(Number(refused.split(' ')[1]) < 500, `rejected at once, not a hang: ${refused}`);
});
