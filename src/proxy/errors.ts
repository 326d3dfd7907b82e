/**
 * Error catalog of the proxy. Every failure the proxy turns into a response carries an Envoy
 * response flag (details.flag) and names the proxy, route and cluster/upstream in its message,
 * so `x-meshbox-error` explains a 503 on its own. `rescue.ts` maps these to responses.
 */
import { defineError } from '../core/errors.js';

/** Envoy's response-flag vocabulary, the subset meshbox produces. */
export type ResponseFlag =
  | 'NR' // no route configured
  | 'UH' // no healthy upstream
  | 'UF' // upstream connection failure
  | 'UO' // upstream overflow (circuit breaker)
  | 'URX' // upstream retry limit exceeded
  | 'UT' // upstream request timeout
  | 'UC' // upstream connection termination
  | 'UPE' // upstream protocol error
  | 'DC' // downstream connection termination
  | 'DPE' // downstream protocol error
  | 'FI' // fault injected: abort
  | 'DI' // fault injected: delay (request still served)
  | 'DR' // direct response
  | 'RL'; // ratelimited/draining

export interface FailureContext {
  proxy: string;
  route?: string;
  cluster?: string;
  upstream?: string;
}

const at = (c: FailureContext): string =>
  `proxy ${c.proxy}${c.route ? `, route ${c.route}` : ''}${c.cluster ? `, cluster ${c.cluster}` : ''}${c.upstream ? `, upstream ${c.upstream}` : ''}`;

export const NoRoute = defineError(
  'MBX_PROXY_NO_ROUTE',
  (c: FailureContext, authority: string, path: string) =>
    `no route for ${authority}${path} (${at(c)}); add a virtual host domain and a route matching this request`,
  { httpStatus: 404 },
);

export const NoHealthyUpstream = defineError(
  'MBX_PROXY_NO_HEALTHY_UPSTREAM',
  (c: FailureContext, why: string) => `no healthy upstream (${at(c)}): ${why}; check the cluster's endpoints and outlier ejections on /clusters`,
  { httpStatus: 503, retryable: true },
);

export const UpstreamConnectFailure = defineError(
  'MBX_PROXY_UPSTREAM_CONNECT_FAILURE',
  (c: FailureContext, why: string) => `cannot connect to upstream (${at(c)}): ${why}; check that the upstream listens on that address`,
  { httpStatus: 503, retryable: true },
);

export const UpstreamOverflow = defineError(
  'MBX_PROXY_UPSTREAM_OVERFLOW',
  (c: FailureContext, limit: string) => `circuit breaker open (${at(c)}): ${limit}; raise connectionPool limits or add capacity`,
  { httpStatus: 503, retryable: true },
);

export const RetryLimitExceeded = defineError(
  'MBX_PROXY_RETRY_LIMIT_EXCEEDED',
  (c: FailureContext, attempts: number, last: string) => `retry limit exceeded after ${attempts} attempts (${at(c)}); last: ${last}`,
  { httpStatus: 503 },
);

export const UpstreamTimeout = defineError(
  'MBX_PROXY_UPSTREAM_TIMEOUT',
  (c: FailureContext, which: 'route timeout' | 'per-try timeout', ms: number) =>
    `${which} of ${ms}ms exceeded (${at(c)}); the upstream is slow, or raise the route's timeout`,
  { httpStatus: 504 },
);

export const UpstreamReset = defineError(
  'MBX_PROXY_UPSTREAM_RESET',
  (c: FailureContext, why: string) => `upstream reset the connection (${at(c)}): ${why}`,
  { httpStatus: 503, retryable: true },
);

export const UpstreamProtocolError = defineError(
  'MBX_PROXY_UPSTREAM_PROTOCOL_ERROR',
  (c: FailureContext, why: string) => `upstream sent an invalid response (${at(c)}): ${why}`,
  { httpStatus: 502 },
);

export const FaultAbort = defineError(
  'MBX_PROXY_FAULT_ABORT',
  (c: FailureContext, status: number) => `fault injection aborted the request with ${status} (${at(c)}); remove the route's fault.abort to stop this`,
  { httpStatus: 503 },
);

export const DownstreamDisconnect = defineError(
  'MBX_PROXY_DOWNSTREAM_DISCONNECT',
  (c: FailureContext) => `client closed the connection before the response completed (${at(c)})`,
  { httpStatus: 499 },
);

export const DownstreamProtocolError = defineError(
  'MBX_PROXY_BAD_REQUEST',
  (proxy: string, why: string) => `malformed request rejected by proxy ${proxy}: ${why}`,
  { httpStatus: 400 },
);

export const Draining = defineError(
  'MBX_PROXY_DRAINING',
  (proxy: string) => `proxy ${proxy} is draining and accepts no new requests; retry on another instance`,
  { httpStatus: 503, retryable: true },
);

export const ListenerBindFailed = defineError(
  'MBX_PROXY_LISTEN_FAILED',
  (name: string, addr: string, why: string) => `listener ${name} cannot bind ${addr}: ${why}; free the port or change the listener's port`,
);

export const ProxyNotStarted = defineError(
  'MBX_PROXY_NOT_STARTED',
  () => 'the proxy is not running; call start(snapshot) before update()',
);

/** Code → flag, for the rescue and the access log. */
export const FLAG_BY_CODE: Record<string, ResponseFlag> = {
  [NoRoute.code]: 'NR',
  [NoHealthyUpstream.code]: 'UH',
  [UpstreamConnectFailure.code]: 'UF',
  [UpstreamOverflow.code]: 'UO',
  [RetryLimitExceeded.code]: 'URX',
  [UpstreamTimeout.code]: 'UT',
  [UpstreamReset.code]: 'UC',
  [UpstreamProtocolError.code]: 'UPE',
  [FaultAbort.code]: 'FI',
  [DownstreamDisconnect.code]: 'DC',
  [DownstreamProtocolError.code]: 'DPE',
  [Draining.code]: 'RL',
};
