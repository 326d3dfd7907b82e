/**
 * HTTP/1.1 Upgrade (WebSocket) tunnelling: the request is routed like any other, then the head is
 * replayed to the chosen endpoint over a fresh TCP connection and the two sockets are piped both
 * ways; the upstream's 101 (or refusal) flows back untouched.
 */
import net from 'node:net';
import type { H1Request } from './h1-server.js';
import type { Duplex } from 'node:stream';
import { NoHealthyUpstream, NoRoute, UpstreamConnectFailure, type FailureContext } from '../errors.js';
import { classify } from '../rescue.js';
import type { ListenerContext, Target } from './listener-context.js';
import type { Exchange } from './exchange.js';
import { newRequestId, propagateTrace } from '../telemetry/trace-context.js';

const SKIP = new Set(['host', 'x-request-id']);

export function tunnelUpgrade(ctx: ListenerContext, req: H1Request, socket: Duplex, head: Buffer): void {
  const start = performance.now();
  const authority = req.headers.host ?? '';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const input = { authority, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), method: req.method ?? 'GET', headers: req.headers };
  const m = { matchIndex: 0 };
  const f: FailureContext = { proxy: ctx.proxyName };
  let route = ctx.table.match(input, m);
  if (route === undefined && ctx.originalDst !== undefined) {
    // No virtual host for the Host: as for any request, by original destination or passthrough.
    // The hook reads an exchange's routing fields; an upgrade offers the same ones.
    const view = { ...input, ctx, req, matchIndex: 0, isH2Downstream: false, failure: () => f };
    const r = ctx.originalDst.route(view as unknown as Exchange);
    if (r instanceof Error) {
      rejectRaw(socket, r, undefined, start);
      return;
    }
    route = r;
    m.matchIndex = view.matchIndex;
  }
  let target: Target | undefined;
  const reject = (err: unknown): void => rejectRaw(socket, err, target, start);
  if (!route || route.kind !== 'forward') {
    reject(NoRoute(f, authority, input.path));
    return;
  }
  f.route = `${route.vhost}/${route.name}`;
  target = route.pickDestination(Math.random());
  if (!target) {
    reject(NoHealthyUpstream(f, 'the route has no destination'));
    return;
  }
  f.cluster = target.stack.name;
  const ep = target.stack.balancer.pick({});
  if (!ep) {
    reject(NoHealthyUpstream(f, 'no endpoint available'));
    return;
  }
  f.upstream = ep.key;
  const headers: Record<string, string | string[] | undefined> = {};
  for (const k in req.headers) if (!SKIP.has(k)) headers[k] = req.headers[k];
  headers['x-request-id'] = (req.headers['x-request-id'] as string | undefined) ?? newRequestId();
  propagateTrace(headers);
  route.requestHeaders.apply(headers as Record<string, string>);
  let text = `${req.method} ${route.rewriteUri !== undefined ? route.rewritePath(input.path, input.query, m.matchIndex) : url} HTTP/1.1\r\nhost: ${route.rewriteAuthority ?? authority}\r\n`;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) text += `${k}: ${one}\r\n`;
  }
  text += '\r\n';
  ep.activeRequests++;
  ep.rqTotal++;
  let settled = false;
  const upstream = net.connect({ host: ep.address, port: ep.port });
  const done = (status: number, flags: string): void => {
    if (settled) return;
    settled = true;
    ep.activeRequests--;
    target?.httpSeries.record(status, flags, '', performance.now() - start, 0, 0);
  };
  upstream.once('connect', () => {
    upstream.write(text);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket as NodeJS.WritableStream);
    (socket as NodeJS.ReadableStream).pipe(upstream);
    done(101, '-');
  });
  upstream.on('error', (err) => {
    if (!settled) {
      done(503, 'UF');
      reject(UpstreamConnectFailure(f, err.message, { cause: err }));
    } else socket.destroy();
  });
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

function rejectRaw(socket: Duplex, err: unknown, target: Target | undefined, start: number): void {
  const r = classify(err);
  const body = `${r.flag} ${r.reason}\n`;
  const text = r.status === 404 ? 'Not Found' : r.status === 502 ? 'Bad Gateway' : 'Service Unavailable';
  socket.end(`HTTP/1.1 ${r.status} ${text}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-meshbox-error: ${r.flag} ${r.reason}\r\n\r\n${body}`);
  target?.httpSeries.record(r.status, r.flag, '', performance.now() - start, 0, 0);
}
