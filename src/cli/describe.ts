/**
 * `meshbox describe`: kubectl's layout. Pods get kubectl's pod sections; every other kind gets the
 * generic layout (metadata, then each top-level field as indented "Key: value" lines). Both end
 * with the object's recent Events.
 */
import type { ContainerStatus, KubeObject, Pod } from '../api/types.js';
import { age, renderTable } from './format.js';
import { eventTime, podStatusReason } from './printers.js';

type Json = Record<string, any>;

class Lines {
  out: string[] = [];
  kv(indent: number, key: string, value: string | number | undefined, width = 0): void {
    const label = `${key}:`;
    this.out.push(`${' '.repeat(indent)}${value === undefined || value === '' ? label : label.padEnd(Math.max(width, label.length + 1))}${value ?? ''}`.trimEnd());
  }
  line(s = ''): void {
    this.out.push(s);
  }
  map(indent: number, key: string, m: Record<string, string> | undefined, width: number): void {
    const entries = Object.entries(m ?? {});
    if (entries.length === 0) return this.kv(indent, key, '<none>', width);
    entries.forEach(([k, v], i) => {
      const text = `${k}=${v}`;
      if (i === 0) this.kv(indent, key, text, width);
      else this.out.push(`${' '.repeat(indent + width)}${text}`);
    });
  }
  toString(): string {
    return this.out.join('\n') + '\n';
  }
}

const W = 14;

function header(l: Lines, o: KubeObject, width = W): void {
  l.kv(0, 'Name', o.metadata.name, width);
  if (o.metadata.namespace) l.kv(0, 'Namespace', o.metadata.namespace, width);
  l.map(0, 'Labels', o.metadata.labels, width);
  l.map(0, 'Annotations', o.metadata.annotations, width);
}

/** "Creation Timestamp" from "creationTimestamp", as kubectl's generic describer prints keys. */
function titleCase(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

function generic(l: Lines, indent: number, value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object') {
        const sub = new Lines();
        generic(sub, indent + 2, item);
        const [first, ...rest] = sub.out;
        l.line(`${' '.repeat(indent)}  ${first?.trimStart() ?? ''}`);
        for (const r of rest) l.line(r);
      } else {
        l.line(`${' '.repeat(indent)}  ${String(item)}`);
      }
    }
    return;
  }
  const entries = Object.entries((value ?? {}) as Json);
  // scalar values of one level line up, two spaces after the longest "Key:"
  const width = Math.max(0, ...entries.filter(([, v]) => v === null || typeof v !== 'object').map(([k]) => titleCase(k).length + 3));
  for (const [k, v] of entries) {
    if (v !== null && typeof v === 'object') {
      if (Object.keys(v).length === 0) {
        l.kv(indent, titleCase(k), Array.isArray(v) ? '' : '');
        continue;
      }
      l.kv(indent, titleCase(k), undefined);
      generic(l, indent + 2, v);
    } else {
      l.kv(indent, titleCase(k), String(v), width);
    }
  }
}

function stateLines(l: Lines, indent: number, label: string, state: Json | undefined, now: number): void {
  if (!state || Object.keys(state).length === 0) return;
  if (state.running) {
    l.kv(indent, label, 'Running', 16);
    l.kv(indent + 2, 'Started', state.running.startedAt, 14);
  } else if (state.waiting) {
    l.kv(indent, label, 'Waiting', 16);
    if (state.waiting.reason) l.kv(indent + 2, 'Reason', state.waiting.reason, 14);
    if (state.waiting.message) l.kv(indent + 2, 'Message', state.waiting.message, 14);
  } else if (state.terminated) {
    const t = state.terminated;
    l.kv(indent, label, 'Terminated', 16);
    if (t.reason) l.kv(indent + 2, 'Reason', t.reason, 14);
    if (t.message) l.kv(indent + 2, 'Message', t.message, 14);
    l.kv(indent + 2, 'Exit Code', t.exitCode, 14);
    if (t.signal) l.kv(indent + 2, 'Signal', t.signal, 14);
    if (t.startedAt) l.kv(indent + 2, 'Started', t.startedAt, 14);
    if (t.finishedAt) l.kv(indent + 2, 'Finished', `${t.finishedAt} (${age(t.finishedAt, now)} ago)`, 14);
  }
}

