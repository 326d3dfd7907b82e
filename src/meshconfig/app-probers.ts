/**
 * Istio's probe rewrite, shared by the injector and the sidecar: the kubelet's HTTP and TCP probes of
 * an injected pod's app containers are pointed at the sidecar's agent port (15020,
 * `/app-health/<container>/<readyz|livez|startupz>`), and the sidecar runs the original probe
 * against 127.0.0.1 from inside the pod. Probes then see the app itself (a TCP probe through the
 * inbound capture would be answered by the proxy's listener) and stay out of the mesh's metrics.
 */
export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';
export const AGENT_PORT = 15020;

export type ProbeKindPath = 'readyz' | 'livez' | 'startupz';

export interface AppProber {
  httpGet?: { path?: string; port: number; scheme?: 'HTTP'; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number };
  timeoutSeconds?: number;
}

/** key: the rewritten path, e.g. `/app-health/web/readyz` */
export type AppProbers = Record<string, AppProber>;

export function appHealthPath(container: string, kind: ProbeKindPath): string {
  return `/app-health/${container}/${kind}`;
}
