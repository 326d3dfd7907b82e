/**
 * The shapes the translator reads, with Kubernetes' and Istio's field names. Only the fields the
 * control plane uses are typed; api/validate rejects unsupported Istio fields at apply time.
 */
import type { KubeObject, Pod } from '../../api/types.js';
import type { ConnectionPoolSettings, HTTPFaultInjection, HTTPRetry, LoadBalancerSettings, OutlierDetection } from '../../meshconfig/types.js';

export type { Pod };

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  spec: { clusterIP?: string; selector?: Record<string, string>; ports?: ServicePort[]; type?: string };
}

export interface EndpointAddress {
  ip: string;
  targetRef?: { kind?: string; name: string; namespace?: string };
}

export interface Endpoints extends KubeObject {
  subsets?: { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: { name?: string; port: number }[] }[];
}

export interface StringMatchIn {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatchIn;
  authority?: StringMatchIn;
  method?: StringMatchIn;
  headers?: Record<string, StringMatchIn>;
  queryParams?: Record<string, StringMatchIn>;
  withoutHeaders?: Record<string, StringMatchIn>;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  port?: number;
  /** exact and prefix uri matches ignore case (Istio: not regex) */
  ignoreUriCase?: boolean;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: { uri?: string; authority?: string; scheme?: string; port?: number; redirectCode?: number };
  directResponse?: { status: number; body?: { string?: string; bytes?: string } };
  rewrite?: { uri?: string; authority?: string };
  timeout?: string;
  retries?: HTTPRetry;
  fault?: {
    delay?: { fixedDelay?: string; percentage?: { value: number }; percent?: number };
    abort?: { httpStatus?: number; percentage?: { value: number }; percent?: number };
  };
  mirror?: Destination;
  mirrorPercentage?: { value: number };
  headers?: Headers;
}

/** Istio TCPRoute: api/ admits matches on port (and gateways with "mesh") and one destination. */
export interface TCPRoute {
  match?: { port?: number; gateways?: string[] }[];
  route: { destination: Destination; weight?: number }[];
}

export interface VirtualService extends KubeObject {
  spec: { hosts?: string[]; gateways?: string[]; http?: HTTPRoute[]; tcp?: TCPRoute[]; exportTo?: string[] };
}

export interface PortTrafficPolicy {
  port?: { number?: number };
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
}

export interface TrafficPolicyIn {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  portLevelSettings?: PortTrafficPolicy[];
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicyIn;
}

export interface DestinationRule extends KubeObject {
  spec: { host: string; trafficPolicy?: TrafficPolicyIn; subsets?: Subset[]; exportTo?: string[] };
}

export interface GatewayServer {
  port: { number: number; name?: string; protocol?: string };
  hosts: string[];
  bind?: string;
  name?: string;
}

export interface Gateway extends KubeObject {
  spec: { selector?: Record<string, string>; servers?: GatewayServer[] };
}

export interface ServiceEntry extends KubeObject {
  spec: {
    hosts: string[];
    addresses?: string[];
    ports?: { number: number; name?: string; protocol?: string; targetPort?: number }[];
    resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
    location?: string;
    exportTo?: string[];
    endpoints?: { address: string; ports?: Record<string, number>; labels?: Record<string, string>; weight?: number }[];
  };
}

export interface Sidecar extends KubeObject {
  spec: {
    workloadSelector?: { labels?: Record<string, string> };
    egress?: { hosts: string[]; port?: { number?: number } }[];
    outboundTrafficPolicy?: { mode?: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  };
}

/** Everything the translator reads, as lists (from informers or from fixtures). */
export interface MeshState {
  services: readonly Service[];
  endpoints: readonly Endpoints[];
  pods: readonly Pod[];
  virtualServices: readonly VirtualService[];
  destinationRules: readonly DestinationRule[];
  gateways: readonly Gateway[];
  serviceEntries: readonly ServiceEntry[];
  sidecars: readonly Sidecar[];
}

export interface TranslateOptions {
  /** default "cluster.local" */
  clusterDomain?: string;
  /** Istio's root namespace: a Sidecar there applies to namespaces without their own */
  rootNamespace?: string;
}
