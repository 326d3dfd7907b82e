/**
 * Sidecar injection, as Istio's injection webhook does it at pod admission: the proxy becomes a
 * native sidecar (init container `istio-proxy` with `restartPolicy: Always`), so it starts and is
 * ready before the app containers, and stops after them (a Job's pod completes). The pod is marked
 * with `sidecar.istio.io/status`; the runtime installs the traffic capture for marked pods when it
 * makes their sandbox (the Istio CNI way: no privileged init container).
 *
 *   if (injectionWanted(pod, nsLabels).inject) pod = injectSidecar(pod, settings)
 */
import type { Container, Pod, Probe, Volume } from '../../api/types.js';
import { AGENT_PORT, APP_PROBERS_ENV, appHealthPath, type AppProbers, type AppProber, type ProbeKindPath } from '../../meshconfig/app-probers.js';
import { workloadName } from '../../api/workload-name.js';
import { resolvePort } from '../pods/probes/resolve-port.js';
import { PROXY_UID, interceptionPlan } from '../../netfilter/interception.js';
import { PROXY_ENV, PROXY_V8_FLAGS, SIDECAR_ENTRY, SIDECAR_ENV } from '../../meshconfig/sidecar-process.js';

export const SIDECAR_NAME = 'istio-proxy';
export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
const INJECT_KEY = 'sidecar.istio.io/inject';
const NAMESPACE_LABEL = 'istio-injection';
/** where the sidecar finds the control plane's socket and meshbox itself */
export const XDS_MOUNT = '/run/meshbox';
export const INSTALL_MOUNT = '/opt/meshbox';

export interface InjectionSettings {
  /** meshbox's own folder on this machine (holds dist/), mounted read-only into the sidecar */
  installRoot: string;
  /** the node binary that runs the proxy */
  nodePath: string;
  /** the sidecar's entry script relative to installRoot (default SIDECAR_ENTRY) */
  entry?: string;
  /** the folder holding the control plane's xds.sock (mounted, not the socket: it survives daemon restarts) */
  xdsDir: string;
  clusterDomain: string;
}

export interface InjectionDecision {
  inject: boolean;
  reason: string;
}

/** Istio's policy with injection enabled by default (DESIGN.md): opt out per pod or per namespace. */
export function injectionWanted(pod: Pod, namespaceLabels: Record<string, string> | undefined): InjectionDecision {
  const meta = pod.metadata;
  if (meta.annotations?.[STATUS_ANNOTATION] !== undefined || hasSidecar(pod)) return { inject: false, reason: 'already injected' };
  if ((pod.spec as { hostNetwork?: boolean }).hostNetwork) return { inject: false, reason: 'the pod uses the host network' };
  const podSays = meta.labels?.[INJECT_KEY] ?? meta.annotations?.[INJECT_KEY];
  if (podSays !== undefined && podSays.toLowerCase() === 'false') return { inject: false, reason: `${INJECT_KEY}: "false"` };
  if (podSays !== undefined && podSays.toLowerCase() === 'true') return { inject: true, reason: `${INJECT_KEY}: "true"` };
  if (namespaceLabels?.[NAMESPACE_LABEL] === 'disabled') return { inject: false, reason: `namespace label ${NAMESPACE_LABEL}=disabled` };
  return { inject: true, reason: 'injection is on by default' };
}

export function hasSidecar(pod: Pod): boolean {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) => c.name === SIDECAR_NAME);
}

/** True for a pod whose sandbox needs the traffic capture. */
export function isInjected(pod: Pod): boolean {
  return pod.metadata.annotations?.[STATUS_ANNOTATION] !== undefined;
}

const REWRITE_PROBES_KEY = 'sidecar.istio.io/rewriteAppHTTPProbers';
const PROBES = [
  ['readinessProbe', 'readyz'],
  ['livenessProbe', 'livez'],
  ['startupProbe', 'startupz'],
] as const satisfies readonly (readonly [keyof Container, ProbeKindPath])[];

/**
 * Points the app containers' HTTP and TCP probes at the sidecar's agent (Istio's rewrite); returns
 * the containers and the original probes for the sidecar. Exec and gRPC probes, HTTPS, a `host`
 * other than the pod, and ports that do not resolve are left as they are.
 */
export function rewriteAppProbes(containers: Container[]): { containers: Container[]; probers: AppProbers } {
  const probers: AppProbers = {};
  const rewritten = containers.map((c) => {
    const out: Container = { ...c };
    for (const [field, kind] of PROBES) {
      const probe = c[field] as Probe | undefined;
      const prober = probe ? originalProber(c, probe) : undefined;
      if (!probe || !prober) continue;
      const path = appHealthPath(c.name, kind);
      probers[path] = prober;
      const { httpGet: _h, tcpSocket: _t, ...timing } = probe;
      (out as unknown as Record<string, unknown>)[field] = { ...timing, httpGet: { path, port: AGENT_PORT, scheme: 'HTTP' } };
    }
    return out;
  });
  return { containers: rewritten, probers };
}

