/**
 * Sidecar injection, as Istio's injection webhook does it at pod admission: the proxy becomes a
 * native sidecar (init container `istio-proxy` with `restartPolicy: Always`), so it starts and is
 * ready before the app containers, and stops after them (a Job's pod completes). The pod is marked
 * with `sidecar.istio.io/status`; the runtime installs the traffic capture for marked pods when it
 * makes their sandbox (the Istio CNI way: no privileged init container).
 *
 *   if (injectionWanted(pod, nsLabels).inject) pod = injectSidecar(pod, settings)
 */
import type { Container, Pod, Volume } from '../../api/types.js';
import { workloadName } from '../../api/workload-name.js';
import { PROXY_UID, interceptionPlan } from '../../netfilter/interception.js';
import { PROXY_V8_FLAGS, SIDECAR_ENTRY, SIDECAR_ENV } from '../../meshconfig/sidecar-process.js';

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

/** The pod with the sidecar added. Throws InvalidInterceptionAnnotation for bad capture annotations. */
export function injectSidecar(pod: Pod, s: InjectionSettings): Pod {
  interceptionPlan(pod.metadata.annotations); // reject bad annotations at admission, not at sandbox time
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
    command: [s.nodePath, ...PROXY_V8_FLAGS, `${INSTALL_MOUNT}/${SIDECAR_ENTRY}`],
    env: [
      { name: SIDECAR_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: SIDECAR_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: SIDECAR_ENV.podIP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: SIDECAR_ENV.xdsSocket, value: `${XDS_MOUNT}/xds.sock` },
      { name: SIDECAR_ENV.clusterDomain, value: s.clusterDomain },
      { name: SIDECAR_ENV.workload, value: workloadName(pod) },
      ...(app ? [{ name: SIDECAR_ENV.app, value: app }] : []),
      ...(version ? [{ name: SIDECAR_ENV.version, value: version }] : []),
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
      volumes: [...(pod.spec.volumes ?? []), ...volumes],
    },
  };
}
