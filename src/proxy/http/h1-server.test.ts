import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { H1Server, type H1Request, type H1Response, type H1ServerLimits } from './h1-server.js';

const LIMITS: H1ServerLimits = { maxHeaderBytes: 16 * 1024, maxHeaderCount: 20, headersTimeoutMs: 300, requestTimeoutMs: 0, idleTimeoutMs: 60_000 };

type Handler = (req: H1Request, res: H1Response) => void;

async function withServer(handler: Handler, run: (port: number) => Promise<void>, limits: Partial<H1ServerLimits> = {}): Promise<void> {
  const h1 = new H1Server({ ...LIMITS, ...limits }, {
    request: handler,
    upgrade: (_req, socket, head) => socket.end(`HTTP/1.1 101 Switching Protocols\r\n\r\nhead=${head.toString()}`),
    clientError: (err, socket) => socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n${err.code ?? ''}`),
  });
  const server = net.createServer((s) => h1.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run((server.address() as net.AddressInfo).port);
  } finally {
    h1.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Sends raw bytes and collects everything until the server closes or `untilText` shows up. */
function exchange(port: number, data: string | string[], untilText?: RegExp, timeoutMs = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const parts = Array.isArray(data) ? data : [data];
    const finish = (closed: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve({ text, closed });
    };
    const t = setTimeout(() => finish(false), timeoutMs);
    s.on('connect', async () => {
      for (const p of parts) {
        s.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (untilText?.test(text)) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', () => {});
  });
}

const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  const send = (): void => {
    const body = `${req.method} ${req.url} ${JSON.stringify(req.headers)} body=${Buffer.concat(chunks).toString()}`;
    res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'content-type': 'text/plain' });
    res.end(body);
  };
  if (req.body === null) send();
  else {
    req.body.on('data', (c: Buffer) => chunks.push(c));
    req.body.on('end', send);
  }
};

test('pipelined requests are answered in order, each with its own body', async () => {
  await withServer(echo, async (port) => {
    const r = await exchange(
      port,
      'POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nhost: x\r\n\r\nPOST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n',
      /POST \/c[^]*body=de/,
    );
    const order = [...r.text.matchAll(/(POST|GET) (\/\w)/g)].map((m) => m[2]);
    assert.deepEqual(order, ['/a', '/b', '/c']);
    assert.match(r.text, /POST \/a [^]*body=abc/);
    assert.match(r.text, /keep-alive: timeout=60/);
    assert.match(r.text, /\r\ndate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/, 'a Date where the handler gave none');
  });
});

test('duplicate headers fold as node:http does (joinDuplicateHeaders)', async () => {
  await withServer(echo, async (port) => {
    const r = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\nCookie: b=2\r\nSet-Cookie: s=1\r\nSet-Cookie: s=2\r\n\r\n', /body=/);
    const json = JSON.parse(/\/ (\{.*\}) body=/.exec(r.text)?.[1] ?? '{}') as Record<string, unknown>;
    assert.equal(json['x-a'], '1, 2');
    assert.equal(json.cookie, 'a=1; b=2');
    assert.deepEqual(json['set-cookie'], ['s=1', 's=2']);
  });
});

test('a response without content-length is chunked for HTTP/1.1 and closes an HTTP/1.0 connection', async () => {
  const streamed: Handler = (_req, res) => {
    res.writeHead(200, ['content-type', 'text/plain']);
    res.write('hello ');
    res.end('world');
  };
  await withServer(streamed, async (port) => {
    const r11 = await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', /0\r\n\r\n$/);
    assert.match(r11.text, /transfer-encoding: chunked\r\n/);
    assert.match(r11.text, /\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n$/);
    const r10 = await exchange(port, 'GET / HTTP/1.0\r\n\r\n');
    assert.ok(r10.closed, 'HTTP/1.0 body delimited by the close');
    assert.match(r10.text, /connection: close\r\n\r\nhello world$/);
  });
});

test('HTTP/1.0 keep-alive is honoured; connection: close closes after the response', async () => {
  await withServer(echo, async (port) => {
    const ka = await exchange(port, ['GET /1 HTTP/1.0\r\nconnection: keep-alive\r\n\r\n', 'GET /2 HTTP/1.0\r\nconnection: keep-alive\r\n\r\n'], /GET \/2/);
    assert.match(ka.text, /connection: keep-alive\r\n/);
    assert.ok(!ka.closed);
    const close = await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    assert.ok(close.closed);
    assert.match(close.text, /connection: close\r\n/);
  });
});

test('HEAD, 204 and 304 carry no body', async () => {
  const h: Handler = (req, res) => {
    const status = req.url === '/204' ? 204 : req.url === '/304' ? 304 : 200;
    res.writeHead(status, { 'content-length': 5 });
    res.end(status === 200 ? 'hello' : undefined);
  };
  await withServer(h, async (port) => {
    const r = await exchange(port, 'HEAD / HTTP/1.1\r\nhost: x\r\n\r\nGET /204 HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n', /\r\n\r\nhello$/);
    assert.equal(r.text.match(/HTTP\/1\.1 /g)?.length, 3);
    assert.ok(!r.text.includes('hellohello'), 'the HEAD response has no body');
  });
});

test('expect: 100-continue gets the interim response before the body is sent', async () => {
  await withServer(echo, async (port) => {
    const r = await exchange(port, 'POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n', /100 Continue/);
    assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  });
});

test('an early answer drops the unread request body and keeps the connection usable', async () => {
  const early: Handler = (req, res) => {
    res.writeHead(413, { 'content-length': 4 });
    res.end(req.url ?? '');
  };
  await withServer(early, async (port) => {
    const big = 'x'.repeat(100_000);
    const r = await exchange(port, [`POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: ${big.length}\r\n\r\n`, big, 'POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n'], /\/b$/);
    assert.equal(r.text.match(/HTTP\/1\.1 413/g)?.length, 2);
    assert.ok(!r.closed);
  });
});

test('an Upgrade hands the socket over with the bytes after the head', async () => {
  await withServer(echo, async (port) => {
    const r = await exchange(port, 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nfirst-frame');
    assert.match(r.text, /^HTTP\/1\.1 101 [^]*head=first-frame$/);
  });
});

test('a slow request head is cut off; too many header lines and parse errors are client errors', async () => {
  await withServer(echo, async (port) => {
    const slow = await exchange(port, ['GET / HTTP/1.1\r\n', 'host: x\r\n'], undefined, 3000);
    assert.match(slow.text, /^HTTP\/1\.1 400 [^]*ERR_HTTP_REQUEST_TIMEOUT$/);
    const many = await exchange(port, `GET / HTTP/1.1\r\nhost: x\r\n${'x-h: 1\r\n'.repeat(25)}\r\n`);
    assert.match(many.text, /HPE_HEADER_OVERFLOW$/);
    const bad = await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n');
    assert.match(bad.text, /^HTTP\/1\.1 400 /);
    assert.ok(bad.closed);
  });
});

test('a client gone mid-response reports close to the response owner', async () => {
  let closed = false;
  const hang: Handler = (_req, res) => {
    res.on('close', () => {
      closed = true;
    });
  };
  await withServer(hang, async (port) => {
    await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', undefined, 200);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(closed);
  });
});

test("a handler's own Date is kept, not doubled", async () => {
  const dated: Handler = (_req, res) => {
    res.writeHead(200, ['Date', 'Tue, 01 Jan 2030 00:00:00 GMT', 'content-length', '0']);
    res.end();
  };
  await withServer(dated, async (port) => {
    const r = await exchange(port, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', /\r\n\r\n$/);
    assert.equal(r.text.match(/^date:/gim)?.length, 1);
    assert.match(r.text, /Date: Tue, 01 Jan 2030 00:00:00 GMT\r\n/);
  });
});
