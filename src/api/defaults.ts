/**
 * Kubernetes' defaults (the defaults.go files of pkg/apis), applied to a copy of a validated object so
 * everything downstream (store, controllers, runtime, `get -o yaml`) sees the values Kubernetes
 * would show. Fields the user set are never changed.
 */
import { isNamespacedKind } from './validate.js';
import type { KubeObject } from './types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets `obj[key]` when it is absent (undefined or null), as Kubernetes' defaulters do. */
function def(obj: Json, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null) obj[key] = value;
}

function each(list: unknown, fn: (item: Json) => void): void {
  if (Array.isArray(list)) for (const item of list) if (isObject(item)) fn(item);
}

/** A copy of `obj` with Kubernetes' defaults filled in. */
export function applyDefaults<T extends KubeObject>(obj: T): T {
  const out = structuredClone(obj) as T & Json;
  if (!isObject(out.metadata)) (out as Json).metadata = {};
  if (isNamespacedKind(out.kind)) def(out.metadata as unknown as Json, 'namespace', 'default');
  else delete (out.metadata as unknown as Json).namespace;
  const spec = out.spec;
  switch (out.kind) {
    case 'Pod':
      if (isObject(spec)) defaultPodSpec(spec);
      break;
    case 'Secret':
      defaultSecret(out);
      break;
    case 'Service':
      if (isObject(spec)) defaultServiceSpec(spec);
      break;
    case 'Deployment':
      if (isObject(spec)) defaultDeploymentSpec(spec);
      break;
    case 'ReplicaSet':
      if (isObject(spec)) {
        def(spec, 'replicas', 1);
        def(spec, 'minReadySeconds', 0);
        defaultTemplate(spec.template);
      }
      break;
    case 'Job':
      if (isObject(spec)) defaultJobSpec(spec);
      break;
    case 'NetworkPolicy':
      if (isObject(spec)) defaultNetworkPolicySpec(spec);
      break;
    case 'EndpointSlice':
      each(out.ports, (p) => def(p, 'protocol', 'TCP'));
      break;
    case 'Endpoints':
      each(out.subsets, (s) => each(s.ports, (p) => def(p, 'protocol', 'TCP')));
      break;
  }
  return out;
}

function defaultTemplate(template: unknown, opts: { restartPolicy?: boolean } = {}): void {
  if (!isObject(template)) return;
  if (isObject(template.spec)) defaultPodSpec(template.spec, opts);
}

/**
 * `restartPolicy: false` leaves restartPolicy alone: a Job's pods must name OnFailure or Never, and
 * the API server validates after defaulting, so defaulting to Always would turn "missing" into a
 * confusing "Always is not allowed".
 */
export function defaultPodSpec(spec: Json, opts: { restartPolicy?: boolean } = {}): void {
  if (opts.restartPolicy !== false) def(spec, 'restartPolicy', 'Always');
  def(spec, 'terminationGracePeriodSeconds', 30);
  def(spec, 'dnsPolicy', 'ClusterFirst');
  def(spec, 'enableServiceLinks', true);
  def(spec, 'schedulerName', 'default-scheduler');
  def(spec, 'securityContext', {});
  each(spec.containers, defaultContainer);
  each(spec.initContainers, defaultContainer);
  each(spec.volumes, (v) => {
    if (isObject(v.configMap)) def(v.configMap, 'defaultMode', 0o644);
    if (isObject(v.secret)) def(v.secret, 'defaultMode', 0o644);
    if (isObject(v.hostPath)) def(v.hostPath, 'type', '');
  });
}

/**
 * Kubernetes pulls `:latest` and untagged images Always and tagged ones IfNotPresent. `image: host`
 * is meshbox's own machine root filesystem, which is never pulled.
 */
export function defaultPullPolicy(image: unknown): 'Always' | 'IfNotPresent' | 'Never' {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image === 'host') return 'Never';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon < 0 ? '' : lastSegment.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Json): void {
  def(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  def(c, 'terminationMessagePath', '/dev/termination-log');
  def(c, 'terminationMessagePolicy', 'File');
  each(c.ports, (p) => def(p, 'protocol', 'TCP'));
  each(c.env, (e) => {
    if (isObject(e.valueFrom) && isObject(e.valueFrom.fieldRef)) def(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  });
  for (const name of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = c[name];
    if (isObject(probe)) defaultProbe(probe);
  }
  if (isObject(c.lifecycle)) {
    for (const hook of [c.lifecycle.postStart, c.lifecycle.preStop]) {
      if (isObject(hook) && isObject(hook.httpGet)) defaultHttpGet(hook.httpGet);
    }
  }
}

function defaultHttpGet(h: Json): void {
  def(h, 'path', '/');
  def(h, 'scheme', 'HTTP');
}

function defaultProbe(p: Json): void {
  def(p, 'initialDelaySeconds', 0);
  def(p, 'timeoutSeconds', 1);
  def(p, 'periodSeconds', 10);
  def(p, 'successThreshold', 1);
  def(p, 'failureThreshold', 3);
  if (isObject(p.httpGet)) defaultHttpGet(p.httpGet);
}

function defaultSecret(secret: Json): void {
  def(secret, 'type', 'Opaque');
  // the API server folds stringData into data (base64) on write; do the same so readers see one map
  if (isObject(secret.stringData)) {
    const data = isObject(secret.data) ? secret.data : {};
    for (const [k, v] of Object.entries(secret.stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    secret.data = data;
    delete secret.stringData;
  }
}

function defaultServiceSpec(spec: Json): void {
  def(spec, 'type', 'ClusterIP');
  def(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') def(spec, 'internalTrafficPolicy', 'Cluster');
  if (spec.type === 'NodePort') def(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.sessionAffinity === 'ClientIP') {
    def(spec, 'sessionAffinityConfig', {});
    const cfg = spec.sessionAffinityConfig as Json;
    def(cfg, 'clientIP', {});
    def(cfg.clientIP as Json, 'timeoutSeconds', 10800);
  }
  each(spec.ports, (p) => {
    def(p, 'protocol', 'TCP');
    def(p, 'targetPort', p.port);
  });
}

function defaultDeploymentSpec(spec: Json): void {
  def(spec, 'replicas', 1);
  def(spec, 'revisionHistoryLimit', 10);
  def(spec, 'progressDeadlineSeconds', 600);
  def(spec, 'minReadySeconds', 0);
  def(spec, 'strategy', {});
  const strategy = spec.strategy as Json;
  def(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    def(strategy, 'rollingUpdate', {});
    const ru = strategy.rollingUpdate as Json;
    def(ru, 'maxSurge', '25%');
    def(ru, 'maxUnavailable', '25%');
  }
  defaultTemplate(spec.template);
}

function defaultJobSpec(spec: Json): void {
  def(spec, 'parallelism', 1);
  def(spec, 'completions', 1);
  def(spec, 'backoffLimit', 6);
  def(spec, 'completionMode', 'NonIndexed');
  def(spec, 'suspend', false);
  def(spec, 'manualSelector', false);
  defaultTemplate(spec.template, { restartPolicy: false });
}

function defaultNetworkPolicySpec(spec: Json): void {
  // Kubernetes: Ingress always, Egress when egress rules are present
  if (!Array.isArray(spec.policyTypes)) {
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  for (const rules of [spec.ingress, spec.egress]) each(rules, (r) => each(r.ports, (p) => def(p, 'protocol', 'TCP')));
}
