/**
 * Checks of what Istio objects name: a DestinationRule's host, a VirtualService's Gateways, and
 * hosts claimed twice on one Gateway (the mesh scope of that rule is the translator's).
 */
import type { MeshIndex } from '../translate/mesh-index.js';
import type { Destination, DestinationRule, VirtualService } from '../translate/mesh-types.js';
import { objectName } from '../translate/build-routes.js';
import type { TranslationWarning } from '../../meshconfig/xds/status.js';

export function destinationRuleHost(index: MeshIndex, dr: DestinationRule): TranslationWarning[] {
  const host = dr.spec.host;
  if (!host || host.includes('*')) return [];
  const fqdn = index.resolveHost(host, dr.metadata.namespace ?? 'default');
  if (index.service(fqdn)) return [];
  return [
    {
      code: 'MBX_ANALYZE_DESTINATIONRULE_UNKNOWN_HOST',
      object: objectName(dr),
      field: 'spec.host',
      message: `host ${fqdn} is not a Service or ServiceEntry, so this DestinationRule applies to nothing; fix spec.host (short names resolve in the rule's namespace) or create the Service`,
    },
  ];
}

/** "ns/name" of a gateway reference as Istio reads it (no slash: the VirtualService's namespace). */
function gatewayKey(ref: string, vsNs: string): string {
  return ref.includes('/') ? ref : `${vsNs}/${ref}`;
}

export function missingGateways(index: MeshIndex, vs: VirtualService): TranslationWarning[] {
  const vsNs = vs.metadata.namespace ?? 'default';
  const known = new Set(index.gateways.map((g) => `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`));
  const out: TranslationWarning[] = [];
  const check = (ref: string, field: string): void => {
    if (ref === 'mesh') return;
    const key = gatewayKey(ref, vsNs);
    if (known.has(key)) return;
    out.push({
      code: 'MBX_ANALYZE_GATEWAY_NOT_FOUND',
      object: objectName(vs),
      field,
      message: `Gateway ${key} does not exist, so no gateway serves these routes; create it or fix the name (write ns/name for a Gateway in another namespace)`,
    });
  };
  (vs.spec.gateways ?? []).forEach((g, i) => check(g, `spec.gateways[${i}]`));
  (vs.spec.http ?? []).forEach((r, i) => r.match?.forEach((m, j) => m.gateways?.forEach((g, k) => check(g, `spec.http[${i}].match[${j}].gateways[${k}]`))));
  return out;
}

/** Per Gateway, the oldest VirtualService bound to it keeps a host; later ones claiming it are reported. */
export function gatewayHostConflicts(index: MeshIndex): TranslationWarning[] {
  const out: TranslationWarning[] = [];
  for (const gw of index.gateways) {
    const gwNs = gw.metadata.namespace ?? 'default';
    const owner = new Map<string, VirtualService>();
    for (const vs of index.gatewayVirtualServices(gwNs, gw.metadata.name)) {
      (vs.spec.hosts ?? []).forEach((host, i) => {
        const first = owner.get(host);
        if (!first) return void owner.set(host, vs);
        if (first === vs) return;
        out.push({
          code: 'MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES',
          object: objectName(vs),
          field: `spec.hosts[${i}]`,
          message: `host ${host} on Gateway ${gwNs}/${gw.metadata.name} is also claimed by ${objectName(first)}, which wins (oldest); merge the VirtualServices`,
        });
      });
    }
  }
  return out;
}

/**
 * A destination port the service does not have, where the translator says nothing: it sends
 * traffic for a wrong port of a one-port service to that one port (unknown ports of services with
 * several ports, and unknown hosts, are the translator's warnings).
 */
export function singlePortMismatches(index: MeshIndex, vs: VirtualService): TranslationWarning[] {
  const vsNs = vs.metadata.namespace ?? 'default';
  const out: TranslationWarning[] = [];
  const check = (d: Destination, field: string): void => {
    const wanted = d.port?.number;
    const svc = index.service(index.resolveHost(d.host, vsNs));
    if (wanted === undefined || !svc || svc.ports.length !== 1 || svc.ports[0]!.port === wanted) return;
    out.push({
      code: 'MBX_ANALYZE_UNKNOWN_PORT',
      object: objectName(vs),
      field,
      message: `destination ${svc.fqdn} has no port ${wanted} (its only port is ${svc.ports[0]!.port}, which gets this traffic); fix the port number`,
    });
  };
  (vs.spec.http ?? []).forEach((r, i) => {
    r.route?.forEach((w, j) => check(w.destination, `spec.http[${i}].route[${j}].destination`));
    if (r.mirror) check(r.mirror, `spec.http[${i}].mirror`);
  });
  return out;
}
