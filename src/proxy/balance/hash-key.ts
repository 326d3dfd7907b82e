/**
 * The consistent-hash key of a request, from LoadBalancerSettings.consistentHash:
 *   hashKeyFor(settings, req) → string | undefined
 *   compileHashKey(settings) → ((req) => string | undefined) | undefined   (build once per route)
 * `req` is any object with the three accessors of HashRequestView, so the proxy can pass its own
 * request type without copying headers. Header names are passed lower-case.
 *
 * A missing header/cookie/parameter gives undefined; the hash balancers then pick a random
 * endpoint (Envoy does the same). For httpCookie with a ttl, Envoy would generate the cookie;
 * `cookieToGenerate(settings, key)` tells the proxy when and what to set.
 */
import type { LoadBalancerSettings } from '../../meshconfig/cluster-policy.js';

export interface HashRequestView {
  /** the first value of a request header; `name` is lower-case */
  header(name: string): string | undefined;
  /** the downstream peer's IP address */
  sourceIp(): string | undefined;
  /** the first value of a query parameter, decoded */
  query(name: string): string | undefined;
}

export type HashKeyFn = (req: HashRequestView) => string | undefined;

export function compileHashKey(settings: LoadBalancerSettings | undefined): HashKeyFn | undefined {
  const ch = settings?.consistentHash;
  if (ch === undefined) return undefined;
  if (ch.httpHeaderName !== undefined) {
    const name = ch.httpHeaderName.toLowerCase();
    return (req) => req.header(name);
  }
  if (ch.httpCookie !== undefined) {
    const name = ch.httpCookie.name;
    return (req) => cookieValue(req.header('cookie'), name);
  }
  if (ch.useSourceIp === true) return (req) => req.sourceIp();
  if (ch.httpQueryParameterName !== undefined) {
    const name = ch.httpQueryParameterName;
    return (req) => req.query(name);
  }
  return undefined;
}

export function hashKeyFor(settings: LoadBalancerSettings | undefined, req: HashRequestView): string | undefined {
  return compileHashKey(settings)?.(req);
}

/** The value of cookie `name` in a Cookie header ("a=1; b=2"), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * When the settings hash on a cookie with a ttl and the request had none, the Set-Cookie value the
 * proxy should add to the response so the client sticks to the endpoint chosen for `key` (the
 * proxy makes up `key`, e.g. a random id, and hashes on it for this request).
 */
export function cookieToGenerate(settings: LoadBalancerSettings | undefined, key: string, ttlSeconds: number | undefined): string | undefined {
  const cookie = settings?.consistentHash?.httpCookie;
  if (cookie === undefined || cookie.ttl === undefined) return undefined;
  let out = `${cookie.name}="${key}"`;
  if (cookie.path !== undefined) out += `; Path=${cookie.path}`;
  if (ttlSeconds !== undefined && ttlSeconds > 0) out += `; Max-Age=${Math.floor(ttlSeconds)}`;
  return out + '; HttpOnly';
}