function originalProber(c: Container, probe: Probe): AppProber | undefined {
  const timeout = probe.timeoutSeconds !== undefined ? { timeoutSeconds: probe.timeoutSeconds } : {};
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = portOf(c, g.port);
    if (port === undefined || (g.scheme !== undefined && g.scheme !== 'HTTP') || g.host) return undefined;
    return { httpGet: { ...(g.path ? { path: g.path } : {}), port, ...(g.httpHeaders?.length ? { httpHeaders: g.httpHeaders } : {}) }, ...timeout };
  }
  if (probe.tcpSocket && !probe.tcpSocket.host) {
    const port = portOf(c, probe.tcpSocket.port);
    return port === undefined ? undefined : { tcpSocket: { port }, ...timeout };
  }
  return undefined;
}

/** The kubelet's port resolution; a port it would refuse stays in the probe, so the kubelet reports it as usual. */
function portOf(c: Container, port: number | string): number | undefined {
  try {
    return resolvePort(port, c);
  } catch {
    return undefined;
  }
}

/** The pod with the sidecar added. Throws InvalidInterceptionAnnotation for bad capture annotations. */
export function injectSidecar(pod: Pod, s: InjectionSettings): Pod {
  interceptionPlan(pod.metadata.annotations); // reject bad annotations at admission, not at sandbox time
  const rewrite = pod.metadata.annotations?.[REWRITE_PROBES_KEY] !== 'false';
  const { containers, probers } = rewrite ? rewriteAppProbes(pod.spec.containers) : { containers: pod.spec.containers, probers: {} };
  const volumes: Volume[] = [
    { name: 'istio-xds', hostPath: { path: s.xdsDir, type: 'Directory' } },
    { name: 'meshbox-install', hostPath: { path: s.installRoot, type: 'Directory' } },
  ];
  const labels = pod.metadata.labels ?? {};
  const app = labels['app.kubernetes.io/name'] ?? labels.app;
  const version = labels['app.kubernetes.io/version'] ?? labels.version;
  const probe = { httpGet: { path: '/healthz/ready', port: 15021 }, timeoutSeconds: 3 };
  const sidecar: Container = {
    name: SIDECAR_NAME,
    image: 'host',
    restartPolicy: 'Always',
    command: [s.nodePath, ...PROXY_V8_FLAGS, `${INSTALL_MOUNT}/${s.entry ?? SIDECAR_ENTRY}`],
    env: [
      { name: SIDECAR_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: SIDECAR_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: SIDECAR_ENV.podIP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: SIDECAR_ENV.xdsSocket, value: `${XDS_MOUNT}/xds.sock` },
      { name: SIDECAR_ENV.clusterDomain, value: s.clusterDomain },
      ...Object.entries(PROXY_ENV).map(([name, value]) => ({ name, value })),
      { name: SIDECAR_ENV.workload, value: workloadName(pod) },
      ...(app ? [{ name: SIDECAR_ENV.app, value: app }] : []),
      ...(version ? [{ name: SIDECAR_ENV.version, value: version }] : []),
      ...(Object.keys(probers).length ? [{ name: APP_PROBERS_ENV, value: JSON.stringify(probers) }] : []),
    ],
    ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }],
    // Istio's values: up to 10 minutes to get the first config; then readiness every 15 s
    startupProbe: { ...probe, periodSeconds: 1, failureThreshold: 600 },
    readinessProbe: { ...probe, periodSeconds: 15, failureThreshold: 4 },
    securityContext: { runAsUser: PROXY_UID, runAsGroup: PROXY_UID },
    volumeMounts: [
      { name: 'istio-xds', mountPath: XDS_MOUNT },
      { name: 'meshbox-install', mountPath: INSTALL_MOUNT, readOnly: true },
    ],
  } as Container;
  const status = { initContainers: [SIDECAR_NAME], containers: null, volumes: volumes.map((v) => v.name), imagePullSecrets: null, revision: 'default' };
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: { ...pod.metadata.labels, 'security.istio.io/tlsMode': 'istio' },
      annotations: { ...pod.metadata.annotations, [STATUS_ANNOTATION]: JSON.stringify(status) },
    },
    spec: {
      ...pod.spec,
      initContainers: [sidecar, ...(pod.spec.initContainers ?? [])],
      containers,
      volumes: [...(pod.spec.volumes ?? []), ...volumes],
    },
  };
}
