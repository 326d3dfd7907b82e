/**
 * `meshbox get` columns per kind, as kubectl prints them. Each printer maps an object to cells;
 * the table renderer aligns them.
 */
import type { ContainerStatus, KubeObject, Pod, PodStatus } from '../api/types.js';
import type { ResourceType } from '../api/resources.js';
import { age, humanDuration, labelsToString } from './format.js';
import { sidecarNames } from '../controllers/pods/sidecars.js';
import { labelSelectorToString, type LabelSelector } from '../api/label-selector.js';

export interface Printer {
  headers: string[];
  row(obj: KubeObject, now: number): string[];
}

type Json = Record<string, any>;

const meta = (o: KubeObject): Json => o.metadata as Json;
const spec = (o: KubeObject): Json => (o.spec ?? {}) as Json;
const status = (o: KubeObject): Json => (o.status ?? {}) as Json;
const created = (o: KubeObject, now: number): string => age(o.metadata.creationTimestamp, now);
const count = (v: unknown): string => String(typeof v === 'number' ? v : 0);

function selectorString(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '<none>';
  const s = sel as LabelSelector & Record<string, string>;
  if (s.matchLabels !== undefined || s.matchExpressions !== undefined) {
    const str = labelSelectorToString(s);
    return str || '<none>';
  }
  return labelsToString(s as Record<string, string>);
}

function containersAndImages(podSpec: Json | undefined): [string, string] {
  const cs = (podSpec?.containers ?? []) as { name: string; image: string }[];
  return [cs.map((c) => c.name).join(',') || '<none>', cs.map((c) => c.image).join(',') || '<none>'];
}

// === pods ===