function describePod(l: Lines, pod: Pod, now: number): void {
  const st = (pod.status ?? {}) as Json;
  header(l, pod);
  l.kv(0, 'Node', pod.spec?.nodeName ?? '<none>', W);
  if (st.startTime) l.kv(0, 'Start Time', st.startTime, W);
  if (pod.metadata.deletionTimestamp) {
    l.kv(0, 'Status', `Terminating (lasts ${age(pod.metadata.deletionTimestamp, now)})`, W);
    l.kv(0, 'Termination Grace Period', `${pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30}s`, W);
  } else {
    l.kv(0, 'Status', st.phase ?? 'Pending', W);
  }
  if (st.reason) l.kv(0, 'Reason', st.reason, W);
  if (st.message) l.kv(0, 'Message', st.message, W);
  l.kv(0, 'IP', st.podIP ?? '', W);
  const ips = (st.podIPs ?? []) as { ip: string }[];
  if (ips.length > 0) {
    l.kv(0, 'IPs', undefined);
    for (const ip of ips) l.kv(2, 'IP', ip.ip, W - 2);
  } else l.kv(0, 'IPs', '<none>', W);
  containerSection(l, 0, 'Init Containers', pod.spec?.initContainers as Json[] | undefined, st.initContainerStatuses, now);
  containerSection(l, 0, 'Containers', pod.spec?.containers as Json[] | undefined, st.containerStatuses, now);
  const conds = (st.conditions ?? []) as Json[];
  if (conds.length > 0) {
    l.line('Conditions:');
    const table = renderTable(['Type', 'Status'], conds.map((c) => [String(c.type), String(c.status)]));
    for (const row of table.trimEnd().split('\n')) l.line(`  ${row}`);
  }
  const vols = (pod.spec?.volumes ?? []) as Json[];
  if (vols.length === 0) l.kv(0, 'Volumes', '<none>', W);
  else {
    l.line('Volumes:');
    for (const v of vols) {
      l.line(`  ${v.name}:`);
      const { name: _n, ...rest } = v;
      const [kind, conf] = Object.entries(rest)[0] ?? ['', {}];
      l.kv(4, 'Type', kind, 12);
      for (const [k, val] of Object.entries((conf ?? {}) as Json)) {
        l.kv(4, titleCase(k), typeof val === 'object' ? JSON.stringify(val) : String(val), 12);
      }
    }
  }
  l.kv(0, 'Reported As', podStatusReason(pod), W);
}

function containerSection(l: Lines, indent: number, title: string, containers: Json[] | undefined, statuses: ContainerStatus[] | undefined, now: number, template = false): void {
  if (!containers || containers.length === 0) return;
  l.kv(indent, title, undefined);
  for (const c of containers) {
    const s = (statuses ?? []).find((x) => x.name === c.name) as Json | undefined;
    l.line(`${' '.repeat(indent + 2)}${c.name}:`);
    if (s?.containerID) l.kv(indent + 4, 'Container ID', s.containerID, 16);
    l.kv(indent + 4, 'Image', c.image, 16);
    const ports = ((c.ports ?? []) as Json[]).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
    l.kv(indent + 4, 'Port', ports.join(', ') || '<none>', 16);
    for (const [label, list] of [['Command', c.command], ['Args', c.args]] as const) {
      if (!Array.isArray(list)) continue;
      l.kv(indent + 4, label, undefined);
      for (const x of list as string[]) l.line(`${' '.repeat(indent + 6)}${x}`);
    }
    if (!template) {
      stateLines(l, indent + 4, 'State', s?.state, now);
      stateLines(l, indent + 4, 'Last State', s?.lastState, now);
      l.kv(indent + 4, 'Ready', s ? (s.ready ? 'True' : 'False') : 'False', 16);
      l.kv(indent + 4, 'Restart Count', s?.restartCount ?? 0, 16);
    }
    const lim = c.resources?.limits as Record<string, string> | undefined;
    if (lim && Object.keys(lim).length > 0) {
      l.kv(indent + 4, 'Limits', undefined);
      for (const [k, v] of Object.entries(lim)) l.kv(indent + 6, k, String(v), 10);
    }
    for (const [label, probe] of [['Liveness', c.livenessProbe], ['Readiness', c.readinessProbe], ['Startup', c.startupProbe]] as const) {
      if (probe) l.kv(indent + 4, label, describeProbe(probe as Json), 16);
    }
    const env = (c.env ?? []) as Json[];
    if (env.length === 0) l.kv(indent + 4, 'Environment', '<none>', 16);
    else {
      l.kv(indent + 4, 'Environment', undefined);
      for (const e of env) l.kv(indent + 6, e.name, e.value ?? (e.valueFrom ? `<set from ${Object.keys(e.valueFrom)[0]}>` : ''), 0);
    }
    const mounts = (c.volumeMounts ?? []) as Json[];
    if (mounts.length === 0) l.kv(indent + 4, 'Mounts', '<none>', 16);
    else {
      l.kv(indent + 4, 'Mounts', undefined);
      for (const m of mounts) l.line(`${' '.repeat(indent + 6)}${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'}${m.subPath ? `,path="${m.subPath}"` : ''})`);
    }
  }
}

