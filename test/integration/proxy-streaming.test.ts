import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { cluster, get, routes, snapshot, startProxy, startUpstream, sleep } from './proxy-harness.js';

test('chunked bodies stream both ways; a slow reader holds the upstream back instead of growing memory', async () => {
  const CHUNK = Buffer.alloc(64 * 1024, 'a');
  let upstreamWritten = 0;
  let upstreamFinished = false;
  const up = await startUpstream((req, res) => {
    if (req.method === 'POST') {
      let n = 0;
      req.on('data', (d: Buffer) => (n += d.length));
      req.on('end', () => res.end(`received ${n}`));
      return;
    }
    // Write 64 MiB as fast as the proxy accepts it.
    let left = 1024;
    const pump = (): void => {
      while (left > 0) {
        left--;
        upstreamWritten += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
      upstreamFinished = true;
    };
    pump();
  });
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]));
  try {
    // Upload a chunked body of 8 MiB.
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/up', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let t = '';
        res.on('data', (d: Buffer) => (t += d.toString()));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      for (let i = 0; i < 128; i++) req.write(CHUNK);
      req.end();
    });
    assert.equal(body, `received ${128 * CHUNK.length}`);

    // A client that reads nothing: the upstream must stall, not the proxy's heap grow.
    const s = net.connect(p.port, '127.0.0.1');
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause();
    s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await sleep(1000);
    const heapBefore = process.memoryUsage().heapUsed;
    const writtenAtPause = upstreamWritten;
    await sleep(500);
    assert.equal(upstreamFinished, false, 'upstream is held back');
    assert.ok(upstreamWritten < 24 * 1024 * 1024, `only socket buffers are in flight (${upstreamWritten} bytes written)`);
    assert.ok(upstreamWritten - writtenAtPause < 2 * 1024 * 1024, 'no further progress while the client is paused');
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 16 * 1024 * 1024, 'heap did not grow with the body');
    // Now read everything: the full body arrives.
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.resume();
    for (let i = 0; i < 400 && got < 64 * 1024 * 1024; i++) await sleep(25);
    assert.ok(got > 64 * 1024 * 1024, `client got the whole body (${got})`);
    s.destroy();
  } finally {
    await p.close();
    await up.close();
  }
});

test('Expect: 100-continue gets 100 Continue, then the body is forwarded', async () => {
  const up = await startUpstream((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => res.end(`got ${n} expect=${req.headers.expect ?? 'none'}`));
  });
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]));
  try {
    const s = net.connect(p.port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    for (let i = 0; i < 100 && !text.includes('100 Continue'); i++) await sleep(10);
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n/);
    s.write('hello');
    for (let i = 0; i < 100 && !text.includes('got 5'); i++) await sleep(10);
    assert.match(text, /HTTP\/1\.1 200 OK[\s\S]*got 5 expect=none/);
    s.destroy();
  } finally {
    await p.close();
    await up.close();
  }
});

test('mirroring sends a copy to the mirror cluster and drops its response', async () => {
  const main = await startUpstream((_req, res) => res.end('main'));
  let mirrored = '';
  const shadow = await startUpstream((req, res) => {
    mirrored = String(req.headers.host);
    res.statusCode = 500;
    res.end('shadow');
  });
  const p = await startProxy(snapshot(
    routes([{ name: 'r', route: [{ cluster: 'main', weight: 1 }], mirror: { cluster: 'shadow' }, mirrorPercentage: { value: 100 } }]),
    [cluster('main', [main.port]), cluster('shadow', [shadow.port])],
  ));
  try {
    const r = await get(p.port, '/', { headers: { host: 'reviews:9080' } });
    assert.equal(r.body, 'main');
    assert.equal(r.status, 200);
    for (let i = 0; i < 50 && shadow.hits === 0; i++) await sleep(10);
    assert.equal(shadow.hits, 1);
    assert.equal(mirrored, 'reviews-shadow:9080');
  } finally {
    await p.close();
    await main.close();
    await shadow.close();
  }
});
