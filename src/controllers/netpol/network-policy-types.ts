/**
 * networking.k8s.io/v1 NetworkPolicy, with Kubernetes' field names. (A candidate for
 * src/api/types.ts; kept here so this folder builds on its own.)
 */
import type { KubeObject } from '../../api/types.js';
import type { LabelSelector } from '../../store/label-selector.js';

export const NETWORK_POLICIES = 'networkpolicies.networking.k8s.io';
export const PODS = 'pods';
export const NAMESPACES = 'namespaces';
/** Kubernetes sets it on every namespace; meshbox's admission does too */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export type NetworkPolicyProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface NetworkPolicyPort {
  protocol?: NetworkPolicyProtocol;
  /** a number, or the name of a container port of the pod traffic goes to */
  port?: number | string;
  endPort?: number;
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicy extends KubeObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  spec: NetworkPolicySpec;
}
