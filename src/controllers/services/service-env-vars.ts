/**
 * The environment variables the kubelet gives every container for the Services that exist when the
 * pod starts (pkg/kubelet/envvars FromServices and kubelet getServiceEnvVarMap):
 *
 *   <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT (first port), <SVC>_SERVICE_PORT_<PORTNAME> (named ports),
 *   and Docker-link style <SVC>_PORT=tcp://ip:port (first port), <SVC>_PORT_<port>_<PROTO>,
 *   <SVC>_PORT_<port>_<PROTO>_PROTO, ..._PORT, ..._ADDR for every port.
 *
 * Only Services with a ClusterIP (not headless, not ExternalName); those of the pod's namespace when
 * enableServiceLinks is true (the default), and always `kubernetes` of the default namespace. Names
 * are upper-cased with '-' turned into '_'. Container `env` entries win over these (the caller passes
 * this map as the base of the container's environment).
 */
import type { Service } from './service-types.js';

const MASTER_NAMESPACE = 'default';
const MASTER_SERVICES = new Set(['kubernetes']);

export function serviceEnvVars(services: readonly Service[], namespace: string, enableServiceLinks = true): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    if (!hasClusterIp(svc)) continue;
    const name = svc.metadata.name;
    const ns = svc.metadata.namespace ?? 'default';
    if (ns === MASTER_NAMESPACE && MASTER_SERVICES.has(name)) {
      // The pod's own namespace wins for a Service of the same name (only when links are on).
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (ns === namespace && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  const env = new Map<string, string>();
  const names = [...chosen.keys()].sort();
  for (const key of names) {
    const svc = chosen.get(key)!;
    const ports = svc.spec.ports ?? [];
    const first = ports[0];
    if (!first) continue;
    const prefix = envName(svc.metadata.name);
    const ip = svc.spec.clusterIP!;
    env.set(`${prefix}_SERVICE_HOST`, ip);
    env.set(`${prefix}_SERVICE_PORT`, String(first.port));
    for (const p of ports) if (p.name) env.set(`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
    ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${ip}:${p.port}`;
      if (i === 0) env.set(`${prefix}_PORT`, url);
      const portPrefix = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      env.set(portPrefix, url);
      env.set(`${portPrefix}_PROTO`, proto);
      env.set(`${portPrefix}_PORT`, String(p.port));
      env.set(`${portPrefix}_ADDR`, ip);
    });
  }
  return env;
}

function hasClusterIp(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None' && svc.spec.type !== 'ExternalName';
}

function envName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}
