/** Shared pieces of the proxy end-to-end tests: upstreams on port 0, a proxy on port 0, a client. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as undiciRequest, Agent } from 'undici';
import { Proxy } from '../../src/proxy/proxy.js';
import { defaultBootstrap } from '../../src/meshconfig/load-proxy-config-file.js';
import type { Bootstrap, Cluster, RouteConfig, Snapshot, Route } from '../../src/meshconfig/types.js';

export interface Upstream {
  port: number;
  hits: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function startUpstream(handler: http.RequestListener = (_req, res) => res.end('ok')): Promise<Upstream> {
  const u: Upstream = { port: 0, hits: 0, server: undefined as never, close: async () => {} };
  const server = http.createServer((req, res) => {
    u.hits++;
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  u.server = server;
  u.close = () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  return u;
}

export function testBootstrap(over: Partial<Bootstrap> = {}): Bootstrap {
  const b = defaultBootstrap();
  b.node = { id: 'test-proxy', metadata: { workload: 'client', namespace: 'testns', app: 'client', version: 'v1' } };
  b.admin = { address: '127.0.0.1', port: 0 };
  b.stats = { address: '127.0.0.1', port: 0 };
  b.health = { address: '127.0.0.1', port: 0 };
  b.accessLog = 'off';
  b.drainTimeout = '2s';
  return { ...b, ...over };
}

export function cluster(name: string, ports: number[], extra: Partial<Cluster> = {}): Cluster {
  return { name, protocol: 'http', endpoints: ports.map((port) => ({ address: '127.0.0.1', port })), ...extra };
}

export function routes(rs: Route[], domains = ['*']): RouteConfig {
  return { name: 'rc', virtualHosts: [{ name: 'vh', domains, routes: rs }] };
}

export function snapshot(rc: RouteConfig, clusters: Cluster[], version = '1', protocol: 'http' | 'http2' | 'auto' = 'http'): Snapshot {
  return {
    version,
    listeners: [{ name: 'in', address: '127.0.0.1', port: 0, protocol, direction: 'outbound', routeConfig: rc.name }],
    routes: [rc],
    clusters,
  };
}

export async function startProxy(snap: Snapshot, bootstrap = testBootstrap()): Promise<{ proxy: Proxy; port: number; ports: Record<string, number>; close(): Promise<void> }> {
  const proxy = new Proxy({ bootstrap });
  await proxy.start(snap);
  const ports = proxy.addresses();
  return {
    proxy,
    port: ports.in as number,
    ports,
    close: async () => {
      await proxy.stop();
    },
  };
}

export const agent = new Agent({ keepAliveTimeout: 1000, connections: 64 });

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function get(port: number, path = '/', opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const r = await undiciRequest(`http://127.0.0.1:${port}${path}`, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher: agent,
  });
  return { status: r.statusCode, headers: r.headers as Reply['headers'], body: await r.body.text() };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
