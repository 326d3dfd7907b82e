/**
 * Original-destination routing through a real proxy on 127.0.0.1, with the getsockopt reader
 * replaced (no NAT without root): each new connection "was redirected from" `next`.
 * The real addon against real iptables REDIRECT: test/integration/proxy-original-dst.test.ts.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { defaultBootstrap } from '../../meshconfig/load-proxy-config-file.js';
import type { Bootstrap, Cluster, Listener, Snapshot } from '../../meshconfig/types.js';
import { validateSnapshot } from '../../meshconfig/validate-snapshot.js';
import { Proxy } from '../proxy.js';
import { setOriginalDstReader } from './original-dst.js';

let next: [string, number] | null = null;

function bootstrap(): Bootstrap {
  const b = defaultBootstrap();
  b.node = { id: 'od-test', metadata: { workload: 'client', namespace: 'ns' } };
  b.admin = { address: '127.0.0.1', port: 0 };
  b.stats = { address: '127.0.0.1', port: 0 };
  b.health = { address: '127.0.0.1', port: 0 };
  b.accessLog = 'off';
  b.drainTimeout = '1s';
  // Long enough that a reply within 500 ms proves a connection skipped protocol detection.
  b.limits = { ...b.limits, detectTimeout: '2s' };
  return b;
}

interface Servers {
  httpA: http.Server;
  httpB: http.Server;
  echo: net.Server;
  banner: net.Server;
  port(s: net.Server | http.Server): number;
}

async function listen<S extends net.Server>(s: S): Promise<S> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

function get(port: number, host: string): Promise<{ status: number; body: string; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/x', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, error: res.headers['x-meshbox-error'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Connects, optionally writes, and collects what arrives until the server closes or `ms` passes. */
function tcp(port: number, send: string | undefined, ms: number): Promise<{ data: string; closed: boolean; firstByteMs: number }> {
  return new Promise((resolve) => {
    const start = Date.now();
    let data = '';
    let firstByteMs = -1;
    const s = net.connect(port, '127.0.0.1', () => {
      if (send !== undefined) s.write(send);
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, closed: false, firstByteMs });
    }, ms);
    s.on('data', (d) => {
      if (firstByteMs < 0) firstByteMs = Date.now() - start;
      data += d.toString();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closed: true, firstByteMs });
    });
  });
}

