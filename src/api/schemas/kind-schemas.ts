/**
 * The schema of every kind meshbox validates, by kind name. Adding a kind is one
 * entry here plus its schema module; resources.ts must serve the kind too (apiVersions come from
 * there, so VirtualService's v1/v1beta1/v1alpha3 all validate against one schema). The Istio kinds
 * in istio/ are the fullest example (istio/virtual-service.ts).
 *
 * Fields meshbox knows but does not implement use `rejected(why)` (an error at apply) or
 * `ignored(why)` (a warning); deprecated spellings use `deprecated(why, schema)`.
 */
import type { Schema } from '../schema.js';
import {
  configMapSchema,
  endpointsSchema,
  eventSchema,
  namespaceSchema,
  secretSchema,
  serviceAccountSchema,
  serviceSchema,
} from './core.js';
import {
  destinationRuleSchema,
  gatewaySchema,
  serviceEntrySchema,
  sidecarSchema,
  virtualServiceSchema,
} from './istio/index.js';
import { endpointSliceSchema, networkPolicySchema } from './networking.js';
import { podSchema } from './pod.js';
import { deploymentSchema, jobSchema, replicaSetSchema } from './workloads.js';

export const KIND_SCHEMAS: ReadonlyMap<string, Schema> = new Map([
  ['Namespace', namespaceSchema],
  ['Pod', podSchema],
  ['ConfigMap', configMapSchema],
  ['Secret', secretSchema],
  ['Event', eventSchema],
  ['Service', serviceSchema],
  ['Endpoints', endpointsSchema],
  ['EndpointSlice', endpointSliceSchema],
  ['Deployment', deploymentSchema],
  ['ReplicaSet', replicaSetSchema],
  ['Job', jobSchema],
  ['NetworkPolicy', networkPolicySchema],
  ['ServiceAccount', serviceAccountSchema],
  // networking.istio.io: one schema serves v1, v1beta1 and v1alpha3 (resources.ts lists the versions)
  ['VirtualService', virtualServiceSchema],
  ['DestinationRule', destinationRuleSchema],
  ['Gateway', gatewaySchema],
  ['ServiceEntry', serviceEntrySchema],
  ['Sidecar', sidecarSchema],
]);