/** The STATUS column, computed the way kubectl's printPod does. */
export function podStatusReason(pod: Pod): string {
  const st: Partial<PodStatus> = pod.status ?? {};
  let reason: string = st.reason || st.phase || 'Pending';
  let initializing = false;
  const inits = st.initContainerStatuses ?? [];
  const initCount = pod.spec?.initContainers?.length ?? inits.length;
  const sidecars = sidecarNames(pod);
  for (let i = 0; i < inits.length; i++) {
    const s = inits[i]!.state as Json;
    if (s.terminated && s.terminated.exitCode === 0) continue;
    if (sidecars.has(inits[i]!.name) && inits[i]!.started) continue; // a started sidecar does not hold the pod in Init
    if (s.terminated) {
      reason = s.terminated.reason
        ? `Init:${s.terminated.reason}`
        : s.terminated.signal
          ? `Init:Signal:${s.terminated.signal}`
          : `Init:ExitCode:${s.terminated.exitCode}`;
    } else if (s.waiting?.reason && s.waiting.reason !== 'PodInitializing') {
      reason = `Init:${s.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const statuses = st.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i]!;
      const s = c.state as Json;
      if (s.waiting?.reason) reason = s.waiting.reason;
      else if (s.terminated?.reason) reason = s.terminated.reason;
      else if (s.terminated) reason = s.terminated.signal ? `Signal:${s.terminated.signal}` : `ExitCode:${s.terminated.exitCode}`;
      else if (c.ready && s.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podRestarts(pod: Pod, now: number): string {
  const statuses: ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  let restarts = 0;
  let last = 0;
  for (const c of statuses) {
    restarts += c.restartCount ?? 0;
    const finished = (c.lastState as Json | undefined)?.terminated?.finishedAt;
    if (finished) last = Math.max(last, Date.parse(finished) || 0);
  }
  return restarts > 0 && last > 0 ? `${restarts} (${humanDuration(now - last)} ago)` : String(restarts);
}

const podPrinter = (wide: boolean): Printer => ({
  headers: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', ...(wide ? ['IP', 'NODE'] : [])],
  row(o, now) {
    const pod = o as Pod;
    // kubectl counts sidecars (restartable init containers) with the app containers
    const sidecars = sidecarNames(pod);
    const total = (pod.spec?.containers?.length ?? 0) + sidecars.size;
    const statuses = [...(pod.status?.initContainerStatuses ?? []).filter((c) => sidecars.has(c.name)), ...(pod.status?.containerStatuses ?? [])];
    const ready = statuses.filter((c) => c.ready && 'running' in (c.state ?? {})).length;
    const cells = [o.metadata.name, `${ready}/${total}`, podStatusReason(pod), podRestarts(pod, now), created(o, now)];
    if (wide) cells.push(pod.status?.podIP || '<none>', pod.spec?.nodeName || '<none>');
    return cells;
  },
});

// === workloads ===

const deploymentPrinter = (wide: boolean): Printer => ({
  headers: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
  row(o, now) {
    const s = status(o);
    const cells = [
      o.metadata.name,
      `${count(s.readyReplicas)}/${spec(o).replicas ?? 1}`,
      count(s.updatedReplicas),
      count(s.availableReplicas),
      created(o, now),
    ];
    if (wide) cells.push(...containersAndImages(spec(o).template?.spec), selectorString(spec(o).selector));
    return cells;
  },
});

const replicaSetPrinter = (wide: boolean): Printer => ({
  headers: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
  row(o, now) {
    const s = status(o);
    const cells = [o.metadata.name, String(spec(o).replicas ?? 1), count(s.replicas), count(s.readyReplicas), created(o, now)];
    if (wide) cells.push(...containersAndImages(spec(o).template?.spec), selectorString(spec(o).selector));
    return cells;
  },
});

const jobPrinter = (wide: boolean): Printer => ({
  headers: ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE', ...(wide ? ['CONTAINERS', 'IMAGES', 'SELECTOR'] : [])],
  row(o, now) {
    const s = status(o);
    const conds = (s.conditions ?? []) as { type: string; status: string }[];
    const is = (t: string): boolean => conds.some((c) => c.type === t && c.status === 'True');
    const state = is('Complete') ? 'Complete' : is('Failed') ? 'Failed' : s.active ? 'Running' : 'Pending';
    const start = s.startTime ? Date.parse(s.startTime) : undefined;
    const end = s.completionTime ? Date.parse(s.completionTime) : now;
    const cells = [
      o.metadata.name,
      state,
      `${count(s.succeeded)}/${spec(o).completions ?? 1}`,
      start === undefined ? '' : humanDuration(end - start),
      created(o, now),
    ];
    if (wide) cells.push(...containersAndImages(spec(o).template?.spec), selectorString(spec(o).selector));
    return cells;
  },
});

// === services and networking ===

function servicePorts(o: KubeObject): string {
  const ports = (spec(o).ports ?? []) as { port: number; nodePort?: number; protocol?: string }[];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

const servicePrinter = (wide: boolean): Printer => ({
  headers: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', ...(wide ? ['SELECTOR'] : [])],
  row(o, now) {
    const s = spec(o);
    const type = s.type ?? 'ClusterIP';
    const external =
      s.externalIPs?.length > 0 ? s.externalIPs.join(',') : type === 'LoadBalancer' ? '<pending>' : s.externalName ?? '<none>';
    const cells = [o.metadata.name, type, s.clusterIP || '<none>', external, servicePorts(o), created(o, now)];
    if (wide) cells.push(labelsToString(s.selector));
    return cells;
  },
});

function endpointsList(o: KubeObject): string {
  const out: string[] = [];
  for (const subset of ((o as Json).subsets ?? []) as Json[]) {
    const ports = (subset.ports ?? []) as { port: number }[];
    for (const a of (subset.addresses ?? []) as { ip: string }[]) {
      if (ports.length === 0) out.push(a.ip);
      for (const p of ports) out.push(`${a.ip}:${p.port}`);
    }
  }
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

const endpointsPrinter = (): Printer => ({
  headers: ['NAME', 'ENDPOINTS', 'AGE'],
  row: (o, now) => [o.metadata.name, endpointsList(o), created(o, now)],
});

const endpointSlicePrinter = (): Printer => ({
  headers: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
  row(o, now) {
    const j = o as Json;
    const ports = ((j.ports ?? []) as { port: number }[]).map((p) => String(p.port)).join(',') || '<unset>';
    const addrs = ((j.endpoints ?? []) as { addresses: string[] }[]).flatMap((e) => e.addresses ?? []);
    const eps = addrs.length === 0 ? '<unset>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
    return [o.metadata.name, String(j.addressType ?? 'IPv4'), ports, eps, created(o, now)];
  },
});

const networkPolicyPrinter = (): Printer => ({
  headers: ['NAME', 'POD-SELECTOR', 'AGE'],
  row: (o, now) => {
    const sel = selectorString(spec(o).podSelector);
    return [o.metadata.name, sel === '<none>' ? '<none>' : sel, created(o, now)];
  },
});

// === config ===

const configMapPrinter = (): Printer => ({
  headers: ['NAME', 'DATA', 'AGE'],
  row: (o, now) => {
    const j = o as Json;
    const n = Object.keys(j.data ?? {}).length + Object.keys(j.binaryData ?? {}).length;
    return [o.metadata.name, String(n), created(o, now)];
  },
});

const secretPrinter = (): Printer => ({
  headers: ['NAME', 'TYPE', 'DATA', 'AGE'],
  row: (o, now) => {
    const j = o as Json;
    const n = new Set([...Object.keys(j.data ?? {}), ...Object.keys(j.stringData ?? {})]).size;
    return [o.metadata.name, String(j.type ?? 'Opaque'), String(n), created(o, now)];
  },
});

const namespacePrinter = (): Printer => ({
  headers: ['NAME', 'STATUS', 'AGE'],
  row: (o, now) => [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : String(status(o).phase ?? 'Active'), created(o, now)],
});

export function eventTime(o: KubeObject): string | undefined {
  const j = o as Json;
  return j.lastTimestamp ?? j.eventTime ?? j.firstTimestamp ?? o.metadata.creationTimestamp;
}

const eventPrinter = (): Printer => ({
  headers: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
  row: (o, now) => {
    const j = o as Json;
    const inv = (j.involvedObject ?? {}) as { kind?: string; name?: string };
    return [
      age(eventTime(o), now),
      String(j.type ?? 'Normal'),
      String(j.reason ?? ''),
      `${(inv.kind ?? '').toLowerCase()}/${inv.name ?? ''}`,
      String(j.message ?? '').replace(/\s*\n\s*/g, ' '),
    ];
  },
});

// === Istio (the columns of Istio's CRD printer columns) ===

const json = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));

const virtualServicePrinter = (): Printer => ({
  headers: ['NAME', 'GATEWAYS', 'HOSTS', 'AGE'],
  row: (o, now) => [o.metadata.name, json(spec(o).gateways), json(spec(o).hosts), created(o, now)],
});

const destinationRulePrinter = (): Printer => ({
  headers: ['NAME', 'HOST', 'AGE'],
  row: (o, now) => [o.metadata.name, String(spec(o).host ?? ''), created(o, now)],
});

const serviceEntryPrinter = (): Printer => ({
  headers: ['NAME', 'HOSTS', 'LOCATION', 'RESOLUTION', 'AGE'],
  row: (o, now) => [o.metadata.name, json(spec(o).hosts), String(spec(o).location ?? ''), String(spec(o).resolution ?? ''), created(o, now)],
});

const defaultPrinter = (): Printer => ({
  headers: ['NAME', 'AGE'],
  row: (o, now) => [o.metadata.name, created(o, now)],
});

const PRINTERS: Record<string, (wide: boolean) => Printer> = {
  Pod: podPrinter,
  Deployment: deploymentPrinter,
  ReplicaSet: replicaSetPrinter,
  Job: jobPrinter,
  Service: servicePrinter,
  Endpoints: endpointsPrinter,
  EndpointSlice: endpointSlicePrinter,
  NetworkPolicy: networkPolicyPrinter,
  ConfigMap: configMapPrinter,
  Secret: secretPrinter,
  Namespace: namespacePrinter,
  Event: eventPrinter,
  VirtualService: virtualServicePrinter,
  DestinationRule: destinationRulePrinter,
  ServiceEntry: serviceEntryPrinter,
};

/** The printer for a kind; `allNamespaces` adds kubectl's leading NAMESPACE column. */
export function printerFor(r: ResourceType, opts: { wide?: boolean; allNamespaces?: boolean } = {}): Printer {
  const base = (PRINTERS[r.kind] ?? defaultPrinter)(opts.wide ?? false);
  if (!opts.allNamespaces || !r.namespaced) return base;
  return {
    headers: ['NAMESPACE', ...base.headers],
    row: (o, now) => [o.metadata.namespace ?? '', ...base.row(o, now)],
  };
}
