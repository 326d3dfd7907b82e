/** NetworkPolicy enforcement in the host's filter table: pure compilation and the applier. */
export {
  compilePodPolicy,
  compilePolicyRuleSet,
  compilePolicyTeardown,
  dispatchChainFor,
  isPolicyChainOf,
  podChainName,
  podChainPrefixFor,
  POLICY_MARK,
  type PodPolicy,
  type RuleChain,
  type PolicyPeer,
  type PolicyPort,
  type PolicyProtocol,
  type PolicyRule,
  type PolicyRuleSet,
  type PolicyRuleSetInput,
} from './compile-policy-rule-set.js';
export { cidrMinus, parseCidrOrIp } from './cidr-minus.js';
export { PolicyApplier, type ApplyOutcome, type PolicyApplierOptions, type RunFn } from './policy-applier.js';
export * from './errors.js';
