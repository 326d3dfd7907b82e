/** NetworkPolicy: resolution of Kubernetes semantics and the controller that enforces them. */
export {
  createNetworkPolicyController,
  teardownNetworkPolicies,
  NetworkPolicyReconciler,
  REASON_NOT_ENFORCED,
  REASON_PARTLY_ENFORCED,
  type NetworkPolicyControllerOptions,
  type NetworkPolicyEvents,
} from './network-policy-controller.js';
export { resolvePodPolicies, policyTypesOf, podAddress, type PolicyProblem, type ResolveInput, type ResolveResult } from './resolve-pod-policies.js';
export * from './network-policy-types.js';
