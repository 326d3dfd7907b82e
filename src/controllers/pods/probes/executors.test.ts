// The probe executors against real sockets on 127.0.0.1: HTTP (plain and TLS), TCP, gRPC health over
// HTTP/2, and exec through a boundary fake of runc exec.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runProbe } from './run-probe.js';
import { decodeHealthCheckRequest, decodeHealthCheckResponse, encodeHealthCheckRequest, encodeHealthCheckResponse, HEALTH_CHECK_PATH } from './grpc-probe.js';
import type { ExecResult, ProbeTarget } from './probe-target.js';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const target = (exec?: (argv: string[], timeoutMs: number) => Promise<ExecResult>): ProbeTarget => ({
  podIP: '127.0.0.1',
  exec: exec ?? (async () => ({ exitCode: 0, output: '' })),
});

const container = { name: 'app', ports: [{ name: 'http', containerPort: 0 }] };

describe('httpGet', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  const seen: http.IncomingHttpHeaders[] = [];
  const hang = new Set<http.ServerResponse>();

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/hang') return void hang.add(res);
      if (req.url === '/same-host') return void res.writeHead(302, { location: '/healthz' }).end();
      if (req.url === '/other-host') return void res.writeHead(301, { location: `http://localhost:${port}/healthz` }).end('moved');
      if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      res.writeHead(status).end(`status ${status}`);
    });
    port = await listen(server);
    container.ports[0]!.containerPort = port;
  });
  after(() => {
    for (const r of hang) r.destroy();
    server.close();
  });

  test('200..399 is success with the body as output, 500 fails with the kubelet message', async () => {
    status = 200;
    assert.deepEqual(await runProbe({ httpGet: { path: '/healthz', port } }, container, target(), 1000), { outcome: 'success', output: 'status 200' });
    status = 500;
    assert.deepEqual(await runProbe({ httpGet: { path: '/healthz', port } }, container, target(), 1000), {
      outcome: 'failure',
      output: 'HTTP probe failed with statuscode: 500',
    });
    status = 399;
    assert.equal((await runProbe({ httpGet: { path: '/healthz', port } }, container, target(), 1000)).outcome, 'warning', '3xx without a location is a warning');
    status = 400;
    assert.equal((await runProbe({ httpGet: { path: '/healthz', port } }, container, target(), 1000)).outcome, 'failure');
  });

  test('sends kube-probe User-Agent and probe headers, resolves a named port, adds the leading slash', async () => {
    status = 200;
    seen.length = 0;
    const r = await runProbe({ httpGet: { path: 'healthz', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'Accept', value: 'text/plain' }] } }, container, target(), 1000);
    assert.equal(r.outcome, 'success');
    assert.equal(seen[0]?.['user-agent'], 'kube-probe/1.30');
    assert.equal(seen[0]?.['x-probe'], 'yes');
    assert.equal(seen[0]?.accept, 'text/plain', 'a probe header replaces the default');
  });

  test('an unknown named port fails with a clear message', async () => {
    const r = await runProbe({ httpGet: { path: '/', port: 'metrics' } }, container, target(), 1000);
    assert.equal(r.outcome, 'failure');
    assert.match(r.output, /couldn't find port: metrics in container app/);
  });

  test('follows redirects on the same host; a redirect to another host ends with a warning', async () => {
    status = 200;
    assert.deepEqual(await runProbe({ httpGet: { path: '/same-host', port } }, container, target(), 1000), { outcome: 'success', output: 'status 200' });
    const other = await runProbe({ httpGet: { path: '/other-host', port } }, container, target(), 1000);
    assert.deepEqual(other, { outcome: 'warning', output: 'Probe terminated redirects, Response body: moved' });
    const loop = await runProbe({ httpGet: { path: '/loop', port } }, container, target(), 2000);
    assert.equal(loop.outcome, 'failure');
    assert.match(loop.output, /stopped after 10 redirects/);
  });

  test('connection refused and timeout read like the kubelet, and the timeout is kept', async () => {
    const closed = await closedPort();
    const refused = await runProbe({ httpGet: { path: '/healthz', port: closed } }, container, target(), 1000);
    assert.deepEqual(refused, {
      outcome: 'failure',
      output: `Get "http://127.0.0.1:${closed}/healthz": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
    const t0 = Date.now();
    const slow = await runProbe({ httpGet: { path: '/hang', port } }, container, target(), 300);
    const took = Date.now() - t0;
    assert.equal(slow.outcome, 'failure');
    assert.match(slow.output, /context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/);
    assert.ok(took >= 250 && took < 2000, `timed out after ${took} ms`);
  });

  test('HTTPS probes do not verify the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbx-probe-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=not-this-host'], { stdio: 'ignore' });
      const tls = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_q, s) => s.end('secure'));
      const tlsPort = await listen(tls);
      try {
        assert.deepEqual(await runProbe({ httpGet: { path: '/', port: tlsPort, scheme: 'HTTPS' } }, container, target(), 2000), { outcome: 'success', output: 'secure' });
      } finally {
        tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tcpSocket', () => {
  test('success when the port accepts, refused otherwise', async () => {
    const server = net.createServer((s) => s.end());
    const port = await listen(server);
    try {
      assert.equal((await runProbe({ tcpSocket: { port } }, container, target(), 1000)).outcome, 'success');
    } finally {
      server.close();
    }
    const closed = await closedPort();
    assert.deepEqual(await runProbe({ tcpSocket: { port: closed } }, container, target(), 1000), {
      outcome: 'failure',
      output: `dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
  });
});

describe('grpc', () => {
  let server: http2.Http2Server;
  let port: number;
  const statuses = new Map<string, number>([
    ['', 1],
    ['down', 2],
  ]);

  before(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      if (headers[':path'] !== HEALTH_CHECK_PATH) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown service' }, { endStream: true });
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const service = decodeHealthCheckRequest(Buffer.concat(chunks));
        const st = statuses.get(service);
        if (st === undefined) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'unknown service' }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(encodeHealthCheckResponse(st));
      });
    });
    port = await listen(server);
  });
  after(() => server.close());

  test('the hand-encoded messages round-trip', () => {
    assert.equal(decodeHealthCheckRequest(encodeHealthCheckRequest('')), '');
    assert.equal(decodeHealthCheckRequest(encodeHealthCheckRequest('a.b.Service')), 'a.b.Service');
    assert.deepEqual([...encodeHealthCheckRequest('ab')], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
    for (const s of [0, 1, 2, 3]) assert.equal(decodeHealthCheckResponse(encodeHealthCheckResponse(s)), s);
  });

  test('SERVING is success; NOT_SERVING, NotFound and refused connections fail with the kubelet messages', async () => {
    assert.deepEqual(await runProbe({ grpc: { port } }, container, target(), 1000), { outcome: 'success', output: 'service healthy' });
    assert.deepEqual(await runProbe({ grpc: { port, service: 'down' } }, container, target(), 1000), {
      outcome: 'failure',
      output: 'service unhealthy (responded with "NOT_SERVING")',
    });
    const missing = await runProbe({ grpc: { port, service: 'nope' } }, container, target(), 1000);
    assert.deepEqual(missing, { outcome: 'failure', output: 'error: health rpc probe failed: rpc error: code = NotFound desc = unknown service' });
    const closed = await closedPort();
    const refused = await runProbe({ grpc: { port: closed } }, container, target(), 1000);
    assert.equal(refused.outcome, 'failure');
    assert.equal(refused.output, `timeout: failed to connect service "127.0.0.1:${closed}" within 1s: dial tcp 127.0.0.1:${closed}: connect: connection refused`);
  });

  test('a plain HTTP/1 port times out or fails, never succeeds', async () => {
    const h1 = http.createServer((_q, s) => s.end('hi'));
    const h1Port = await listen(h1);
    try {
      const r = await runProbe({ grpc: { port: h1Port } }, container, target(), 500);
      assert.equal(r.outcome, 'failure');
    } finally {
      h1.close();
    }
  });
});

describe('exec', () => {
  test('exit 0 is success; another exit fails with the output; a hung command times out', async () => {
    const calls: string[][] = [];
    const fake = target(async (argv) => {
      calls.push(argv);
      if (argv[0] === 'ok') return { exitCode: 0, output: 'fine\n' };
      if (argv[0] === 'hang') return new Promise<ExecResult>(() => {});
      return { exitCode: 1, output: 'cat: /tmp/healthy: No such file or directory\n' };
    });
    assert.deepEqual(await runProbe({ exec: { command: ['ok'] } }, container, fake, 1000), { outcome: 'success', output: 'fine\n' });
    assert.deepEqual(await runProbe({ exec: { command: ['cat', '/tmp/healthy'] } }, container, fake, 1000), {
      outcome: 'failure',
      output: 'cat: /tmp/healthy: No such file or directory\n',
    });
    const t0 = Date.now();
    assert.deepEqual(await runProbe({ exec: { command: ['hang', 'now'] } }, container, fake, 200), { outcome: 'failure', output: 'command "hang now" timed out' });
    assert.ok(Date.now() - t0 < 1500);
    assert.deepEqual(calls[1], ['cat', '/tmp/healthy']);
  });
});