function describeProbe(p: Json): string {
  const how = p.httpGet
    ? `http-get ${p.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'}`
    : p.tcpSocket
      ? `tcp-socket :${p.tcpSocket.port}`
      : p.exec
        ? `exec [${(p.exec.command ?? []).join(' ')}]`
        : p.grpc
          ? `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''}`.trimEnd()
          : 'unknown';
  return `${how} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
}

function describeEvents(l: Lines, events: KubeObject[], now: number): void {
  if (events.length === 0) {
    l.kv(0, 'Events', '<none>', 9);
    return;
  }
  const sorted = [...events].sort((a, b) => (Date.parse(eventTime(a) ?? '') || 0) - (Date.parse(eventTime(b) ?? '') || 0));
  const rows = sorted.map((e) => {
    const j = e as Json;
    const last = eventTime(e);
    const n = Number(j.count ?? 1);
    const when = n > 1 && j.firstTimestamp ? `${age(last, now)} (x${n} over ${age(j.firstTimestamp, now)})` : age(last, now);
    return [String(j.type ?? 'Normal'), String(j.reason ?? ''), when, String(j.source?.component ?? ''), String(j.message ?? '').replace(/\s*\n\s*/g, ' ')];
  });
  l.line('Events:');
  const table = renderTable(['Type', 'Reason', 'Age', 'From', 'Message'], [['----', '------', '----', '----', '-------'], ...rows]);
  for (const row of table.trimEnd().split('\n')) l.line(`  ${row}`);
}

/** Objects some describers show beside the main one (fetched by the CLI). */
export interface Related {
  /** a Service's Endpoints */
  endpoints?: KubeObject | undefined;
  /** a Deployment's ReplicaSets */
  replicaSets?: KubeObject[];
}

const DW = 24;

function conditionsTable(l: Lines, conds: Json[]): void {
  if (conds.length === 0) return;
  l.line('Conditions:');
  const table = renderTable(['Type', 'Status', 'Reason'], [['----', '------', '------'], ...conds.map((c) => [String(c.type), String(c.status), String(c.reason ?? '')])]);
  for (const row of table.trimEnd().split('\n')) l.line(`  ${row}`);
}

function describeDeployment(l: Lines, d: KubeObject, now: number, related: Related): void {
  const spec = (d.spec ?? {}) as Json;
  const st = (d.status ?? {}) as Json;
  header(l, d, DW);
  l.kv(0, 'CreationTimestamp', `${d.metadata.creationTimestamp ?? ''} (${age(d.metadata.creationTimestamp, now)} ago)`, DW);
  l.kv(0, 'Selector', selectorText(spec.selector), DW);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  l.kv(0, 'Replicas', `${spec.replicas ?? 1} desired | ${n(st.updatedReplicas)} updated | ${n(st.replicas)} total | ${n(st.availableReplicas)} available | ${n(st.unavailableReplicas)} unavailable`, DW);
  const strategy = (spec.strategy ?? {}) as Json;
  l.kv(0, 'StrategyType', strategy.type ?? 'RollingUpdate', DW);
  l.kv(0, 'MinReadySeconds', spec.minReadySeconds ?? 0, DW);
  if ((strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const ru = (strategy.rollingUpdate ?? {}) as Json;
    l.kv(0, 'RollingUpdateStrategy', `${ru.maxUnavailable ?? '25%'} max unavailable, ${ru.maxSurge ?? '25%'} max surge`, DW);
  }
  if (spec.paused) l.kv(0, 'Paused', 'true', DW);
  const template = (spec.template ?? {}) as Json;
  l.line('Pod Template:');
  l.map(2, 'Labels', template.metadata?.labels, 9);
  containerSection(l, 2, 'Containers', template.spec?.containers, undefined, now, true);
  conditionsTable(l, (st.conditions ?? []) as Json[]);
  const revision = (o: KubeObject): number => Number(o.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
  const owned = (related.replicaSets ?? []).filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
  const sorted = [...owned].sort((a, b) => revision(b) - revision(a));
  const rsText = (rs: KubeObject): string => {
    const s = (rs.status ?? {}) as Json;
    return `${rs.metadata.name} (${n(s.replicas)}/${(rs.spec as Json | undefined)?.replicas ?? 0} replicas created)`;
  };
  l.kv(0, 'OldReplicaSets', sorted.slice(1).filter((rs) => n((rs.status as Json | undefined)?.replicas) > 0).map(rsText).join(', ') || '<none>', 17);
  l.kv(0, 'NewReplicaSet', sorted[0] ? rsText(sorted[0]) : '<none>', 17);
}

function selectorText(sel: unknown): string {
  const s = (sel ?? {}) as Json;
  const parts = Object.entries((s.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of (s.matchExpressions ?? []) as Json[]) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.join(',') || '<none>';
}

function describeService(l: Lines, svc: KubeObject, related: Related): void {
  const spec = (svc.spec ?? {}) as Json;
  const SW = 19;
  header(l, svc, SW);
  l.map(0, 'Selector', spec.selector, SW);
  l.kv(0, 'Type', spec.type ?? 'ClusterIP', SW);
  l.kv(0, 'IP', spec.clusterIP ?? '<none>', SW);
  const subsets = ((related.endpoints as Json | undefined)?.subsets ?? []) as Json[];
  for (const p of (spec.ports ?? []) as Json[]) {
    l.kv(0, 'Port', `${p.name ?? '<unset>'}  ${p.port}/${p.protocol ?? 'TCP'}`, SW);
    l.kv(0, 'TargetPort', `${p.targetPort ?? p.port}/${p.protocol ?? 'TCP'}`, SW);
    if (p.nodePort) l.kv(0, 'NodePort', `${p.name ?? '<unset>'}  ${p.nodePort}/${p.protocol ?? 'TCP'}`, SW);
    const eps: string[] = [];
    for (const sub of subsets) {
      const sp = ((sub.ports ?? []) as Json[]).find((x) => (x.name ?? '') === (p.name ?? '')) ?? (sub.ports ?? [])[0];
      for (const a of (sub.addresses ?? []) as Json[]) eps.push(sp ? `${a.ip}:${sp.port}` : String(a.ip));
    }
    l.kv(0, 'Endpoints', eps.join(',') || '<none>', SW);
  }
  l.kv(0, 'Session Affinity', spec.sessionAffinity ?? 'None', SW);
}

export function describeObject(obj: KubeObject, events: KubeObject[], now: number, related: Related = {}): string {
  const l = new Lines();
  if (obj.kind === 'Pod') {
    describePod(l, obj as Pod, now);
  } else if (obj.kind === 'Deployment') {
    describeDeployment(l, obj, now, related);
  } else if (obj.kind === 'Service') {
    describeService(l, obj, related);
  } else {
    header(l, obj);
    l.kv(0, 'API Version', obj.apiVersion, W);
    l.kv(0, 'Kind', obj.kind, W);
    l.kv(0, 'Created', `${obj.metadata.creationTimestamp ?? ''} (${age(obj.metadata.creationTimestamp, now)} ago)`, W);
    if (obj.metadata.deletionTimestamp) l.kv(0, 'Deleting Since', obj.metadata.deletionTimestamp, W);
    const rest: Json = {};
    for (const [k, v] of Object.entries(obj)) if (!['apiVersion', 'kind', 'metadata'].includes(k)) rest[k] = v;
    generic(l, 0, rest);
  }
  describeEvents(l, events, now);
  return l.toString();
}

