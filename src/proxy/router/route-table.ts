/**
 * A route config compiled for matching (built once per snapshot, immutable afterwards):
 * virtual hosts by exact domain, then "*.suffix" wildcards (longest first), then "*"; routes in
 * order, each match precompiled to predicates. Per request: `match(...)` does a map lookup and
 * walks predicates, with no allocation unless a route needs query parameters.
 */
import type { Redirect, Route, RouteConfig, RouteMatch } from '../../meshconfig/types.js';
import { parseDuration } from '../../meshconfig/duration.js';
import { resolveFault, percentOf, type ResolvedFault } from '../../meshconfig/cluster-policy.js';
import { RetryPolicy } from '../resilience/index.js';
import { CompiledHeaderOps } from './header-ops.js';
import { compileStringMatch, type StringPredicate } from './string-matcher.js';

/** What a matcher sees of a request. */
export interface MatchInput {
  authority: string;
  path: string;
  /** raw query string without "?", or "" */
  query: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

type Predicate = (r: MatchInput, q: URLSearchParams | undefined) => boolean;

class CompiledMatch {
  readonly preds: Predicate[];
  readonly needsQuery: boolean;
  /** the literal prefix (or exact path) this match consumed, for rewrite.uri */
  readonly pathPrefix: string | undefined;

  constructor(m: RouteMatch) {
    const preds: Predicate[] = [];
    if (m.path) {
      const p = compileStringMatch(m.path);
      preds.push((r) => p(r.path));
    }
    if (m.method) {
      const p = compileStringMatch(m.method);
      preds.push((r) => p(r.method));
    }
    if (m.authority) {
      const p = compileStringMatch(m.authority, true);
      preds.push((r) => p(r.authority));
    }
    for (const [name, sm] of Object.entries(m.headers ?? {})) {
      const p = compileStringMatch(sm);
      preds.push((r) => {
        const v = r.headers[name];
        return p(Array.isArray(v) ? v.join(',') : v);
      });
    }
    const qp = Object.entries(m.queryParams ?? {}).map(([k, sm]): [string, StringPredicate] => [k, compileStringMatch(sm)]);
    for (const [k, p] of qp) preds.push((_r, q) => p(q?.get(k) ?? undefined));
    this.preds = preds;
    this.needsQuery = qp.length > 0;
    this.pathPrefix = m.path?.prefix ?? m.path?.exact;
    this.#pathIgnoreCase = m.path?.ignoreCase === true;
  }

  readonly #pathIgnoreCase: boolean;

  /** What follows the matched prefix in `path` (case-insensitively under ignoreUriCase), or undefined. */
  restAfterPrefix(path: string): string | undefined {
    const prefix = this.pathPrefix;
    if (prefix === undefined) return undefined;
    const head = path.slice(0, prefix.length);
    const same = this.#pathIgnoreCase ? head.toLowerCase() === prefix.toLowerCase() : head === prefix;
    return same ? path.slice(prefix.length) : undefined;
  }

  test(r: MatchInput, q: URLSearchParams | undefined): boolean {
    const preds = this.preds;
    for (let i = 0; i < preds.length; i++) if (!(preds[i] as Predicate)(r, q)) return false;
    return true;
  }
}

export interface Destination<C> {
  cluster: C;
  weight: number;
}

export class CompiledRoute<C> {
  readonly name: string;
  readonly vhost: string;
  readonly matches: CompiledMatch[];
  readonly needsQuery: boolean;
  readonly kind: 'forward' | 'redirect' | 'direct';
  readonly destinations: Destination<C>[];
  readonly #cumulative: number[];
  readonly #totalWeight: number;
  readonly requestHeaders: CompiledHeaderOps;
  readonly responseHeaders: CompiledHeaderOps;
  readonly rewriteUri: string | undefined;
  readonly rewriteAuthority: string | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fault: ResolvedFault | undefined;
  readonly mirror: C | undefined;
  readonly mirrorPercent: number;
  readonly redirect: Redirect | undefined;
  readonly direct: { status: number; body: Buffer; headers: Record<string, string | number> } | undefined;
  readonly config: Route;

