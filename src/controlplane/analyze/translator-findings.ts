/**
 * The translator's own checks, run the way a proxy's translation runs them, so that `analyze`
 * and proxy-config report the same problems with the same codes: every route destination of
 * every VirtualService (unknown host, port, subset), hosts claimed by several mesh
 * VirtualServices, and Gateway servers the gateway cannot serve.
 */
import type { MeshIndex } from '../translate/mesh-index.js';
import type { HTTPRoute, VirtualService } from '../translate/mesh-types.js';
import { RouteTranslator } from '../translate/build-routes.js';
import type { SnapshotBuilder } from '../translate/snapshot-builder.js';
import type { TranslationWarning } from '../../meshconfig/xds/status.js';

/**
 * The VirtualService with every match made to apply everywhere: a route limited to some source
 * labels, gateways or ports is still config whose destinations must exist.
 */
function everyRouteApplies(vs: VirtualService): VirtualService {
  const http = vs.spec.http?.map((r): HTTPRoute => {
    if (!r.match) return r;
    return {
      ...r,
      match: r.match.map((m) => {
        const copy = { ...m };
        delete copy.sourceLabels;
        delete copy.gateways;
        delete copy.port;
        return copy;
      }),
    };
  });
  return { ...vs, spec: { ...vs.spec, ...(http ? { http } : {}) } };
}

export function destinationWarnings(index: MeshIndex, vs: VirtualService): TranslationWarning[] {
  const ns = vs.metadata.namespace ?? 'default';
  const rt = new RouteTranslator(index, { clientNamespace: ns });
  const all = everyRouteApplies(vs);
  const gateways = vs.spec.gateways ?? [];
  if (gateways.length === 0 || gateways.includes('mesh')) {
    // A sidecar translates a mesh VirtualService once per port of its host; a destination without a port takes that port.
    const ports = new Set<number>();
    for (const h of vs.spec.hosts ?? []) for (const p of index.service(index.resolveHost(h, ns))?.ports ?? []) ports.add(p.port);
    if (ports.size === 0) rt.httpRoutes(all, 0, (d) => d.port?.number);
    for (const port of ports) rt.httpRoutes(all, port, (d) => d.port?.number ?? port);
  }
  // A gateway takes the destination's port, or the service's only port.
  if (gateways.some((g) => g !== 'mesh')) rt.httpRoutes(all, 0, (d) => d.port?.number);
  return rt.warnings;
}

export function meshHostConflicts(index: MeshIndex): TranslationWarning[] {
  const out: TranslationWarning[] = [];
  for (const svc of index.services) {
    const port = svc.ports[0];
    if (!port || index.virtualServices(svc.fqdn).length < 2) continue;
    const rt = new RouteTranslator(index, { clientNamespace: svc.namespace });
    rt.serviceVirtualHost(svc, port, () => []);
    for (const w of rt.warnings) {
      if (w.code !== 'MBX_ANALYZE_MULTIPLE_VIRTUALSERVICES') continue;
      // the translator names every losing VirtualService in one warning: one finding each
      for (const object of w.object.split(', ')) out.push({ ...w, object });
    }
  }
  return out;
}

export function gatewayWarnings(builder: SnapshotBuilder): TranslationWarning[] {
  const out: TranslationWarning[] = [];
  for (const gw of builder.index.gateways) {
    const selector = gw.spec.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    out.push(...builder.gateway({ namespace: gw.metadata.namespace ?? 'default', name: gw.metadata.name, labels: selector }).warnings);
  }
  return out;
}
