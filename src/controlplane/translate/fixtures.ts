/**
 * A bookinfo-like mesh for tests and benches: productpage → reviews v1/v2/v3 (90/10 split and a
 * header route to v2) → ratings, plus a gateway. Test-only; exported for the push tests and bench.
 */
import type { KubeObject } from '../../api/types.js';
import type { DestinationRule, Endpoints, Gateway, MeshState, Pod, Service, Sidecar, VirtualService } from './mesh-types.js';

const T = '2026-01-01T00:00:00Z';

export function pod(ns: string, name: string, ip: string, labels: Record<string, string>, ports: number[] = [9080]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${name}`, labels, creationTimestamp: T },
    spec: { containers: [{ name: 'app', image: 'host', ports: ports.map((p) => ({ containerPort: p, name: 'http' })) }] },
    status: { phase: 'Running', podIP: ip },
  };
}

export function service(ns: string, name: string, vip: string, ports: { name?: string; port: number; targetPort?: number }[], selector = { app: name }): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, creationTimestamp: T }, spec: { clusterIP: vip, selector, ports } };
}

export function endpoints(ns: string, name: string, pods: Pod[], ports: { name?: string; port: number }[]): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: ns },
    subsets: pods.length === 0 ? [] : [{ addresses: pods.map((p) => ({ ip: p.status!.podIP!, targetRef: { kind: 'Pod', name: p.metadata.name, namespace: ns } })), ports }],
  };
}

function istio<T extends KubeObject>(kind: string, ns: string, name: string, spec: unknown, createdAt = T): T {
  return { apiVersion: 'networking.istio.io/v1', kind, metadata: { name, namespace: ns, creationTimestamp: createdAt, resourceVersion: '1' }, spec } as T;
}

export const vs = (ns: string, name: string, spec: VirtualService['spec'], createdAt?: string): VirtualService => istio('VirtualService', ns, name, spec, createdAt);
export const dr = (ns: string, name: string, spec: DestinationRule['spec']): DestinationRule => istio('DestinationRule', ns, name, spec);
export const gateway = (ns: string, name: string, spec: Gateway['spec']): Gateway => istio('Gateway', ns, name, spec);
export const sidecarRes = (ns: string, name: string, spec: Sidecar['spec']): Sidecar => istio('Sidecar', ns, name, spec);

export function bookinfo(): MeshState {
  const ns = 'shop';
  const productpage = pod(ns, 'productpage-v1-abc12', '10.244.0.10', { app: 'productpage', version: 'v1' });
  const reviews = [
    pod(ns, 'reviews-v1-aaaaa', '10.244.0.21', { app: 'reviews', version: 'v1' }),
    pod(ns, 'reviews-v2-bbbbb', '10.244.0.22', { app: 'reviews', version: 'v2' }),
    pod(ns, 'reviews-v3-ccccc', '10.244.0.23', { app: 'reviews', version: 'v3' }),
  ];
  const ratings = pod(ns, 'ratings-v1-ddddd', '10.244.0.30', { app: 'ratings', version: 'v1' });
  const db = pod(ns, 'mongodb-0', '10.244.0.40', { app: 'mongodb' }, [27017]);
  const http = [{ name: 'http', port: 9080 }];
  return {
    pods: [productpage, ...reviews, ratings, db],
    services: [
      service(ns, 'productpage', '10.96.0.10', http),
      service(ns, 'reviews', '10.96.0.20', http),
      service(ns, 'ratings', '10.96.0.30', http),
      service(ns, 'mongodb', '10.96.0.40', [{ name: 'tcp-mongo', port: 27017 }]),
    ],
    endpoints: [
      endpoints(ns, 'productpage', [productpage], http),
      endpoints(ns, 'reviews', reviews, http),
      endpoints(ns, 'ratings', [ratings], http),
      endpoints(ns, 'mongodb', [db], [{ name: 'tcp-mongo', port: 27017 }]),
    ],
    destinationRules: [
      dr(ns, 'reviews', {
        host: 'reviews',
        trafficPolicy: {
          loadBalancer: { simple: 'ROUND_ROBIN' },
          connectionPool: { http: { http1MaxPendingRequests: 64 } },
          outlierDetection: { consecutive5xxErrors: 3, interval: '5s', baseEjectionTime: '30s' },
          portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'LEAST_REQUEST' } }],
        },
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
          { name: 'v3', labels: { version: 'v3' } },
        ],
      }),
    ],
    virtualServices: [
      vs(ns, 'reviews', {
        hosts: ['reviews'],
        http: [
          { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
          {
            name: 'canary',
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: 90 },
              { destination: { host: 'reviews', subset: 'v3' }, weight: 10 },
            ],
            timeout: '3s',
            retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx,connect-failure' },
          },
        ],
      }),
      vs(ns, 'ratings', {
        hosts: ['ratings'],
        http: [{ route: [{ destination: { host: 'ratings' } }], fault: { delay: { fixedDelay: '2s', percentage: { value: 10 } }, abort: { httpStatus: 503, percent: 5 } } }],
      }),
      vs(ns, 'bookinfo', {
        hosts: ['*'],
        gateways: ['bookinfo-gateway'],
        http: [
          { match: [{ uri: { exact: '/productpage' } }, { uri: { prefix: '/static' } }], route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] },
          { match: [{ uri: { exact: '/old' } }], redirect: { uri: '/productpage', redirectCode: 301 } },
        ],
      }),
    ],
    gateways: [gateway(ns, 'bookinfo-gateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] })],
    serviceEntries: [],
    sidecars: [],
  };
}
