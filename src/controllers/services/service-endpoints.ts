/**
 * What a Service's endpoints are, computed from the Service and the pods (pure; both the Endpoints
 * and the EndpointSlice reconcilers build on it). Kubernetes' rules (pkg/controller/endpoint and
 * endpointslice, podToEndpoint, FindPort):
 *
 *   - a pod takes part when it has a podIP and has not finished (phase Succeeded/Failed);
 *   - serving = the pod's Ready condition is True; terminating = it has a deletionTimestamp;
 *   - ready = publishNotReadyAddresses || (serving && !terminating);
 *   - Endpoints (v1) leave terminating pods out unless publishNotReadyAddresses; slices keep them;
 *   - a named targetPort resolves per pod against containers[].ports[].name and protocol; a pod
 *     without such a port is not an endpoint of that port;
 *   - hostname is set when the pod names the Service as its subdomain and has a hostname.
 */
import type { KubeObject, ObjectMeta, OwnerReference, Pod } from '../../api/types.js';
import { compareIp } from '../../netfilter/ipv4.js';
import type { EndpointPort, ObjectReference, Protocol, Service, ServicePort } from './service-types.js';

export interface PodEndpoint {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname?: string;
  nodeName?: string;
  targetRef: ObjectReference;
  /** the Service's ports this pod serves, with the pod's resolved port numbers */
  ports: EndpointPort[];
}

/** A Service whose endpoints meshbox manages: it has a selector and is not ExternalName. */
export function hasManagedEndpoints(svc: Service): boolean {
  return !!svc.spec.selector && Object.keys(svc.spec.selector).length > 0 && svc.spec.type !== 'ExternalName';
}

export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The container port a Service port reaches on this pod, or undefined when the pod has no such named port. */
export function resolveTargetPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

export function endpointPortFor(port: ServicePort, number: number): EndpointPort {
  const out: EndpointPort = { name: port.name ?? '', port: number, protocol: (port.protocol ?? 'TCP') as Protocol };
  if (port.appProtocol) out.appProtocol = port.appProtocol;
  return out;
}

/** The endpoints of `svc` among `pods` (all in the Service's namespace), sorted by IP then pod name. */
export function podEndpoints(svc: Service, pods: readonly Pod[]): PodEndpoint[] {
  const out: PodEndpoint[] = [];
  const ns = svc.metadata.namespace ?? 'default';
  for (const pod of pods) {
    if ((pod.metadata.namespace ?? 'default') !== ns) continue;
    if (!selectorMatches(svc.spec.selector, pod.metadata.labels)) continue;
    const ip = pod.status?.podIP;
    if (!ip) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const serving = isPodReady(pod);
    const terminating = !!pod.metadata.deletionTimestamp;
    const ports: EndpointPort[] = [];
    for (const p of svc.spec.ports ?? []) {
      const n = resolveTargetPort(pod, p);
      if (n !== undefined) ports.push(endpointPortFor(p, n));
    }
    // A pod that serves none of the Service's ports is no endpoint (a port-less headless Service is the exception).
    if (ports.length === 0 && (svc.spec.ports?.length ?? 0) > 0) continue;
    const ep: PodEndpoint = {
      ip,
      ready: svc.spec.publishNotReadyAddresses === true || (serving && !terminating),
      serving,
      terminating,
      targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
      ports,
    };
    if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name) ep.hostname = pod.spec.hostname;
    if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
    out.push(ep);
  }
  out.sort((a, b) => compareIp(a.ip, b.ip) || a.targetRef.name.localeCompare(b.targetRef.name));
  return out;
}

export function serviceOwnerRef(svc: KubeObject): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Labels Kubernetes puts on a Service's Endpoints and slices: the Service's own, plus headless. */
export function endpointLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
  return labels;
}

/** Metadata of an object meshbox manages for a Service (its Endpoints, its slices). */
export function managedObjectMeta(svc: Service, name: string, labels: Record<string, string>): ObjectMeta {
  return {
    name,
    namespace: svc.metadata.namespace ?? 'default',
    labels,
    ownerReferences: [serviceOwnerRef(svc)],
  };
}

/** Same labels and owner references: the metadata a managed object's rewrite would change. */
export function sameManagedMeta(a: KubeObject, b: KubeObject): boolean {
  return (
    canonical(a.metadata.labels ?? {}) === canonical(b.metadata.labels ?? {}) &&
    canonical(a.metadata.ownerReferences ?? []) === canonical(b.metadata.ownerReferences ?? [])
  );
}

/** The pod an Endpoints address and a slice endpoint both name: hostname and node when known, and the pod. */
export function endpointIdentity(ep: PodEndpoint): { hostname?: string; nodeName?: string; targetRef: ObjectReference } {
  return {
    ...(ep.hostname ? { hostname: ep.hostname } : {}),
    ...(ep.nodeName ? { nodeName: ep.nodeName } : {}),
    targetRef: ep.targetRef,
  };
}

/** A Service that exists, is not being deleted, and has endpoints meshbox manages. */
export function wantsManagedEndpoints(svc: Service | undefined): svc is Service {
  return !!svc && !svc.metadata.deletionTimestamp && hasManagedEndpoints(svc);
}

/** Stable JSON (sorted keys) for "has anything changed" checks. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
