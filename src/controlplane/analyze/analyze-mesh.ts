/**
 * `meshbox analyze` (istioctl analyze): config the API accepted that will not do what it says.
 * Pure: objects in, findings out, sorted Errors first. The checks the translator makes while
 * building proxy config are taken from it (translator-findings.ts); the rest live here.
 */
import type { KubeObject } from '../../api/types.js';
import type { Finding } from '../../meshconfig/xds/status.js';
import { MeshIndex } from '../translate/mesh-index.js';
import type { DestinationRule, Gateway, MeshState, Service, ServiceEntry, Sidecar, VirtualService } from '../translate/mesh-types.js';
import { SnapshotBuilder } from '../translate/snapshot-builder.js';
import { toFinding } from './finding-codes.js';
import { portProtocolMismatches } from './port-protocol.js';
import { destinationRuleHost, gatewayHostConflicts, missingGateways, singlePortMismatches } from './references.js';
import { shadowedRoutes } from './shadowed-routes.js';
import { destinationWarnings, gatewayWarnings, meshHostConflicts } from './translator-findings.js';
import { validationWarnings } from './validation-warnings.js';

export interface AnalyzeOptions {
  /** default "cluster.local" */
  clusterDomain?: string;
  /**
   * Include the schema's warnings (default true). Apply leaves them out: its CLI has printed them
   * already, with file positions.
   */
  schemaWarnings?: boolean;
}

/** The kinds analysis reads; the daemon lists only these from its store. */
export const MESH_KINDS: readonly string[] = ['Service', 'ServiceEntry', 'DestinationRule', 'VirtualService', 'Gateway', 'Sidecar'];
const SEVERITY_ORDER = { Error: 0, Warning: 1, Info: 2 } as const;

/** The objects analysis reads, by kind; other kinds are ignored. */
export function meshStateOf(objects: readonly KubeObject[]): MeshState {
  const of = <T>(kind: string): T[] => objects.filter((o) => o.kind === kind) as unknown as T[];
  return {
    services: of<Service>('Service'),
    serviceEntries: of<ServiceEntry>('ServiceEntry'),
    destinationRules: of<DestinationRule>('DestinationRule'),
    virtualServices: of<VirtualService>('VirtualService'),
    gateways: of<Gateway>('Gateway'),
    sidecars: of<Sidecar>('Sidecar'),
    // analysis needs names and ports, not who serves them
    endpoints: [],
    pods: [],
  };
}

export function analyzeMesh(objects: readonly KubeObject[], options: AnalyzeOptions = {}): Finding[] {
  const state = meshStateOf(objects);
  const index = new MeshIndex(state, options.clusterDomain ? { clusterDomain: options.clusterDomain } : {});
  const warnings = [
    ...state.virtualServices.flatMap((vs) => [...destinationWarnings(index, vs), ...singlePortMismatches(index, vs), ...shadowedRoutes(vs), ...missingGateways(index, vs)]),
    ...meshHostConflicts(index),
    ...gatewayHostConflicts(index),
    ...gatewayWarnings(new SnapshotBuilder(index)),
    ...state.destinationRules.flatMap((dr) => destinationRuleHost(index, dr)),
    ...state.services.flatMap((svc) => portProtocolMismatches(svc)),
    // Istio kinds only: the stored Kubernetes kinds carry the API's defaults, which the schema would warn about
    ...(options.schemaWarnings === false ? [] : [...state.virtualServices, ...state.destinationRules, ...state.gateways, ...state.serviceEntries, ...state.sidecars].flatMap(validationWarnings)),
  ];
  // One finding per (code, object, field): the translator may see a destination once per port.
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const w of warnings) {
    const key = `${w.code}\n${w.object}\n${w.field}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(toFinding(w));
  }
  return findings.sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || cmp(a.object, b.object) || byIndex(a.field, b.field) || cmp(a.code, b.code),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const FIELDS = new Intl.Collator('en', { numeric: true });

/** spec.http[2] before spec.http[10] */
function byIndex(a: string, b: string): number {
  return FIELDS.compare(a, b);
}
