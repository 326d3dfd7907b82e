import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { cluster, get, routes, snapshot, startProxy, startUpstream, sleep, testBootstrap } from './proxy-harness.js';

/** Sends raw bytes, returns everything the proxy sent back until it closed (or the deadline). */
async function raw(port: number, data: string | Buffer, waitMs = 2000): Promise<{ text: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(data);
  const deadline = Date.now() + waitMs;
  while (!closed && Date.now() < deadline) await sleep(10);
  s.destroy();
  return { text, closed };
}

const SMUGGLING: Record<string, string> = {
  'content-length with transfer-encoding': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'repeated content-length': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
  'invalid content-length': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nab',
  'obsolete line folding': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n',
  'bare LF line endings': 'GET / HTTP/1.1\nHost: a\n\n',
  'bare CR in a header value': 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
  'transfer-encoding other than chunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, identity\r\n\r\n',
  'space before colon': 'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
  'missing host': 'GET / HTTP/1.1\r\n\r\n',
};

test('request smuggling vectors get 400 and a closed connection, never reaching the upstream', async () => {
  const up = await startUpstream();
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]));
  try {
    for (const [name, req] of Object.entries(SMUGGLING)) {
      const r = await raw(p.port, req);
      assert.match(r.text, /^HTTP\/1\.1 400 /, name);
      assert.match(r.text, /x-meshbox-error: DPE malformed request rejected by proxy test-proxy/, name);
      assert.ok(r.closed, `${name}: connection closed`);
    }
    assert.equal(up.hits, 0);
    // A valid request on the same proxy still works afterwards.
    assert.equal((await get(p.port, '/')).status, 200);
  } finally {
    await p.close();
    await up.close();
  }
});

test('header size and count limits answer 431', async () => {
  const up = await startUpstream();
  const boot = testBootstrap();
  boot.limits = { ...boot.limits, maxHeaderBytes: 4096, maxHeaderCount: 20 };
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]), boot);
  try {
    let r = await raw(p.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(5000)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
    assert.ok(r.closed);
    const many = Array.from({ length: 30 }, (_, i) => `X-H${i}: v\r\n`).join('');
    r = await raw(p.port, `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
    assert.match(r.text, /more than 20 header lines/);
    assert.equal(up.hits, 0);
  } finally {
    await p.close();
    await up.close();
  }
});

test('slowloris: a request head trickling in is cut off with 408; idle keep-alive connections close', async () => {
  const up = await startUpstream();
  const boot = testBootstrap();
  boot.limits = { ...boot.limits, headersTimeout: '500ms', idleTimeout: '300ms' };
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]), boot);
  try {
    const s = net.connect(p.port, '127.0.0.1');
    let text = '';
    let closed = false;
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    const t0 = Date.now();
    s.write('GET / HTTP/1.1\r\n');
    for (let i = 0; i < 40 && !closed; i++) {
      s.write(`X-Slow-${i}: 1\r\n`);
      await sleep(100);
    }
    assert.ok(closed, 'slow client was disconnected');
    assert.ok(Date.now() - t0 < 2500, `after ${Date.now() - t0}ms`);
    assert.match(text, /^HTTP\/1\.1 408 /);

    // Idle keep-alive: one request, then silence.
    const k = net.connect(p.port, '127.0.0.1');
    let kClosed = false;
    k.on('close', () => (kClosed = true));
    k.on('error', () => {});
    k.on('data', () => {});
    await new Promise<void>((r) => k.once('connect', () => r()));
    k.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const t1 = Date.now();
    for (let i = 0; i < 300 && !kClosed; i++) await sleep(10);
    assert.ok(kClosed, 'idle connection closed');
    assert.ok(Date.now() - t1 < 2000);
  } finally {
    await p.close();
    await up.close();
  }
});

test('an upstream reset mid-body ends the client response abruptly, not as a complete body', async () => {
  const up = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write('x'.repeat(1000));
    setTimeout(() => req.socket.destroy(), 50);
  });
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]));
  try {
    const r = await raw(p.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 200 /);
    assert.ok(r.closed, 'connection closed');
    const body = r.text.split('\r\n\r\n')[1] ?? '';
    assert.ok(body.length < 100000, 'the client can tell the body is incomplete');
    // A reset before any response is a clean 503 UC.
    const resetting = await startUpstream((req) => req.socket.destroy());
    await p.proxy.update(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }], retries: { attempts: 0 } }]), [cluster('c', [resetting.port])], '2'));
    const r2 = await get(p.port, '/');
    assert.equal(r2.status, 503);
    assert.match(String(r2.headers['x-meshbox-error']), /^UC upstream reset the connection/);
    await resetting.close();
  } finally {
    await p.close();
    await up.close();
  }
});

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: random and mutated requests never crash the proxy, and it keeps answering', async () => {
  const up = await startUpstream((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const boot = testBootstrap();
  boot.limits = { ...boot.limits, headersTimeout: '300ms' };
  const p = await startProxy(snapshot(routes([{ name: 'r', route: [{ cluster: 'c', weight: 1 }] }]), [cluster('c', [up.port])]), boot);
  const seeds = [
    'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
    'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
    'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'GET /?a=1&b=%zz HTTP/1.1\r\nHost: a:80\r\nCookie: x=1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  ];
  const rand = rng(12345);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const junk = ['\r', '\n', '\0', ' ', ':', '\t', '\u00ff', 'Content-Length: 1\r\n', 'Transfer-Encoding: chunked\r\n', 'HTTP/1.1', '\r\n\r\n', '%', '?', '#'];
  try {
    const cases = 150;
    let answered = 0;
    for (let i = 0; i < cases; i++) {
      let s: string;
      if (rand() < 0.2) {
        s = Array.from({ length: 1 + Math.floor(rand() * 200) }, () => String.fromCharCode(Math.floor(rand() * 256))).join('');
      } else {
        const chars = pick(seeds).split('');
        const n = 1 + Math.floor(rand() * 4);
        for (let m = 0; m < n; m++) {
          const at = Math.floor(rand() * chars.length);
          const op = rand();
          if (op < 0.33) chars.splice(at, 1);
          else if (op < 0.66) chars.splice(at, 0, pick(junk));
          else chars[at] = String.fromCharCode(Math.floor(rand() * 256));
        }
        s = chars.join('');
      }
      const r = await raw(p.port, Buffer.from(s, 'latin1'), 600);
      if (/^HTTP\/1\.1 \d{3} /.test(r.text)) answered++;
    }
    assert.ok(answered > cases / 2, `most fuzz cases got an HTTP answer (${answered}/${cases})`);
    assert.equal((await get(p.port, '/')).body, 'ok', 'the proxy still serves after fuzzing');
  } finally {
    await p.close();
    await up.close();
  }
});
