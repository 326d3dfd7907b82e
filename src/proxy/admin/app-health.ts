/**
 * The sidecar's agent port (15020): runs an app container's original HTTP or TCP probe against
 * 127.0.0.1 inside the pod, for the kubelet's rewritten probe (src/meshconfig/app-probers.ts).
 * Answers the app's own status for HTTP (Istio's agent does the same), 200 for an accepted TCP
 * connection, 503 with the reason when the app cannot be reached, 404 for an unknown path.
 */
import http from 'node:http';
import net from 'node:net';
import type { AppProber, AppProbers } from '../../meshconfig/app-probers.js';

const DEFAULT_TIMEOUT_S = 1;

export async function startAppHealth(probers: AppProbers, listen: { address: string; port: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const prober = probers[(req.url ?? '').split('?')[0]!];
    if (req.method !== 'GET' || !prober) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such app probe\n');
      return;
    }
    void runProber(prober).then(({ status, body }) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.address, () => resolve());
  });
  return server;
}

export function runProber(p: AppProber): Promise<{ status: number; body: string }> {
  const timeoutMs = (p.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  if (p.httpGet) {
    const g = p.httpGet;
    return new Promise((resolve) => {
      const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.30' };
      for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
      const req = http.get({ host: '127.0.0.1', port: g.port, path: g.path ?? '/', headers, timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: `app answered ${res.statusCode}\n` }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ status: 503, body: `GET http://127.0.0.1:${g.port}${g.path ?? '/'}: ${err.message}\n` }));
    });
  }
  const port = p.tcpSocket!.port;
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ status: 200, body: `connected to 127.0.0.1:${port}\n` });
    });
    socket.once('timeout', () => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ status: 503, body: `dial tcp 127.0.0.1:${port}: ${err.message}\n` }));
  });
}