describe('listener originalDst', () => {
  let sv: Servers;
  let proxy: Proxy;
  let port = 0;

  before(async () => {
    setOriginalDstReader(() => next);
    sv = {
      httpA: await listen(http.createServer((_q, r) => r.end('A'))),
      httpB: await listen(http.createServer((_q, r) => r.end('B'))),
      echo: await listen(net.createServer((s) => s.pipe(s))),
      banner: await listen(net.createServer((s) => s.end('220 banner\r\n'))),
      port: (s) => (s.address() as net.AddressInfo).port,
    };
  });

  after(async () => {
    setOriginalDstReader(undefined);
    for (const s of [sv.httpA, sv.httpB, sv.echo, sv.banner]) {
      (s as http.Server).closeAllConnections?.();
      s.close();
    }
  });

  afterEach(async () => {
    await proxy?.stop();
    next = null;
  });

  function snap(originalDst: Listener['originalDst'], direction: Listener['direction'] = 'outbound'): Snapshot {
    const ep = (s: net.Server): Cluster['endpoints'] => [{ address: '127.0.0.1', port: sv.port(s) }];
    return {
      version: '1',
      listeners: [{ name: 'virtualOutbound', address: '127.0.0.1', port: 0, protocol: 'auto', direction, routeConfig: 'outbound', ...(originalDst ? { originalDst } : {}) }],
      routes: [
        {
          name: 'outbound',
          virtualHosts: [
            { name: 'a', domains: ['a.ns.svc.cluster.local:80', '10.222.0.10:80'], routes: [{ name: 'default', route: [{ cluster: 'a', weight: 1 }] }] },
            { name: 'b', domains: ['b.ns.svc.cluster.local:80'], routes: [{ name: 'only-api', match: [{ path: { prefix: '/api' } }], route: [{ cluster: 'b', weight: 1 }] }] },
          ],
        },
      ],
      clusters: [
        { name: 'a', protocol: 'http', endpoints: ep(sv.httpA) },
        { name: 'b', protocol: 'http', endpoints: ep(sv.httpB) },
        { name: 'echo', protocol: 'tcp', endpoints: ep(sv.echo) },
        { name: 'banner', protocol: 'tcp', endpoints: ep(sv.banner) },
      ],
    };
  }

  async function start(s: Snapshot): Promise<void> {
    proxy = new Proxy({ bootstrap: bootstrap() });
    await proxy.start(s);
    port = proxy.addresses().virtualOutbound as number;
  }

  it('routes HTTP by Host first, then by the original destination "ip:port"', async () => {
    await start(snap({ passthrough: false }));
    next = ['10.222.0.99', 80];
    assert.equal((await get(port, 'a.ns.svc.cluster.local:80')).body, 'A', 'a known Host routes as before, whatever the destination');
    next = ['10.222.0.10', 80];
    const byVip = await get(port, 'some-unknown-name:1234');
    assert.equal(byVip.status, 200);
    assert.equal(byVip.body, 'A', 'unknown Host: the virtual host whose domains hold the VIP:port');
  });

  it('without passthrough, an unknown destination gets 502 NR naming the listener and the destination', async () => {
    await start(snap({ passthrough: false }));
    next = ['10.222.0.77', 8080];
    const r = await get(port, 'nobody.example');
    assert.equal(r.status, 502);
    assert.match(r.error ?? '', /^NR /);
    assert.match(r.error ?? '', /10\.222\.0\.77:8080/);
    assert.match(r.error ?? '', /virtualOutbound/);
  });

  it('a Host that matched a virtual host but no route keeps its 404 NR', async () => {
    await start(snap({ passthrough: true }));
    next = ['127.0.0.1', sv.port(sv.httpA)];
    const r = await get(port, 'b.ns.svc.cluster.local:80');
    assert.equal(r.status, 404);
    assert.match(r.error ?? '', /^NR /);
  });

  it('passes HTTP through to the original destination and labels it PassthroughCluster', async () => {
    await start(snap({ passthrough: true }));
    next = ['127.0.0.1', sv.port(sv.httpB)];
    const r = await get(port, 'external.example.com');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'B');
    const stats = await statsText(proxy);
    assert.match(stats, /istio_requests_total\{[^}]*destination_service_name="PassthroughCluster"[^}]*response_code="200"/);
  });

  it('never passes through a connection that was not redirected (it would loop into itself)', async () => {
    await start(snap({ passthrough: true }));
    next = null;
    const r = await get(port, 'external.example.com');
    assert.equal(r.status, 502);
    assert.match(r.error ?? '', /not redirected/);
  });

  it('pipes a tcp entry at once, client-first and server-first, exact "ip:port" before "*:port"', async () => {
    await start(snap({ tcp: { '10.222.0.20:5432': 'echo', '*:5432': 'banner', '*:25': 'banner' }, passthrough: false }));
    next = ['10.222.0.20', 5432];
    const echo = await tcp(port, 'ping', 1000);
    assert.equal(echo.data, 'ping', 'exact entry → echo cluster');
    next = ['10.222.0.21', 5432];
    const banner = await tcp(port, undefined, 1500);
    assert.equal(banner.data, '220 banner\r\n', '*:port entry → banner cluster');
    assert.ok(banner.firstByteMs >= 0 && banner.firstByteMs < 1000, `server-first bytes arrive without waiting for detection (took ${banner.firstByteMs} ms)`);
  });

  it('closes plain TCP nothing serves (BlackHoleCluster) and passes it through when allowed', async () => {
    await start(snap({ passthrough: false }));
    next = ['10.222.0.30', 9999];
    const closed = await tcp(port, '\x00\x01binary', 1500);
    assert.equal(closed.closed, true);
    assert.equal(closed.data, '');
    assert.match(await statsText(proxy), /istio_tcp_connections_opened_total\{[^}]*destination_service_name="BlackHoleCluster"[^}]*\} 1/);
    await proxy.stop();

    await start(snap({ passthrough: true }));
    next = ['127.0.0.1', sv.port(sv.echo)];
    const through = await tcp(port, '\x00\x01binary', 1000);
    assert.equal(through.data, '\x00\x01binary');
  });

  it('inbound passthrough goes to 127.0.0.1 at the original port, not to the original address', async () => {
    await start(snap({ passthrough: true }, 'inbound'));
    next = ['10.222.0.40', sv.port(sv.httpA)];
    const r = await get(port, 'whatever.local');
    assert.equal(r.body, 'A');
    assert.match(await statsText(proxy), /destination_service_name="InboundPassthroughCluster"/);
  });

  it('swapping originalDst in and out on a bound listener takes effect for new connections', async () => {
    await start(snap(undefined));
    next = ['10.222.0.10', 80];
    assert.equal((await get(port, 'unknown')).status, 404);
    const r = await proxy.update({ ...snap({ passthrough: false }), version: '2' });
    assert.equal(r.accepted, true);
    assert.equal((await get(port, 'unknown')).body, 'A');
  });

  it('an Upgrade (WebSocket) with an unknown Host goes by original destination, or passes through', async () => {
    // an upstream that accepts the upgrade and then echoes
    const ws = await listen(http.createServer((_q, r) => r.end('plain')));
    ws.on('upgrade', (req, socket, early: Buffer) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: upgrade\r\n\r\n`);
      if (early.length > 0) socket.write(early);
      socket.pipe(socket);
    });
    try {
      await start(snap({ passthrough: true }));
      next = ['127.0.0.1', (ws.address() as net.AddressInfo).port];
      const head = 'GET /chat HTTP/1.1\r\nhost: chat.example\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n';
      const r = await tcp(port, head + 'hello', 1000);
      assert.match(r.data, /^HTTP\/1\.1 101 /, r.data);
      assert.ok(r.data.endsWith('hello'), 'bytes flow through the tunnel');

      await proxy.stop();
      await start(snap({ passthrough: false }));
      next = ['10.222.0.77', 8080];
      const refused = await tcp(port, head, 1000);
      assert.match(refused.data, /^HTTP\/1\.1 502 Bad Gateway/);
      assert.match(refused.data, /x-meshbox-error: NR .*10\.222\.0\.77:8080/);
    } finally {
      ws.closeAllConnections();
      ws.close();
    }
  });
});

describe('originalDst validation', () => {
  const base = (originalDst: unknown, protocol = 'auto'): unknown => ({
    version: '1',
    listeners: [{ name: 'l', port: 15001, protocol, ...(protocol === 'tcp' ? {} : { routeConfig: 'r' }), originalDst }],
    routes: [{ name: 'r', virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'd', directResponse: { status: 200 } }] }] }],
    clusters: [{ name: 'db', protocol: 'tcp', endpoints: [] }],
  });

  it('accepts exact, [ipv6] and *:port keys and a tcp listener without tcpCluster', () => {
    const v = validateSnapshot(base({ tcp: { '10.96.0.5:5432': 'db', '[fd00::5]:5432': 'db', '*:3306': 'db' }, passthrough: true }, 'tcp'));
    assert.deepEqual(v.issues, []);
    assert.deepEqual(v.snapshot?.listeners[0]?.originalDst, { passthrough: true, tcp: { '10.96.0.5:5432': 'db', '[fd00::5]:5432': 'db', '*:3306': 'db' } });
  });

  it('rejects bad keys, unknown clusters, unknown fields, and tcp entries on an http listener', () => {
    const paths = (x: unknown): string[] => validateSnapshot(x).issues.map((i) => i.path);
    assert.deepEqual(paths(base({ tcp: { 'db:5432': 'db' } })), ['listeners[0].originalDst.tcp.db:5432']);
    assert.deepEqual(paths(base({ tcp: { '10.0.0.1:70000': 'db' } })), ['listeners[0].originalDst.tcp.10.0.0.1:70000']);
    assert.deepEqual(paths(base({ tcp: { '*:5432': 'nope' } })), ['listeners[0].originalDst.tcp.*:5432']);
    assert.ok(paths(base({ passthru: true })).some((p) => p.startsWith('listeners[0].originalDst')));
    assert.deepEqual(paths(base({ passthrough: 'yes' })), ['listeners[0].originalDst.passthrough']);
    assert.deepEqual(paths(base({ tcp: { '*:5432': 'db' } }, 'http')), ['listeners[0].originalDst.tcp']);
    assert.deepEqual(paths(base(undefined, 'tcp')).length, 1, 'a tcp listener still needs tcpCluster or originalDst');
  });
});

async function statsText(p: Proxy): Promise<string> {
  const port = p.addresses().stats as number;
  const r = await fetch(`http://127.0.0.1:${port}/stats/prometheus`);
  return r.text();
}
