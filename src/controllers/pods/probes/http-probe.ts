/**
 * httpGet probes and hooks, as the kubelet's pkg/probe/http: GET with User-Agent kube-probe, no
 * keep-alive, HTTPS without certificate checks, redirects followed only on the same host (a redirect
 * elsewhere ends the probe with a warning), success on 200..399, body read up to 10 KiB.
 */
import http from 'node:http';
import https from 'node:https';
import type { Container, HttpGetAction } from '../../../api/types.js';
import { dialError, formatHostPort } from './dial-error.js';
import { resolvePort } from './resolve-port.js';
import { MAX_OUTPUT_BYTES, PROBE_USER_AGENT, type ProbeResult } from './probe-target.js';

const MAX_REDIRECTS = 10;

export interface HttpGetResponse {
  statusCode: number;
  body: string;
}

/** Builds the URL the kubelet would request for an httpGet action. */
export function httpGetUrl(action: HttpGetAction, container: Pick<Container, 'name' | 'ports'> | undefined, podIP: string): URL {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || podIP;
  const port = resolvePort(action.port, container);
  let path = action.path ?? '';
  if (!path.startsWith('/')) path = '/' + path;
  return new URL(`${scheme}://${formatHostPort(host, port)}${path}`);
}

export async function httpProbe(
  action: HttpGetAction,
  container: Pick<Container, 'name' | 'ports'> | undefined,
  podIP: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  let url: URL;
  try {
    url = httpGetUrl(action, container, podIP);
  } catch (err) {
    return { outcome: 'failure', output: err instanceof Error ? err.message : String(err) };
  }
  try {
    const res = await httpGet(url, action.httpHeaders ?? [], timeoutMs);
    if (res.statusCode >= 200 && res.statusCode < 400) {
      if (res.statusCode >= 300) return { outcome: 'warning', output: `Probe terminated redirects, Response body: ${res.body}` };
      return { outcome: 'success', output: res.body };
    }
    return { outcome: 'failure', output: `HTTP probe failed with statuscode: ${res.statusCode}` };
  } catch (err) {
    return { outcome: 'failure', output: (err as Error).message };
  }
}

/**
 * One GET with the kubelet's client rules. Rejects with a Go-style message (`Get "url": ...`) on
 * transport errors and on timeout; resolves with any status code.
 */
export async function httpGet(url: URL, headers: { name: string; value: string }[], timeoutMs: number): Promise<HttpGetResponse> {
  const deadline = Date.now() + timeoutMs;
  const originalHost = url.hostname;
  let current = url;
  for (let hop = 0; ; hop++) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`Get "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
    const res = await getOnce(current, headers, left, url);
    const location = res.location;
    if (res.statusCode < 300 || res.statusCode >= 400 || !location) return res;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      return res;
    }
    // the kubelet follows redirects only to the same host; elsewhere it keeps the 3xx response
    if (next.hostname !== originalHost) return res;
    if (hop + 1 >= MAX_REDIRECTS) throw new Error(`Get "${next.href}": stopped after ${MAX_REDIRECTS} redirects`);
    current = next;
  }
}

function getOnce(url: URL, extra: { name: string; value: string }[], timeoutMs: number, first: URL): Promise<HttpGetResponse & { location?: string }> {
  const headers: Record<string, string> = { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*', Connection: 'close' };
  for (const h of extra) {
    // a probe header replaces the default of the same name, case-insensitively, as Go's Header.Set does
    for (const k of Object.keys(headers)) if (k.toLowerCase() === h.name.toLowerCase()) delete headers[k];
    headers[h.name] = h.value;
  }
  const mod = url.protocol === 'https:' ? https : http;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new Error(`Get "${first.href}": ${msg}`));
    };
    const req = mod.request(
      {
        method: 'GET',
        hostname,
        port,
        path: url.pathname + url.search,
        headers,
        agent: false,
        rejectUnauthorized: false, // the kubelet does not verify probe certificates
        // one socket timer bounds the whole exchange: connect, headers and (idle) body
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size >= MAX_OUTPUT_BYTES) return;
          chunks.push(c);
          size += c.length;
          if (size >= MAX_OUTPUT_BYTES) finish();
        });
        const finish = (): void => {
          if (settled) return;
          settled = true;
          const body = Buffer.concat(chunks).subarray(0, MAX_OUTPUT_BYTES).toString('utf8');
          const location = res.headers.location;
          req.destroy();
          resolve({ statusCode: res.statusCode ?? 0, body, ...(location ? { location } : {}) });
        };
        res.on('end', finish);
        res.on('error', (err) => fail(err.message));
        res.on('aborted', () => fail('unexpected EOF'));
      },
    );
    req.on('timeout', () => fail('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'));
    req.on('error', (err) => fail(dialError(hostname, port, err)));
    req.end();
  });
}
