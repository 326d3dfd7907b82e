/** NetworkPolicy (networking.k8s.io/v1) and EndpointSlice (discovery.k8s.io/v1). */
import { cidr, dns1123Label, dns1123Subdomain, portName } from '../formats.js';
import {
  any,
  array,
  atMostOne,
  boolean,
  integer,
  intOrString,
  nonEmptyString,
  object,
  oneOf,
  required,
  string,
  type Check,
} from '../schema.js';
import { isPlainObject } from '../walk-schema.js';
import { kindSchema, labelSelector, labels } from './meta.js';

const PROTOCOL = oneOf('TCP', 'UDP', 'SCTP');

const peer = object(
  {
    podSelector: labelSelector,
    namespaceSelector: labelSelector,
    ipBlock: object({ cidr: required(nonEmptyString(cidr)), except: array(string(cidr)) }),
  },
  atMostOne(['ipBlock', 'podSelector'], 'ipBlock excludes selectors'),
  atMostOne(['ipBlock', 'namespaceSelector'], 'ipBlock excludes selectors'),
  (p: Record<string, unknown>, ctx) => {
    if (p.ipBlock === undefined && p.podSelector === undefined && p.namespaceSelector === undefined) {
      ctx.error([], 'a peer needs podSelector, namespaceSelector or ipBlock', 'missing');
    }
  },
);

const policyPort = object(
  {
    protocol: PROTOCOL,
    port: intOrString({ min: 1, max: 65535, format: portName }),
    endPort: integer({ min: 1, max: 65535 }),
  },
  (p: Record<string, unknown>, ctx) => {
    if (p.endPort === undefined || p.endPort === null) return;
    if (typeof p.port !== 'number') ctx.error(['endPort'], 'endPort needs a numeric port', 'key');
    else if (typeof p.endPort === 'number' && p.endPort < p.port) ctx.error(['endPort'], `must be at least port (${p.port})`);
  },
);

const uniquePolicyTypes: Check = (np: Record<string, unknown>, ctx) => {
  const spec = np.spec;
  if (!isPlainObject(spec) || !Array.isArray(spec.policyTypes)) return;
  const seen = new Set<unknown>();
  spec.policyTypes.forEach((t, i) => {
    if (seen.has(t)) ctx.error(['spec', 'policyTypes', i], `duplicate policy type ${JSON.stringify(t)}`);
    seen.add(t);
  });
};

export const networkPolicySchema = kindSchema(
  dns1123Subdomain,
  {
    spec: required(
      object({
        podSelector: required(labelSelector),
        policyTypes: array(oneOf('Ingress', 'Egress')),
        ingress: array(object({ from: array(peer), ports: array(policyPort) })),
        egress: array(object({ to: array(peer), ports: array(policyPort) })),
      }),
    ),
  },
  uniquePolicyTypes,
);

const endpoint = object({
  addresses: required(array(nonEmptyString(), { minItems: 1 })),
  conditions: object({ ready: boolean(), serving: boolean(), terminating: boolean() }),
  hostname: string(dns1123Label),
  targetRef: any(),
  nodeName: string(),
  zone: string(),
  hints: any(),
  deprecatedTopology: labels,
});

export const endpointSliceSchema = kindSchema(dns1123Subdomain, {
  addressType: required(oneOf('IPv4', 'IPv6', 'FQDN')),
  endpoints: required(array(endpoint)),
  ports: array(
    object({
      name: string(),
      port: integer({ min: 1, max: 65535 }),
      protocol: PROTOCOL,
      appProtocol: string(),
    }),
  ),
});
