/**
 * One downstream HTTP request through the proxy: route → fault → destination → circuit breaker →
 * balancer → upstream attempt(s) → response, with retries above the balancer so a retry can pick
 * another endpoint (linkerd's order). Works for HTTP/1.1 (H1Server, on Node's parser) and HTTP/2
 * (node:http2 compat) downstreams, and HTTP/1.1 (H1Pool, undici's legacy dispatch handler: no
 * wrapper objects) and HTTP/2 (node:http2 session) upstreams.
 *
 * Hot-path rules: one Exchange plus one Attempt object per request; timers and listeners are
 * static functions with the exchange as argument (no closures); headers are copied once.
 */
import type { Http2ServerRequest, Http2ServerResponse, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { EndpointState } from '../balance/index.js';
import { decideFault, type LocalFailure } from '../resilience/index.js';
import {
  FaultAbort,
  NoHealthyUpstream,
  NoRoute,
  RetryLimitExceeded,
  UpstreamConnectFailure,
  UpstreamOverflow,
  UpstreamProtocolError,
  UpstreamReset,
  UpstreamTimeout,
  type FailureContext,
} from '../errors.js';
import { classify, grpcStatusFor, sendRescue, type Rescued } from '../rescue.js';
import type { CompiledRoute, MatchInput } from '../router/route-table.js';
import type { RequestSeries } from '../telemetry/istio-metrics.js';
import { newRequestId, propagateTrace } from '../telemetry/trace-context.js';
import type { ClusterStack, Upstream } from '../upstream/cluster-stack.js';
import type { H1Handler } from '../upstream/h1-pool.js';
import type { H1Request, H1Response } from './h1-server.js';
import { PEER_HEADER, type ListenerContext, type Target } from './listener-context.js';

export type DownstreamRequest = H1Request | Http2ServerRequest;
export type DownstreamResponse = H1Response | Http2ServerResponse;

/** The request body to forward: H1Request keeps it apart; an HTTP/2 request is itself the stream. */
function bodyOf(ex: Exchange): NodeJS.ReadableStream | null {
  if (!ex.hasBody) return null;
  return ex.isH2Downstream ? (ex.req as unknown as NodeJS.ReadableStream) : (ex.req as H1Request).body;
}
type HeaderObject = Record<string, string | string[] | undefined>;

const kExchange = Symbol('meshbox.exchange');
/** Hop-by-hop and framing headers never forwarded (RFC 9110 §7.6.1), plus h2 pseudo headers. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'expect', 'host', 'http2-settings']);
const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export class Exchange {
  readonly ctx: ListenerContext;
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly startMs: number;
  readonly isH2Downstream: boolean;
  readonly isGrpc: boolean;
  readonly hasBody: boolean;
  requestId: string;
  authority: string;
  path: string;
  query: string;
  route: CompiledRoute<Target> | undefined = undefined;
  target: Target | undefined = undefined;
  matchIndex = 0;
  upstreamHeaders: HeaderObject | undefined = undefined;
  upstreamPath = '';
  attempts = 0;
  attempt: Attempt | undefined = undefined;
  tried: Set<EndpointState> | undefined = undefined;
  lastEndpoint: EndpointState | undefined = undefined;
  lastFailure = '';
  status = 0;
  flag = '-';
  reason = '';
  grpcStatus = '';
  responseBytes = 0;
  routeTimer: NodeJS.Timeout | undefined = undefined;
  breakerHeld = false;
  /** holds a circuit-breaker pending slot until a connection is assigned */
  pending = false;
  done = false;
  responseStarted = false;
  faultDelayed = false;
  faultAbort = 0;

  constructor(ctx: ListenerContext, req: DownstreamRequest, res: DownstreamResponse) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.startMs = performance.now();
    this.isH2Downstream = req.httpVersionMajor === 2;
    const h = req.headers;
    const ct = h['content-type'];
    this.isGrpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    // H1Server decided from the framing headers whether there is a body stream.
    this.hasBody = this.isH2Downstream ? !(req as Http2ServerRequest).stream.endAfterHeaders : (req as H1Request).body !== null;
    const rid = h['x-request-id'];
    this.requestId = typeof rid === 'string' && rid !== '' ? rid : newRequestId();
    this.authority = (this.isH2Downstream ? (h[':authority'] as string | undefined) : undefined) ?? (h.host as string | undefined) ?? '';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    (res as unknown as Record<symbol, Exchange>)[kExchange] = this;
    res.on('close', onDownstreamClose);
  }

  failure(): FailureContext {
    return {
      proxy: this.ctx.proxyName,
      route: this.route ? `${this.route.vhost}/${this.route.name}` : undefined,
      cluster: this.target?.stack.name,
      upstream: this.lastEndpoint?.key,
    };
  }

  /** Entry point: everything up to the first upstream attempt. */
  run(): void {
    this.ctx.inflight.enter();
    let route = this.ctx.table.match(this as unknown as MatchInput, this);
    if (route === undefined) {
      // Listeners with originalDst route the rest by original destination or pass it through.
      const r = this.ctx.originalDst === undefined ? NoRoute(this.failure(), this.authority, this.path) : this.ctx.originalDst.route(this);
      if (r instanceof Error) {
        this.fail(r);
        return;
      }
      route = r;
    }
    this.route = route;
    if (route.fault !== undefined) {
      const d = decideFault(route.fault, Math.random);
      if (d.delayMs !== undefined) {
        this.faultDelayed = true;
        this.faultAbort = d.abortStatus ?? 0;
        setTimeout(continueAfterDelay, d.delayMs, this);
        return;
      }
      if (d.abortStatus !== undefined) {
        this.abortByFault(d.abortStatus);
        return;
      }
    }
    this.dispatch();
  }

  /**
   * Envoy picks the route's (weighted) cluster when it resolves the route, before the fault filter
   * runs, so an injected abort is still reported against that destination service (Kiali shows the
   * failing edge), and the reason names the cluster. No try is made: nothing is admitted.
   */
  abortByFault(status: number): void {
    const route = this.route;
    if (this.target === undefined && route !== undefined && route.kind === 'forward') this.target = route.pickDestination(Math.random());
    this.fail(FaultAbort(this.failure(), status, { details: { status } }));
  }

  dispatch(): void {
    if (this.done) return;
    const route = this.route as CompiledRoute<Target>;
    if (route.kind !== 'forward') {
      this.respondLocally(route);
      return;
    }
    const target = route.pickDestination(Math.random());
    if (target === undefined) {
      this.fail(NoHealthyUpstream(this.failure(), 'the route has no destination with weight above 0'));
      return;
    }
    this.target = target;
    const overflow = target.stack.admit(this);
    if (overflow !== '') {
      this.fail(UpstreamOverflow(this.failure(), overflow));
      return;
    }
    this.breakerHeld = true;
    this.buildUpstreamHeaders(route);
    if (route.timeoutMs > 0) this.routeTimer = setTimeout(routeTimeoutFired, route.timeoutMs, this);
    if (route.mirror !== undefined && !this.hasBody && (route.mirrorPercent >= 100 || Math.random() * 100 < route.mirrorPercent)) {
      sendMirror(this, route.mirror);
    }
    this.startAttempt();
  }

  buildUpstreamHeaders(route: CompiledRoute<Target>): void {
    const src = this.req.headers as HeaderObject;
    const h: HeaderObject = {};
    for (const k in src) {
      if (k.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(k)) continue;
      h[k] = src[k];
    }
    // "te: trailers" is end-to-end for gRPC and must survive.
    if (src.te === 'trailers') h.te = 'trailers';
    h['x-request-id'] = this.requestId;
    const peer = this.ctx.peerHeader;
    if (peer !== undefined) h[PEER_HEADER] = peer;
    else if (h[PEER_HEADER] !== undefined) delete h[PEER_HEADER];
    propagateTrace(h);
    if (!route.requestHeaders.empty) route.requestHeaders.apply(h as Record<string, string | string[]>);
    const authority = route.rewriteAuthority ?? this.authority;
    if (this.target?.stack.config.protocol === 'http') h.host = authority;
    else h[':authority'] = authority;
    this.upstreamHeaders = h;
    this.upstreamPath = route.rewriteUri !== undefined ? route.rewritePath(this.path, this.query, this.matchIndex) : (this.req.url ?? '/');
  }

  startAttempt(): void {
    if (this.done) return;
    const target = this.target as Target;
    // a retry after a config swap picks from the cluster's current endpoints (see ClusterStack.successor)
    const stack = this.attempts === 0 ? target.stack : target.stack.latest();
    const hashKey = stack.hashKey === undefined ? undefined : stack.hashKey(new HashView(this));
    // The common case (no hash key, first try) passes no context object: one allocation less.
    const ep = hashKey === undefined && this.tried === undefined ? stack.balancer.pick() : stack.balancer.pick({ hashKey, exclude: this.tried });
    if (ep === undefined) {
      const why = stack.upstreams.length === 0 ? 'the cluster has no endpoints' : `all ${stack.upstreams.length} endpoints are ejected by outlier detection`;
      this.fail(this.attempts > 0 ? RetryLimitExceeded(this.failure(), this.attempts, `${this.lastFailure}; then ${why}`) : NoHealthyUpstream(this.failure(), why));
      return;
    }
    const up = stack.upstreamOf(ep) as Upstream;
    this.lastEndpoint = ep;
    this.attempts++;
    ep.activeRequests++;
    ep.rqTotal++;
    const attempt = new Attempt(this, ep);
    this.attempt = attempt;
    const perTry = (this.route as CompiledRoute<Target>).retry.perTryTimeoutMs;
    if (perTry !== undefined) attempt.timer = setTimeout(perTryTimeoutFired, perTry, attempt);
    if (up.pool !== undefined) {
      up.pool.request(attempt, this.req.method as string, this.upstreamPath, this.upstreamHeaders as HeaderObject, bodyOf(this));
    } else {
      startH2Attempt(this, attempt, up);
    }
  }

  /** Retries replay the request, so a streamed body (not kept) rules them out. */
  canRetry(): boolean {
    return !this.hasBody && !this.responseStarted;
  }

  /** Whether an upstream status should be retried under the route's retry policy. */
  retriableStatus(status: number): boolean {
    return this.canRetry() && (this.route as CompiledRoute<Target>).retry.shouldRetry(this.attempts, status, this.req.method as string);
  }

  /** After the last try, a status that would have been retried: pass it on, flagged URX. */
  exhaustedOn(status: number): boolean {
    return (this.route as CompiledRoute<Target>).retry.retryCondition(status) !== undefined;
  }

  flagExhausted(status: number): string {
    this.flag = 'URX';
    this.reason = RetryLimitExceeded(this.failure(), this.attempts, `upstream ${this.lastEndpoint?.key} answered ${status}`).message;
    return `URX ${this.reason}`;
  }

  retriableError(kind: LocalFailure): boolean {
    return this.canRetry() && (this.route as CompiledRoute<Target>).retry.shouldRetry(this.attempts, kind, this.req.method as string);
  }

  /** Schedules the next attempt after back-off, respecting the cluster's maxRetries breaker. */
  retry(why: string): void {
    this.lastFailure = why;
    const stack = (this.target as Target).stack;
    if (!stack.breaker.tryAcquireRetry()) {
      this.fail(UpstreamOverflow(this.failure(), `${stack.breaker.activeRetries} retries active, limit maxRetries=${stack.pool.maxRetries}; last: ${why}`));
      return;
    }
    if (this.tried === undefined) this.tried = new Set();
    if (this.lastEndpoint) this.tried.add(this.lastEndpoint);
    const delay = (this.route as CompiledRoute<Target>).retry.backoffMs(this.attempts, Math.random);
    setTimeout(retryFired, delay, this);
  }

  respondLocally(route: CompiledRoute<Target>): void {
    const res = this.res;
    if (route.kind === 'direct') {
      const d = route.direct as NonNullable<CompiledRoute<Target>['direct']>;
      this.status = d.status;
      this.flag = 'DR';
      const headers: Record<string, string | number> = { ...d.headers, 'x-request-id': this.requestId };
      route.responseHeaders.apply(headers);
      res.writeHead(d.status, headers as never);
      res.end(d.body);
    } else {
      const scheme = 'http';
      const loc = route.location(scheme, this.authority, this.path, this.query, this.matchIndex);
      const code = route.redirect?.redirectCode ?? 301;
      this.status = code;
      const headers: Record<string, string | number> = { location: loc, 'content-length': 0, 'x-request-id': this.requestId };
      route.responseHeaders.apply(headers);
      res.writeHead(code, headers as never);
      res.end();
    }
    this.finish();
  }

  /** Terminal failure: rescue into a response (or a reset if the response had started). */
  fail(err: unknown): void {
    if (this.done) return;
    const r: Rescued = classify(err);
    this.status = r.status;
    this.flag = this.faultDelayed && r.flag !== '-' ? `DI,${r.flag}` : r.flag;
    this.reason = r.reason;
    if (this.isGrpc && !this.responseStarted) {
      // gRPC errors travel as HTTP 200 + grpc-status; the metrics record what was sent.
      this.grpcStatus = String(grpcStatusFor(r.status));
      this.status = 200;
    }
    this.abortAttempt(err);
    sendRescue(this.res as never, r, this.isGrpc, this.requestId);
    this.finish();
  }

  abortAttempt(reason: unknown): void {
    const a = this.attempt;
    if (a !== undefined && !a.finished) a.cancel(reason);
  }

  /** Writes the upstream's response head; returns false if the downstream is gone. */
  writeHead(status: number, headers: HeaderObject | (string | string[])[]): boolean {
    if (this.done || this.res.destroyed) return false;
    this.responseStarted = true;
    this.status = status;
    const route = this.route as CompiledRoute<Target>;
    let h: HeaderObject | (string | string[])[] = headers;
    if (!route.responseHeaders.empty || this.isH2Downstream) {
      const obj: HeaderObject = {};
      if (Array.isArray(headers)) {
        for (let i = 0; i < headers.length; i += 2) {
          const k = (headers[i] as string).toLowerCase();
          const v = headers[i + 1] as string;
          const cur = obj[k];
          obj[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
        }
      } else Object.assign(obj, headers);
      route.responseHeaders.apply(obj as Record<string, string | string[]>);
      h = obj;
    }
    if (this.ctx.inflight.draining && !this.isH2Downstream) (this.res as H1Response).shouldKeepAlive = false;
    try {
      (this.res as H1Response).writeHead(status, h as never);
    } catch (err) {
      this.responseStarted = false;
      this.fail(UpstreamProtocolError(this.failure(), `response head rejected: ${(err as Error).message}`, { cause: err }));
      return false;
    }
    return true;
  }

  /** Bookkeeping once the response is complete, failed or abandoned: metrics, access log. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.routeTimer !== undefined) clearTimeout(this.routeTimer);
    if (this.breakerHeld) {
      this.breakerHeld = false;
      const b = (this.target as Target).stack.breaker;
      b.releaseRequest();
      if (this.pending) {
        this.pending = false;
        b.releasePending();
      }
    }
    const ms = performance.now() - this.startMs;
    const cl = this.req.headers['content-length'];
    const reqBytes = cl === undefined ? 0 : Number(cl) || 0;
    const t = this.target;
    let series: RequestSeries;
    if (t === undefined) series = this.isGrpc ? this.ctx.unroutedGrpc : this.ctx.unroutedHttp;
    else {
      const peer = this.ctx.peerHeader === undefined ? this.req.headers[PEER_HEADER] : undefined;
      series = typeof peer === 'string' ? t.peerSeries(peer, this.isGrpc) : this.isGrpc ? t.grpcSeries : t.httpSeries;
    }
    series.record(this.status, this.flag, this.grpcStatus, ms, reqBytes, this.responseBytes);
    const log = this.ctx.accessLog;
    if (log.enabled) {
      log.write({
        start_time: new Date(Date.now() - ms).toISOString(),
        method: this.req.method,
        path: this.req.url,
        protocol: this.isH2Downstream ? 'HTTP/2' : `HTTP/${this.req.httpVersion}`,
        response_code: this.status,
        response_flags: this.flag,
        response_code_details: this.reason || undefined,
        bytes_received: reqBytes,
        bytes_sent: this.responseBytes,
        duration_ms: Math.round(ms * 1000) / 1000,
        upstream_host: this.lastEndpoint?.key,
        upstream_cluster: t?.stack.name,
        route_name: this.route ? `${this.route.vhost}/${this.route.name}` : undefined,
        attempts: this.attempts,
        authority: this.authority,
        x_request_id: this.requestId,
        traceparent: this.upstreamHeaders?.traceparent,
        downstream_remote_address: this.req.socket?.remoteAddress,
        listener: this.ctx.listenerName,
        config_version: this.ctx.version,
        grpc_status: this.grpcStatus || undefined,
      });
    }
    this.ctx.inflight.leave();
  }

  // MatchInput for the route table.
  get method(): string {
    return this.req.method as string;
  }
  get headers(): HeaderObject {
    return this.req.headers as HeaderObject;
  }
}

/** The request as consistent hashing sees it (only built for hash-balanced clusters). */
class HashView {
  readonly #ex: Exchange;
  constructor(ex: Exchange) {
    this.#ex = ex;
  }
  header(name: string): string | undefined {
    const v = this.#ex.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }
  sourceIp(): string | undefined {
    return this.#ex.req.socket?.remoteAddress;
  }
  query(name: string): string | undefined {
    return new URLSearchParams(this.#ex.query).get(name) ?? undefined;
  }
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

/**
 * One try against one endpoint. It is the H1Pool dispatch handler (undici's legacy callbacks)
 * and it ignores callbacks once superseded, so a late event from an aborted try cannot touch the
 * response.
 */
export class Attempt implements H1Handler {
  readonly ex: Exchange;
  readonly ep: EndpointState;
  timer: NodeJS.Timeout | undefined = undefined;
  finished = false;
  abortFn: ((reason?: unknown) => void) | undefined = undefined;
  resumeFn: (() => void) | undefined = undefined;
  h2stream: ClientHttp2Stream | undefined = undefined;
  timedOut = false;
  gotHeaders = false;

  constructor(ex: Exchange, ep: EndpointState) {
    this.ex = ex;
    this.ep = ep;
  }

  /** Ends this try's bookkeeping exactly once; `outcome` feeds outlier detection (none: cancelled). */
  settle(outcome: number | LocalFailure | undefined): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const ep = this.ep;
    ep.activeRequests--;
    if (outcome === undefined) return;
    if (typeof outcome !== 'number' || outcome >= 500) ep.rqError++;
    this.ex.target?.stack.latest().outlier?.record(ep, outcome);
  }

  cancel(reason: unknown): void {
    if (this.finished) return;
    this.settle(undefined);
    if (this.abortFn) this.abortFn(reason instanceof Error ? reason : new Error(String(reason)));
    else if (this.h2stream && !this.h2stream.destroyed) this.h2stream.close(8 /* CANCEL */);
  }

  // === H1Pool handler ===

  onConnect(abort: (reason?: unknown) => void): void {
    this.abortFn = abort;
    const ex = this.ex;
    if (ex.pending) {
      // The request got a connection: it no longer counts against http1MaxPendingRequests.
      ex.pending = false;
      ex.target?.stack.breaker.releasePending();
    }
    if (this.finished) abort(new Error('attempt superseded'));
  }

  onResponseStarted(): void {}

  onHeaders(status: number, raw: string[], resume: () => void): boolean {
    if (this.finished) return false;
    const ex = this.ex;
    if (status < 200) return true; // 1xx informational: the proxy answers 100-continue itself
    this.resumeFn = resume;
    this.gotHeaders = true;
    if (ex.retriableStatus(status)) {
      this.settle(status);
      this.abortFn?.(new Error('retrying'));
      ex.retry(`upstream ${this.ep.key} answered ${status}`);
      return false;
    }
    const headers: string[] = [];
    if (ex.attempts > 1 && ex.exhaustedOn(status)) headers.push('x-meshbox-error', ex.flagExhausted(status));
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i] as string;
      // Hop-by-hop names start with c, k, p, t or u: only those need the lower-case lookup.
      const c0 = k.charCodeAt(0) | 0x20;
      if ((c0 === 99 || c0 === 107 || c0 === 112 || c0 === 116 || c0 === 117) && k.length <= 17 && RESPONSE_HOP.has(k.toLowerCase())) continue;
      headers.push(k, raw[i + 1] as string);
    }
    if (!ex.writeHead(status, headers)) {
      this.cancel(new Error('downstream gone'));
      return false;
    }
    if (this.timer !== undefined) {
      // The per-try timeout covers the wait for the response head (Envoy's semantics).
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return false;
    const ex = this.ex;
    ex.responseBytes += chunk.length;
    const ok = (ex.res as H1Response).write(chunk);
    if (!ok) {
      // Backpressure: the pool pauses reading from the upstream socket until resume().
      ex.res.once('drain', onDownstreamDrain);
      return false;
    }
    return true;
  }

  onComplete(trailers: string[] | null, last?: Buffer): void {
    if (this.finished) return;
    const ex = this.ex;
    this.settle(ex.status);
    if (trailers && trailers.length > 0 && ex.isH2Downstream) {
      const t: Record<string, string> = {};
      for (let i = 0; i < trailers.length; i += 2) t[(trailers[i] as string).toLowerCase()] = trailers[i + 1] as string;
      (ex.res as Http2ServerResponse).addTrailers(t);
    }
    if (last !== undefined) {
      ex.responseBytes += last.length;
      ex.res.end(last);
    } else ex.res.end();
    ex.finish();
  }

  onError(err: Error): void {
    if (this.finished) return;
    const ex = this.ex;
    const code = (err as { code?: string }).code ?? '';
    const kind: LocalFailure = CONNECT_ERRORS.has(code) ? 'connect-failure' : 'reset';
    this.settle(kind);
    onAttemptError(ex, this, err, kind);
  }
}

function onAttemptError(ex: Exchange, a: Attempt, err: Error, kind: LocalFailure): void {
  if (ex.done) return;
  const why = `${a.ep.key}: ${err.message}`;
  if (ex.responseStarted) {
    // Mid-body: the client sees an abrupt end, never a truncated body that looks complete.
    ex.flag = 'UC';
    ex.reason = `upstream ${why}`;
    ex.res.destroy();
    ex.finish();
    return;
  }
  if (ex.retriableError(kind)) {
    ex.retry(why);
    return;
  }
  const f = ex.failure();
  if (ex.attempts > 1) ex.fail(RetryLimitExceeded(f, ex.attempts, why, { cause: err }));
  else if (kind === 'connect-failure') ex.fail(UpstreamConnectFailure(f, err.message, { cause: err }));
  else ex.fail(UpstreamReset(f, err.message, { cause: err }));
}

// === static callbacks (no per-request closures) ===

function onDownstreamClose(this: DownstreamResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange];
  if (ex === undefined || ex.done) return;
  if (!this.writableFinished) {
    ex.flag = 'DC';
    ex.reason = 'downstream closed the connection before the response completed';
    ex.abortAttempt(new Error('downstream disconnected'));
    ex.finish();
  }
}

function onDownstreamDrain(this: DownstreamResponse): void {
  const ex = (this as unknown as Record<symbol, Exchange>)[kExchange];
  const a = ex?.attempt;
  if (a === undefined || a.finished) return;
  if (a.resumeFn) a.resumeFn();
  else a.h2stream?.resume();
}

function continueAfterDelay(ex: Exchange): void {
  if (ex.faultAbort !== 0) {
    ex.abortByFault(ex.faultAbort);
    return;
  }
  ex.dispatch();
}

function retryFired(ex: Exchange): void {
  (ex.target as Target).stack.breaker.releaseRetry();
  if (ex.done) return;
  ex.startAttempt();
}

function routeTimeoutFired(ex: Exchange): void {
  ex.routeTimer = undefined;
  if (ex.done) return;
  const ms = (ex.route as CompiledRoute<Target>).timeoutMs;
  if (ex.lastEndpoint) ex.lastEndpoint.rqTimeout++;
  if (ex.responseStarted) {
    ex.flag = 'UT';
    ex.reason = `route timeout of ${ms}ms exceeded mid-response`;
    ex.abortAttempt(new Error('route timeout'));
    ex.res.destroy();
    ex.finish();
    return;
  }
  ex.fail(UpstreamTimeout(ex.failure(), 'route timeout', ms));
}

function perTryTimeoutFired(a: Attempt): void {
  a.timer = undefined;
  if (a.finished) return;
  const ex = a.ex;
  const ms = (ex.route as CompiledRoute<Target>).retry.perTryTimeoutMs as number;
  a.ep.rqTimeout++;
  a.cancel(new Error('per-try timeout'));
  // cancel() settled without an outcome; a timeout is a local-origin failure for outlier detection.
  ex.target?.stack.latest().outlier?.record(a.ep, 'timeout');
  if (ex.retriableError('timeout')) {
    ex.retry(`${a.ep.key}: per-try timeout of ${ms}ms`);
    return;
  }
  ex.fail(UpstreamTimeout(ex.failure(), 'per-try timeout', ms));
}

// === HTTP/2 upstream ===

function startH2Attempt(ex: Exchange, a: Attempt, up: Upstream): void {
  const session = (up.h2 as NonNullable<Upstream['h2']>).session();
  const h = { ...(ex.upstreamHeaders as HeaderObject) };
  h[':method'] = ex.req.method;
  h[':path'] = ex.upstreamPath;
  h[':scheme'] = 'http';
  if (h[':authority'] === undefined) h[':authority'] = h.host ?? ex.authority;
  delete h.host;
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(h as never, { endStream: !ex.hasBody });
  } catch (err) {
    a.settle('connect-failure');
    onAttemptError(ex, a, err as Error, 'connect-failure');
    return;
  }
  a.h2stream = stream;
  const body = bodyOf(ex);
  if (body !== null) body.pipe(stream);
  let trailers: IncomingHttpHeaders | undefined;
  stream.on('response', (headers) => {
    if (a.finished) return;
    const status = Number(headers[':status']);
    a.gotHeaders = true;
    if (ex.retriableStatus(status)) {
      a.settle(status);
      stream.close(8);
      ex.retry(`upstream ${a.ep.key} answered ${status}`);
      return;
    }
    const out: HeaderObject = {};
    if (ex.attempts > 1 && ex.exhaustedOn(status)) out['x-meshbox-error'] = ex.flagExhausted(status);
    for (const k in headers) if (k.charCodeAt(0) !== 58 && !RESPONSE_HOP.has(k)) out[k] = headers[k] as string;
    const gs = headers['grpc-status'];
    if (typeof gs === 'string') ex.grpcStatus = gs;
    if (!ex.writeHead(status, out)) {
      a.cancel(new Error('downstream gone'));
      return;
    }
    if (a.timer !== undefined) {
      clearTimeout(a.timer);
      a.timer = undefined;
    }
  });
  stream.on('data', (chunk: Buffer) => {
    if (a.finished) return;
    ex.responseBytes += chunk.length;
    if (!(ex.res as H1Response).write(chunk)) {
      stream.pause();
      ex.res.once('drain', onDownstreamDrain);
    }
  });
  stream.on('trailers', (t) => {
    trailers = t;
    const gs = t['grpc-status'];
    if (typeof gs === 'string') ex.grpcStatus = gs;
  });
  stream.on('end', () => {
    if (a.finished) return;
    a.settle(ex.status);
    if (trailers) {
      const t: Record<string, string> = {};
      for (const k in trailers) if (k.charCodeAt(0) !== 58) t[k] = String(trailers[k]);
      (ex.res as Http2ServerResponse).addTrailers(t);
    }
    ex.res.end();
    ex.finish();
  });
  stream.on('error', (err) => {
    if (a.finished) return;
    const code = (err as { code?: string }).code ?? '';
    const kind: LocalFailure = CONNECT_ERRORS.has(code) ? 'connect-failure' : 'reset';
    a.settle(kind);
    onAttemptError(ex, a, err, kind);
  });
  stream.on('close', () => {
    if (a.finished) return;
    const kind: LocalFailure = stream.rstCode === 7 /* REFUSED_STREAM */ ? 'refused-stream' : 'reset';
    a.settle(kind);
    onAttemptError(ex, a, new Error(`stream closed with code ${stream.rstCode ?? 0}`), kind);
  });
}

// === mirroring: fire and forget; the mirror's response is dropped ===

const mirrorHandler: H1Handler = {
  onConnect(): void {},
  onHeaders(): boolean { return true; },
  onData(): boolean { return true; },
  onComplete(): void {},
  onError(): void {},
};

function sendMirror(ex: Exchange, target: Target): void {
  const stack: ClusterStack = target.stack;
  const ep = stack.balancer.pick({});
  if (ep === undefined) return;
  const up = stack.upstreamOf(ep);
  if (!up?.pool) return;
  const h = { ...(ex.upstreamHeaders as HeaderObject) };
  // Istio marks mirrored traffic by appending -shadow to the authority.
  const host = String(h.host ?? ex.authority);
  const colon = host.lastIndexOf(':');
  h.host = colon > 0 ? `${host.slice(0, colon)}-shadow${host.slice(colon)}` : `${host}-shadow`;
  try {
    up.pool.request(mirrorHandler, ex.req.method as string, ex.upstreamPath, h, null);
  } catch {
    // A failing mirror never affects the real request.
  }
}
