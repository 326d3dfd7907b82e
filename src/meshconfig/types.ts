/**
 * The proxy config model, in envoy's vocabulary (listener → route config → virtual host → route →
 * cluster → endpoint) with Istio's field names and semantics inside routes and clusters.
 *
 * It has two parts, as envoy's bootstrap and xDS do:
 *  - `Bootstrap`: who the proxy is and where its admin/stats/health ports are; fixed for the process;
 *  - `Snapshot`: listeners, routes and clusters; versioned and swapped atomically at run time, from a
 *    file today and from the control plane's stream later.
 * docs/proxy-config.md documents the file format.
 */
import type {
  ConnectionPoolSettings,
  HTTPFaultInjection,
  HTTPRetry,
  LoadBalancerSettings,
  OutlierDetection,
} from './cluster-policy.js';

export type { ConnectionPoolSettings, HTTPFaultInjection, HTTPRetry, LoadBalancerSettings, OutlierDetection };

export const LISTENER_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp', 'auto'] as const;
export type ListenerProtocol = (typeof LISTENER_PROTOCOLS)[number];
export const CLUSTER_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const;
export type ClusterProtocol = (typeof CLUSTER_PROTOCOLS)[number];

/** Identity of the proxy; the values fill Istio's metric labels. */
export interface NodeInfo {
  id: string;
  metadata: {
    workload?: string;
    namespace?: string;
    app?: string;
    version?: string;
    principal?: string;
    cluster?: string;
  };
}

export interface AddressPort {
  address: string;
  /** 0 picks a free port (tests); the bound port is reported by `Proxy.addresses()` */
  port: number;
}

export interface ProxyLimits {
  /** largest request head in bytes (request line + headers); bigger gets 431 */
  maxHeaderBytes: number;
  /** most header lines in a request head; more gets 431 */
  maxHeaderCount: number;
  /** a client must send a complete request head within this (slowloris) */
  headersTimeout: string;
  /** idle keep-alive connections are closed after this */
  idleTimeout: string;
  /** a whole request (head and body) must arrive within this; "0s" disables */
  requestTimeout: string;
  /** `auto` listeners fall back to TCP when the client sent nothing after this (server-first protocols) */
  detectTimeout: string;
}

export interface Bootstrap {
  node: NodeInfo;
  admin: AddressPort;
  stats: AddressPort;
  health: AddressPort;
  /** where JSON access log lines go: a file path, "stdout", "stderr" or "off" */
  accessLog: string;
  limits: ProxyLimits;
  /** SIGTERM and /drain_listeners wait this long for in-flight requests */
  drainTimeout: string;
}

export interface Listener {
  name: string;
  address: string;
  port: number;
  protocol: ListenerProtocol;
  /** inbound listeners report as `destination`, outbound ones as `source` (Istio's reporter label) */
  direction: 'inbound' | 'outbound';
  /** route config serving HTTP on this listener (http, http2, grpc, auto) */
  routeConfig?: string;
  /** cluster serving plain TCP on this listener (tcp, and auto when detection finds no HTTP) */
  tcpCluster?: string;
  /**
   * Route by each connection's original destination (SO_ORIGINAL_DST after an iptables REDIRECT;
   * a connection that was not redirected uses its local address and port). See OriginalDst.
   */
  originalDst?: OriginalDst;
}

/**
 * Envoy's use_original_dst with Istio's per-destination filter chains, folded into one listener:
 *  - a connection whose original destination has a `tcp` entry ("ip:port" exact, else "*:port")
 *    is piped to that cluster at once (the port is declared TCP: no protocol detection);
 *  - HTTP is routed by Host; when no virtual host matches the Host, by the virtual host whose
 *    domains hold "ip:port" of the original destination;
 *  - anything else goes to the original destination itself when `passthrough` is true (Istio's
 *    PassthroughCluster; inbound listeners: 127.0.0.1:<original port>, InboundPassthroughCluster),
 *    otherwise HTTP gets 502 NR and TCP is closed (BlackHoleCluster).
 */
export interface OriginalDst {
  /** "ip:port", "[ip6]:port" or "*:port" → cluster name, for plain TCP connections */
  tcp?: Record<string, string>;
  passthrough?: boolean;
}

/** One string condition; exactly one of exact/prefix/regex/present. */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  /** RE2-style full match (anchored at both ends) */
  regex?: string;
  /** true: the header/parameter must be present; false: it must be absent */
  present?: boolean;
  /** compare exact/prefix/regex without regard to case (Istio's ignoreUriCase; never with present) */
  ignoreCase?: boolean;
}

/** All given conditions must hold (Istio HTTPMatchRequest). */
export interface RouteMatch {
  name?: string;
  authority?: StringMatch;
  path?: StringMatch;
  method?: StringMatch;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
}

export interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface WeightedCluster {
  cluster: string;
  /** relative weight; weights need not sum to 100 */
  weight: number;
}

export interface Redirect {
  uri?: string;
  authority?: string;
  scheme?: string;
  port?: number;
  /** 301 (default), 302, 303, 307 or 308 */
  redirectCode?: number;
}

export interface DirectResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface Route {
  name: string;
  /** any of these matches selects the route (OR); none or empty matches everything */
  match?: RouteMatch[];
  /** exactly one of route / redirect / directResponse */
  route?: WeightedCluster[];
  redirect?: Redirect;
  directResponse?: DirectResponse;
  headers?: { request?: HeaderOps; response?: HeaderOps };
  rewrite?: { uri?: string; authority?: string };
  /** total time for the request including retries ("0s" or absent: none) */
  timeout?: string;
  retries?: HTTPRetry & {
    /** retry POST/PATCH and other non-idempotent methods too; off unless the route says so */
    retryNonIdempotent?: boolean;
  };
  fault?: HTTPFaultInjection;
  mirror?: { cluster: string };
  mirrorPercentage?: { value: number };
}

export interface VirtualHost {
  name: string;
  /** host names, optionally with port; "*.example.com" and "*" wildcards */
  domains: string[];
  routes: Route[];
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

export interface Endpoint {
  address: string;
  port: number;
  weight?: number;
  labels?: Record<string, string>;
}

/** What the destination_* metric labels say about a cluster. */
export interface ClusterDestination {
  service?: string;
  serviceName?: string;
  serviceNamespace?: string;
  workload?: string;
  workloadNamespace?: string;
  app?: string;
  version?: string;
  principal?: string;
}

export interface Cluster {
  name: string;
  protocol: ClusterProtocol;
  endpoints: Endpoint[];
  destination?: ClusterDestination;
  lbPolicy?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
}

export interface Snapshot {
  version: string;
  listeners: Listener[];
  routes: RouteConfig[];
  clusters: Cluster[];
}

/** What a config file holds: the bootstrap plus the first snapshot. */
export interface ProxyConfig {
  bootstrap: Bootstrap;
  snapshot: Snapshot;
}
