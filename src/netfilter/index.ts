/** Kernel packet-filter rule sets meshbox owns (iptables-restore of whole meshbox chains). */
export { ServiceChains, type ApplyResult, type ServiceChainsOptions } from './service-chains.js';
export { renderServiceRules, chainNames, probability, DEFAULT_MASQ_MARK, type L4Protocol, type RenderOptions, type RenderedRules, type ServicePortRule } from './service-rules.js';
export { chainPrefixFor, checkPrefix, chainHash } from './chain-prefix.js';
export { parseIpv4, formatIpv4, parseIpv4Cidr, cidrHas, type Ipv4Cidr } from './ipv4.js';
export * from './errors.js';
export { interceptionPlan, interceptionRules, applyInterception, PROXY_UID, OUTBOUND_CAPTURE_PORT, INBOUND_CAPTURE_PORT, type InterceptionPlan } from './interception.js';
