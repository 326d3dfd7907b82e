/** The networking.istio.io kinds meshbox validates; kind-schemas.ts registers them. */
export { destinationRuleSchema, destinationRuleSpec, trafficPolicy } from './destination-rule.js';
export { gatewaySchema, gatewaySpec } from './gateway.js';
export { serviceEntrySchema, serviceEntrySpec } from './service-entry.js';
export { sidecarSchema, sidecarSpec } from './sidecar.js';
export { RETRY_ON_CONDITIONS, virtualServiceSchema, virtualServiceSpec } from './virtual-service.js';
export { durationNanos, re2Regex } from './common.js';
export { fieldSupport, type FieldSupport } from './field-support.js';
