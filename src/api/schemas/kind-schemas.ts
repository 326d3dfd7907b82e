/**
 * The schema of every kind meshbox validates, by kind name. Adding a kind (Istio's next) is one
 * entry here plus its schema module; resources.ts must serve the kind too.
 */
import type { Schema } from '../schema.js';
import {
  configMapSchema,
  endpointsSchema,
  eventSchema,
  namespaceSchema,
  secretSchema,
  serviceSchema,
} from './core.js';
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
]);
