/**
 * The daemon's mesh metrics endpoint: every sidecar's and gateway's Istio metrics plus the daemon's
 * own (DNS, scrape health), served as `GET /metrics` on the API socket and on a TCP address
 * (istiod's monitoring port 127.0.0.1:15014 by default, `off` for none).
 *
 *   const metrics = await createMeshMetrics({ pods: () => podInformer.list(), gateways: () => gw.statsTargets(), listen, log });
 *   registerDnsMetrics(metrics.registry, dns);    // the daemon's own metrics ride along
 *   api routes: { '/metrics': metrics.handler }
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Pod } from '../../api/types.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { EXPOSITION_CONTENT_TYPE } from '../../meshconfig/telemetry/prometheus-text.js';
import { MetricsListenFailed } from './errors.js';
import { MetricsAggregator, type ScrapeTarget } from './metrics-aggregator.js';

/** Istio's sidecar container name and stats port (DESIGN.md: mesh conventions). */
export const SIDECAR_CONTAINER = 'istio-proxy';
export const SIDECAR_STATS_PORT = 15090;
export const METRICS_PATH = '/metrics';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface MeshMetricsOptions {
  /** the pods as the daemon sees them (informer or store list) */
  pods: () => readonly Pod[];
  /** gateway proxies on the host, from the gateway supervisor */
  gateways?: () => readonly ScrapeTarget[];
  /** TCP endpoint; undefined = API socket only */
  listen?: ListenAddress | undefined;
  /**
   * the address is a default nobody asked for: when it is taken (another meshbox daemon on this
   * machine), warn and serve on the API socket only instead of failing the daemon
   */
  listenOptional?: boolean;
  log: Logger;
  timeoutMs?: number;
}

export interface MeshMetrics {
  readonly registry: Registry;
  readonly aggregator: MetricsAggregator;
  /** `GET|HEAD /metrics` for the API server's routes */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** where the TCP endpoint listens (the real port when asked for 0) */
  address(): ListenAddress | undefined;
  close(): Promise<void>;
}

/** Pods whose sidecar should answer: a container or initContainer istio-proxy, Running, with an IP. */
export function podTargets(pods: readonly Pod[]): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (pod.status?.phase !== 'Running' || !ip) continue;
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    if (!containers.some((c) => c.name === SIDECAR_CONTAINER)) continue;
    const host = ip.includes(':') ? `[${ip}]` : ip;
    out.push({ namespace: pod.metadata.namespace ?? 'default', pod: pod.metadata.name ?? '', url: `http://${host}:${SIDECAR_STATS_PORT}/stats/prometheus` });
  }
  return out;
}

export async function createMeshMetrics(opts: MeshMetricsOptions): Promise<MeshMetrics> {
  const registry = new Registry();
  const aggregator = new MetricsAggregator({
    targets: () => [...podTargets(opts.pods()), ...(opts.gateways?.() ?? [])],
    registry,
    log: opts.log,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`${req.method} is not supported on ${METRICS_PATH}; use GET\n`);
      return;
    }
    aggregator.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        opts.log.error({ err: describeError(err) }, 'mesh metrics failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${describeError(err)}\n`);
      },
    );
  };
  let server: http.Server | undefined;
  try {
    server = opts.listen ? await listenTcp(opts.listen, handler) : undefined;
  } catch (err) {
    if (!opts.listenOptional) throw err;
    opts.log.warn({ err: describeError(err) }, 'mesh metrics not served over TCP (GET /metrics on the API socket still works); pass --metrics-address to choose a free address');
  }
  if (server) opts.log.info({ address: addressOf(server) }, 'mesh metrics served over TCP');
  return {
    registry,
    aggregator,
    handler,
    address: () => (server ? addressOf(server) : undefined),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function addressOf(server: http.Server): ListenAddress {
  const a = server.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

async function listenTcp(at: ListenAddress, handler: MeshMetrics['handler']): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`mesh metrics are at ${METRICS_PATH}\n`);
      return;
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(MetricsListenFailed(`${at.host}:${at.port}`, err.code ?? err.message, { cause: err })));
    server.listen(at.port, at.host, () => resolve());
  });
  return server;
}
