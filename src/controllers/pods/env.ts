/**
 * A container's environment as the kubelet builds it: envFrom first (in order), then env (later
 * entries win), with $(VAR) references expanded against what came before, and valueFrom resolved
 * from ConfigMaps, Secrets and the pod's own fields.
 */
import type { ConfigMap, Container, Pod, Secret } from '../../api/types.js';
import { defineError } from '../../core/errors.js';

export const EnvSourceMissing = defineError(
  'MBX_POD_ENV_SOURCE_MISSING',
  (container: string, what: string) => `container ${container}: ${what}`,
);

export interface EnvLookups {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

/** Fields a fieldRef may name, as the kubelet supports them. */
function podField(pod: Pod, podIP: string, path: string): string | undefined {
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return pod.metadata.annotations?.[annotation[1]!] ?? '';
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata.labels?.[label[1]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? 'meshbox';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.hostIP':
      return path === 'status.podIP' ? podIP : pod.status?.hostIP ?? '';
    case 'status.podIPs':
      return podIP;
    default:
      return undefined;
  }
}

function decodeSecret(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

/** Expands $(VAR) from `env`; $$(VAR) escapes to a literal $(VAR); unknown references stay as written. */
export function expandReferences(value: string, env: ReadonlyMap<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return env.get(name!) ?? match;
  });
}

export function resolveEnv(pod: Pod, container: Container, podIP: string, lookups: EnvLookups, base: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const env = new Map<string, string>(base);
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef) {
      const cm = lookups.configMap(ns, source.configMapRef.name);
      if (!cm) {
        if (source.configMapRef.optional) continue;
        throw EnvSourceMissing(container.name, `configmap "${source.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, v);
    }
    if (source.secretRef) {
      const secret = lookups.secret(ns, source.secretRef.name);
      if (!secret) {
        if (source.secretRef.optional) continue;
        throw EnvSourceMissing(container.name, `secret "${source.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secret.data ?? {})) env.set(prefix + k, decodeSecret(v));
    }
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined || !v.valueFrom) {
      env.set(v.name, expandReferences(v.value ?? '', env));
      continue;
    }
    const from = v.valueFrom;
    if (from.fieldRef) {
      const value = podField(pod, podIP, from.fieldRef.fieldPath);
      if (value === undefined) throw EnvSourceMissing(container.name, `env ${v.name}: unsupported fieldRef ${from.fieldRef.fieldPath}`);
      env.set(v.name, value);
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const value = lookups.configMap(ns, ref.name)?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw EnvSourceMissing(container.name, `env ${v.name}: key "${ref.key}" of configmap "${ref.name}" not found`);
      }
      env.set(v.name, value);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const value = lookups.secret(ns, ref.name)?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw EnvSourceMissing(container.name, `env ${v.name}: key "${ref.key}" of secret "${ref.name}" not found`);
      }
      env.set(v.name, decodeSecret(value));
    } else if (from.resourceFieldRef) {
      const limit = container.resources?.limits?.[from.resourceFieldRef.resource.replace(/^limits\./, '')];
      env.set(v.name, limit === undefined ? '0' : String(limit));
    }
  }
  return env;
}
