import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { cluster, get, routes, startProxy, startUpstream, sleep } from './proxy-harness.js';
import type { Snapshot } from '../../src/meshconfig/types.js';

/** A gRPC-shaped h2c server: echoes the request body and answers with grpc-status trailers. */
async function startGrpcUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': headers[':path'] === '/pkg.Svc/Fail' ? '5' : '0', 'grpc-message': 'done' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function grpcCall(port: number, path: string, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      client.close();
      resolve({ headers, trailers, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a gRPC call passes through with its trailers; proxy errors are gRPC statuses', async () => {
  const up = await startGrpcUpstream();
  const snap: Snapshot = {
    version: '1',
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol: 'grpc', direction: 'outbound', routeConfig: 'rc' }],
    routes: [routes([
      { name: 'svc', match: [{ path: { prefix: '/pkg.Svc/' } }], route: [{ cluster: 'grpc', weight: 1 }] },
    ])],
    clusters: [cluster('grpc', [up.port], { protocol: 'grpc' })],
  };
  const p = await startProxy(snap);
  try {
    const msg = Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]);
    const ok = await grpcCall(p.port, '/pkg.Svc/Echo', msg);
    assert.equal(ok.headers[':status'], 200);
    assert.deepEqual(ok.body, msg);
    assert.equal(ok.trailers['grpc-status'], '0');
    assert.equal(ok.trailers['grpc-message'], 'done');
    const fail = await grpcCall(p.port, '/pkg.Svc/Fail', msg);
    assert.equal(fail.trailers['grpc-status'], '5');
    const nr = await grpcCall(p.port, '/other.Svc/X', msg);
    assert.equal(nr.headers[':status'], 200);
    assert.equal(nr.headers['grpc-status'], '12');
    assert.match(String(nr.headers['x-meshbox-error']), /^NR /);
    const metrics = await (await fetch(`http://127.0.0.1:${p.ports.stats}/stats/prometheus`)).text();
    assert.match(metrics, /istio_requests_total\{[^}]*request_protocol="grpc",[^}]*response_code="200",grpc_response_status="5",response_flags="-"\} 1/);
  } finally {
    await p.close();
    await up.close();
  }
});

test('a WebSocket upgrade is tunnelled both ways', async () => {
  const server = http.createServer();
  const upgraded: { destroy(): void }[] = [];
  server.on('upgrade', (req, socket) => {
    upgraded.push(socket);
    const key = String(req.headers['sec-websocket-key']);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-path: ${req.url}\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const upPort = (server.address() as AddressInfo).port;
  const snap: Snapshot = {
    version: '1',
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'outbound', routeConfig: 'rc' }],
    routes: [routes([{ name: 'ws', route: [{ cluster: 'ws', weight: 1 }] }])],
    clusters: [cluster('ws', [upPort])],
  };
  const p = await startProxy(snap);
  const sock = net.connect(p.port, '127.0.0.1');
  try {
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /chat HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    for (let i = 0; i < 100 && !got.includes('\r\n\r\n'); i++) await sleep(10);
    assert.match(got, /^HTTP\/1\.1 101 /);
    assert.match(got, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    assert.match(got, /x-path: \/chat/);
    got = '';
    sock.write('hello');
    for (let i = 0; i < 100 && !got.includes('echo:hello'); i++) await sleep(10);
    assert.equal(got, 'echo:hello');
  } finally {
    sock.destroy();
    await p.close();
    // Upgraded sockets are not the server's any more: close them by hand.
    for (const s of upgraded) s.destroy();
    server.close();
  }
});

test('plain TCP, and auto detection: HTTP goes to routes, a silent client falls back to TCP quickly', async () => {
  // A server-first protocol: the server speaks first (like SMTP or MySQL).
  const banner = net.createServer((s) => {
    s.write('220 hello\r\n');
    s.on('data', (d: Buffer) => s.write(`got ${d.toString()}`));
  });
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r));
  const bannerPort = (banner.address() as AddressInfo).port;
  const web = await startUpstream((_req, res) => res.end('web'));
  const snap: Snapshot = {
    version: '1',
    listeners: [
      { name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', direction: 'outbound', tcpCluster: 'banner' },
      { name: 'in', address: '127.0.0.1', port: 0, protocol: 'auto', direction: 'outbound', routeConfig: 'rc', tcpCluster: 'banner' },
    ],
    routes: [routes([{ name: 'web', route: [{ cluster: 'web', weight: 1 }] }])],
    clusters: [cluster('web', [web.port]), cluster('banner', [bannerPort], { protocol: 'tcp' })],
  };
  const p = await startProxy(snap);
  const readBanner = async (port: number): Promise<{ text: string; ms: number }> => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    for (let i = 0; i < 200 && !text.includes('220'); i++) await sleep(5);
    const ms = Date.now() - t0;
    s.write('ping');
    for (let i = 0; i < 200 && !text.includes('got ping'); i++) await sleep(5);
    s.destroy();
    return { text, ms };
  };
  try {
    const direct = await readBanner(p.ports.tcp as number);
    assert.equal(direct.text, '220 hello\r\ngot ping');
    const auto = await readBanner(p.port);
    assert.equal(auto.text, '220 hello\r\ngot ping');
    assert.ok(auto.ms < 1000, `fallback took ${auto.ms}ms`);
    assert.equal((await get(p.port, '/')).body, 'web');
    await sleep(50);
    const metrics = await (await fetch(`http://127.0.0.1:${p.ports.stats}/stats/prometheus`)).text();
    assert.match(metrics, /istio_tcp_connections_opened_total\{[^}]*destination_service="banner"[^}]*\} 2/);
    assert.match(metrics, /istio_tcp_sent_bytes_total\{[^}]*\} (\d+)/);
  } finally {
    await p.close();
    await web.close();
    await new Promise<void>((r) => banner.close(() => r()));
  }
});

test('HTTP/2 prior knowledge downstream to an HTTP/1.1 upstream', async () => {
  const up = await startUpstream((req, res) => res.end(`h1 ${req.method} ${req.url}`));
  const snap: Snapshot = {
    version: '1',
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol: 'auto', direction: 'outbound', routeConfig: 'rc' }],
    routes: [routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }])],
    clusters: [cluster('c', [up.port])],
  };
  const p = await startProxy(snap);
  try {
    const client = http2.connect(`http://127.0.0.1:${p.port}`);
    const body = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ':path': '/h2?x=1' });
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => resolve(text));
      req.on('error', reject);
      req.end();
    });
    client.close();
    assert.equal(body, 'h1 GET /h2?x=1');
  } finally {
    await p.close();
    await up.close();
  }
});