  constructor(vhost: string, r: Route, resolve: (cluster: string) => C) {
    this.config = r;
    this.name = r.name;
    this.vhost = vhost;
    this.matches = (r.match ?? []).map((m) => new CompiledMatch(m));
    this.needsQuery = this.matches.some((m) => m.needsQuery);
    this.kind = r.redirect ? 'redirect' : r.directResponse ? 'direct' : 'forward';
    this.destinations = (r.route ?? []).filter((d) => d.weight > 0).map((d) => ({ cluster: resolve(d.cluster), weight: d.weight }));
    let sum = 0;
    this.#cumulative = this.destinations.map((d) => (sum += d.weight));
    this.#totalWeight = sum;
    this.requestHeaders = new CompiledHeaderOps(r.headers?.request);
    this.responseHeaders = new CompiledHeaderOps(r.headers?.response);
    this.rewriteUri = r.rewrite?.uri;
    this.rewriteAuthority = r.rewrite?.authority;
    this.timeoutMs = r.timeout ? (parseDuration(r.timeout) ?? 0) : 0;
    this.retry = new RetryPolicy(r.retries, { retryNonIdempotent: r.retries?.retryNonIdempotent === true });
    this.fault = resolveFault(r.fault);
    this.mirror = r.mirror ? resolve(r.mirror.cluster) : undefined;
    this.mirrorPercent = r.mirror ? (r.mirrorPercentage ? percentOf(r.mirrorPercentage) : 100) : 0;
    this.redirect = r.redirect;
    if (r.directResponse) {
      const body = Buffer.from(r.directResponse.body ?? '');
      const headers: Record<string, string | number> = { ...(r.directResponse.headers ?? {}) };
      headers['content-length'] = body.length;
      if (body.length > 0 && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'text/plain';
      this.direct = { status: r.directResponse.status, body, headers };
    } else {
      this.direct = undefined;
    }
  }

  /** Which match index matched, or -1. Routes without matches match everything (index 0). */
  matchIndex(r: MatchInput, q: URLSearchParams | undefined): number {
    const ms = this.matches;
    if (ms.length === 0) return 0;
    for (let i = 0; i < ms.length; i++) if ((ms[i] as CompiledMatch).test(r, q)) return i;
    return -1;
  }

  /** Weighted destination choice; `u` is uniform in [0, 1). */
  pickDestination(u: number): C | undefined {
    const d = this.destinations;
    if (d.length === 1) return (d[0] as Destination<C>).cluster;
    const x = u * this.#totalWeight;
    const c = this.#cumulative;
    for (let i = 0; i < c.length; i++) if (x < (c[i] as number)) return (d[i] as Destination<C>).cluster;
    return d[d.length - 1]?.cluster;
  }

  /** The upstream path after rewrite.uri (Istio: replaces the matched prefix, or the whole path). */
  rewritePath(path: string, query: string, matchIdx: number): string {
    const uri = this.rewriteUri as string;
    const m = this.matches[matchIdx];
    const p = m?.pathPrefix === undefined ? uri : uri + (m.restAfterPrefix(path) ?? '');
    return query ? `${p}?${query}` : p;
  }

  /** Location header for a redirect route. */
  location(scheme: string, authority: string, path: string, query: string, matchIdx: number): string {
    const r = this.redirect as Redirect;
    let host = r.authority ?? authority;
    if (r.port !== undefined) host = `${host.replace(/:\d+$/, '')}:${r.port}`;
    let p = path;
    if (r.uri !== undefined) {
      const m = this.matches[matchIdx];
      const rest = m?.pathPrefix?.endsWith('/') ? m.restAfterPrefix(path) : undefined;
      p = rest ? r.uri + rest : r.uri;
    }
    return `${r.scheme ?? scheme}://${host}${p}${query ? `?${query}` : ''}`;
  }
}

class CompiledVirtualHost<C> {
  constructor(readonly name: string, readonly routes: CompiledRoute<C>[], readonly needsQuery: boolean) {}
}

const CACHE_LIMIT = 4096;

export class RouteTable<C> {
  readonly name: string;
  readonly #exact = new Map<string, CompiledVirtualHost<C>>();
  readonly #suffixes: [string, CompiledVirtualHost<C>][] = [];
  readonly #any: CompiledVirtualHost<C> | undefined;
  /** authority → virtual host, because the same few authorities repeat on a sidecar */
  readonly #cache = new Map<string, CompiledVirtualHost<C> | null>();

  constructor(rc: RouteConfig, resolve: (cluster: string) => C) {
    this.name = rc.name;
    let any: CompiledVirtualHost<C> | undefined;
    for (const vh of rc.virtualHosts) {
      const routes = vh.routes.map((r) => new CompiledRoute(vh.name, r, resolve));
      const cvh = new CompiledVirtualHost(vh.name, routes, routes.some((r) => r.needsQuery));
      for (const d of vh.domains) {
        const domain = d.toLowerCase();
        if (domain === '*') any = cvh;
        else if (domain.startsWith('*')) this.#suffixes.push([domain.slice(1), cvh]);
        else this.#exact.set(domain, cvh);
      }
    }
    this.#suffixes.sort((a, b) => b[0].length - a[0].length);
    this.#any = any;
  }

  #virtualHost(authority: string): CompiledVirtualHost<C> | undefined {
    const cached = this.#cache.get(authority);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.#lookup(authority.toLowerCase());
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(authority, found ?? null);
    return found;
  }

  #lookup(a: string): CompiledVirtualHost<C> | undefined {
    const exact = this.#exact.get(a);
    if (exact) return exact;
    const colon = a.lastIndexOf(':');
    const host = colon > 0 && a.indexOf(']') < colon ? a.slice(0, colon) : a;
    if (host !== a) {
      const byHost = this.#exact.get(host);
      if (byHost) return byHost;
    }
    for (const [suffix, vh] of this.#suffixes) if (a.endsWith(suffix) || host.endsWith(suffix)) return vh;
    return this.#any;
  }

  /** The route for a request, or undefined (NR). Sets `out.matchIndex` for rewrites. */
  match(input: MatchInput, out: { matchIndex: number }): CompiledRoute<C> | undefined {
    const vh = this.#virtualHost(input.authority);
    if (!vh) return undefined;
    return this.#matchIn(vh, input, out);
  }

  /** Whether a virtual host (exact, wildcard or "*") serves this authority. */
  hasVirtualHost(authority: string): boolean {
    return this.#virtualHost(authority) !== undefined;
  }

  /**
   * `match`, but the virtual host is chosen by `authority` instead of the request's Host: the
   * original destination's "ip:port" when the Host names no virtual host (listener originalDst).
   */
  matchAuthority(authority: string, input: MatchInput, out: { matchIndex: number }): CompiledRoute<C> | undefined {
    const vh = this.#virtualHost(authority);
    if (!vh) return undefined;
    return this.#matchIn(vh, input, out);
  }

  #matchIn(vh: CompiledVirtualHost<C>, input: MatchInput, out: { matchIndex: number }): CompiledRoute<C> | undefined {
    const q = vh.needsQuery ? new URLSearchParams(input.query) : undefined;
    const routes = vh.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i] as CompiledRoute<C>;
      const idx = r.matchIndex(input, q);
      if (idx >= 0) {
        out.matchIndex = idx;
        return r;
      }
    }
    return undefined;
  }
}
