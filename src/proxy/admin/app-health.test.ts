import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startAppHealth } from './app-health.js';

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

describe("the sidecar agent's app probes", async () => {
  const seen: string[] = [];
  const app = http.createServer((req, res) => {
    seen.push(`${req.url} ${req.headers['x-probe'] ?? ''}`);
    res.writeHead(req.url === '/ready' ? 204 : 500).end();
  });
  const appPort = await listen(app);
  const closed = net.createServer();
  const closedPort = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const agent = await startAppHealth(
    {
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: appPort, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
      '/app-health/web/livez': { tcpSocket: { port: appPort } },
      '/app-health/web/startupz': { httpGet: { path: '/broken', port: appPort } },
      '/app-health/gone/livez': { tcpSocket: { port: closedPort } },
    },
    { address: '127.0.0.1', port: 0 },
  );
  const agentPort = (agent.address() as AddressInfo).port;
  after(() => {
    agent.close();
    app.close();
  });
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${agentPort}${path}`);
    return { status: res.status, body: await res.text() };
  };

  it("answers with the app's own HTTP status and passes the probe's headers", async () => {
    assert.equal((await get('/app-health/web/readyz')).status, 204);
    assert.ok(seen.includes('/ready yes'));
    assert.equal((await get('/app-health/web/startupz')).status, 500);
  });

  it('answers 200 for a TCP probe that connects and 503 with the reason for one that does not', async () => {
    assert.equal((await get('/app-health/web/livez')).status, 200);
    const down = await get('/app-health/gone/livez');
    assert.equal(down.status, 503);
    assert.match(down.body, new RegExp(`dial tcp 127.0.0.1:${closedPort}: .*ECONNREFUSED`));
  });

  it('answers 404 for a probe it was not given', async () => {
    assert.equal((await get('/app-health/other/readyz')).status, 404);
  });
});
