/**
 * Admin (127.0.0.1:15000 by default): /config_dump /clusters /stats /stats/prometheus /ready
 * /drain_listeners /quitquitquit; stats (15090): /stats/prometheus; health (15021): /healthz/ready.
 * Admin mutations take POST, as Envoy's do.
 */
import http from 'node:http';
import type { Proxy } from '../proxy.js';

export class AdminServer {
  readonly #proxy: Proxy;
  readonly #servers: { name: 'admin' | 'stats' | 'health'; server: http.Server }[] = [];

  constructor(proxy: Proxy) {
    this.#proxy = proxy;
  }

  async start(): Promise<void> {
    const b = this.#proxy.bootstrap;
    const specs = [
      { name: 'admin' as const, at: b.admin, handler: this.#admin },
      { name: 'stats' as const, at: b.stats, handler: this.#stats },
      { name: 'health' as const, at: b.health, handler: this.#health },
    ];
    for (const s of specs) {
      const server = http.createServer((req, res) => {
        try {
          s.handler.call(this, req, res);
        } catch (err) {
          send(res, 500, `${(err as Error).message}\n`);
        }
      });
      server.keepAliveTimeout = 5000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(s.at.port, s.at.address, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      this.#servers.push({ name: s.name, server });
    }
  }

  ports(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { name, server } of this.#servers) {
      const a = server.address();
      if (a && typeof a === 'object') out[name] = a.port;
    }
    return out;
  }

  async stop(): Promise<void> {
    const all = this.#servers.splice(0);
    await Promise.all(all.map(({ server }) => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    })));
  }

  #admin(req: http.IncomingMessage, res: http.ServerResponse): void {
    const p = this.#proxy;
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/config_dump':
        return sendJson(res, { node: p.bootstrap.node, version: p.version, bootstrap: p.bootstrap, snapshot: p.snapshot, updates: p.updateStats });
      case '/clusters':
        return sendJson(res, { version: p.version, clusters: p.clusters.map((c) => c.toJSON()) });
      case '/stats':
        return send(res, 200, this.#envoyStats(), 'text/plain; charset=utf-8');
      case '/stats/prometheus':
        return this.#stats(req, res);
      case '/ready':
        return send(res, p.ready ? 200 : 503, p.ready ? 'LIVE\n' : 'DRAINING\n');
      case '/drain_listeners':
        if (req.method !== 'POST') return send(res, 405, 'use POST\n');
        void p.drain();
        return send(res, 200, 'OK\n');
      case '/quitquitquit':
        if (req.method !== 'POST') return send(res, 405, 'use POST\n');
        send(res, 200, 'OK\n');
        setImmediate(() => void p.quit());
        return;
      default:
        return send(res, 404, 'admin paths: /config_dump /clusters /stats /stats/prometheus /ready /drain_listeners /quitquitquit\n');
    }
  }

  #stats(req: http.IncomingMessage, res: http.ServerResponse): void {
    if ((req.url ?? '').split('?')[0] !== '/stats/prometheus') return send(res, 404, 'metrics are at /stats/prometheus\n');
    const p = this.#proxy;
    const u = p.updateStats;
    const extra = [
      '# HELP meshbox_proxy_config_updates_total Config snapshots accepted (ACK) or rejected (NACK).',
      '# TYPE meshbox_proxy_config_updates_total counter',
      `meshbox_proxy_config_updates_total{result="accepted"} ${u.accepted}`,
      `meshbox_proxy_config_updates_total{result="rejected"} ${u.rejected}`,
      '# HELP meshbox_proxy_requests_active Requests in flight.',
      '# TYPE meshbox_proxy_requests_active gauge',
      `meshbox_proxy_requests_active ${p.inflight.active}`,
    ];
    send(res, 200, p.metrics.render(extra), 'text/plain; version=0.0.4; charset=utf-8');
  }

  #health(req: http.IncomingMessage, res: http.ServerResponse): void {
    if ((req.url ?? '').split('?')[0] !== '/healthz/ready') return send(res, 404, 'health is at /healthz/ready\n');
    const ready = this.#proxy.ready;
    send(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
  }

  /** Envoy-style flat counters, for humans. */
  #envoyStats(): string {
    const lines: string[] = [];
    for (const c of this.#proxy.clusters) {
      const b = c.breaker;
      lines.push(`cluster.${c.name}.upstream_rq_active: ${b.activeRequests}`);
      lines.push(`cluster.${c.name}.upstream_rq_pending_active: ${b.pendingRequests}`);
      lines.push(`cluster.${c.name}.upstream_rq_retry_active: ${b.activeRetries}`);
      lines.push(`cluster.${c.name}.upstream_rq_pending_overflow: ${b.stats.pendingOverflow}`);
      lines.push(`cluster.${c.name}.upstream_rq_overflow: ${b.stats.requestOverflow}`);
      lines.push(`cluster.${c.name}.upstream_rq_retry_overflow: ${b.stats.retryOverflow}`);
      let total = 0;
      let ejected = 0;
      for (const u of c.upstreams) {
        total += u.state.rqTotal;
        if (u.state.ejected) ejected++;
      }
      lines.push(`cluster.${c.name}.upstream_rq_total: ${total}`);
      lines.push(`cluster.${c.name}.outlier_detection.ejections_active: ${ejected}`);
    }
    lines.push(`server.requests_active: ${this.#proxy.inflight.active}`);
    lines.push(`server.config_version: ${this.#proxy.version ?? ''}`);
    return `${lines.join('\n')}\n`;
  }
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  send(res, 200, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}
