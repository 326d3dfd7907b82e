/**
 * ServiceEntry (networking.istio.io v1, v1beta1, v1alpha3): hosts the mesh should know about
 * besides the Services, with Istio's rules tying resolution to endpoints (validateServiceEntry).
 */
import { cidr, dns1123Label, dns1123Subdomain, ipAddress, type Format } from '../../formats.js';
import {
  array,
  integer,
  map,
  nonEmptyString,
  object,
  oneOf,
  rejected,
  required,
  uniqueBy,
  type Check,
} from '../../schema.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import { exportToList, istioHost, labels, port, protocolName, workloadSelectorRejected } from './common.js';

const NO_TLS = 'meshbox cannot route TLS by SNI yet; for TLS passthrough to this host use protocol TCP on its own port';

const addressOrCidr: Format = {
  name: 'address',
  check: (v) => (ipAddress.check(v) === undefined || cidr.check(v) === undefined ? undefined : `${JSON.stringify(v)} is not an IP address or CIDR (e.g. "10.0.0.5" or "10.0.0.0/24")`),
};

const RESOLUTION: Format = {
  name: 'resolution',
  check(v) {
    if (v === 'NONE' || v === 'STATIC' || v === 'DNS') return undefined;
    if (v === 'DNS_ROUND_ROBIN') return 'meshbox does not support resolution DNS_ROUND_ROBIN yet; use DNS (every resolved address gets traffic)';
    return `unsupported value ${JSON.stringify(v)}: use one of NONE, STATIC, DNS`;
  },
};

const servicePort = object({
  number: required(port),
  protocol: nonEmptyString(protocolName(['HTTP', 'HTTP2', 'GRPC', 'TCP'], { HTTPS: NO_TLS, TLS: NO_TLS })),
  name: required(nonEmptyString(dns1123Label)),
  targetPort: port,
});

const endpoint = object({
  address: required(nonEmptyString()),
  ports: map(port, dns1123Label),
  labels,
  weight: integer({ min: 0, max: 4_294_967_295 }),
  network: rejected('meshbox runs one network on one machine; remove network'),
  locality: rejected('meshbox runs every endpoint in one locality; remove locality'),
  serviceAccount: rejected('endpoint identities wait for the mTLS milestone; remove serviceAccount'),
});

const addressIsIp = (address: unknown) => typeof address === 'string' && ipAddress.check(address) === undefined;

/** Istio's rules: which endpoints each resolution takes, and ports named consistently. */
const checkResolution: Check = (spec: Record<string, unknown>, ctx) => {
  const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints : [];
  const hosts = Array.isArray(spec.hosts) ? spec.hosts : [];
  switch (spec.resolution ?? 'NONE') {
    case 'NONE':
      if (endpoints.length > 0) ctx.error(['endpoints'], 'resolution NONE takes no endpoints (traffic goes to the address the client asked for); use STATIC or DNS, or remove endpoints', 'key');
      break;
    case 'STATIC':
      if (endpoints.length === 0) ctx.error(['endpoints'], 'resolution STATIC needs endpoints with IP addresses', 'missing');
      endpoints.forEach((e, i) => {
        if (isPlainObject(e) && typeof e.address === 'string' && !addressIsIp(e.address)) {
          ctx.error(['endpoints', i, 'address'], `resolution STATIC needs an IP address here, not ${JSON.stringify(e.address)}; use resolution DNS for names`);
        }
      });
      break;
    case 'DNS':
      if (endpoints.length === 0) {
        hosts.forEach((h, i) => {
          if (typeof h === 'string' && h.startsWith('*')) {
            ctx.error(['hosts', i], 'resolution DNS without endpoints resolves the hosts themselves, so they cannot be wildcards; name the host or add endpoints');
          }
        });
      }
      endpoints.forEach((e, i) => {
        if (isPlainObject(e) && typeof e.address === 'string' && !addressIsIp(e.address) && istioHost.check(e.address) !== undefined) {
          ctx.error(['endpoints', i, 'address'], `${JSON.stringify(e.address)} is neither an IP address nor a DNS name`);
        }
      });
      break;
  }
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isPlainObject) : [];
  const names = new Set(ports.map((p) => p.name).filter((n) => typeof n === 'string'));
  endpoints.forEach((e, i) => {
    if (!isPlainObject(e) || !isPlainObject(e.ports)) return;
    for (const name of Object.keys(e.ports)) {
      if (!names.has(name)) ctx.error(['endpoints', i, 'ports', name], `no port named ${JSON.stringify(name)} in spec.ports; endpoint ports map port names to numbers`, 'key');
    }
  });
  if (ports.length === 0) ctx.error(['ports'], 'a ServiceEntry needs ports: the mesh only captures the ports it knows', 'missing');
  const resolution = spec.resolution ?? 'NONE';
  if (resolution !== 'NONE' && resolution !== 'STATIC' && Array.isArray(spec.addresses)) {
    spec.addresses.forEach((a, i) => {
      if (typeof a === 'string' && a.includes('/')) ctx.error(['addresses', i], `CIDR addresses need resolution NONE or STATIC, not ${String(resolution)}; list single addresses instead`);
    });
  }
  // plain TCP carries no host name, so the proxy could not tell several hosts apart
  if (resolution !== 'NONE' && hosts.length > 1) {
    const i = ports.findIndex((p) => typeof p.protocol !== 'string' || !['HTTP', 'HTTP2', 'GRPC'].includes(p.protocol.toUpperCase()));
    if (i >= 0) ctx.error(['hosts'], `several hosts with a non-HTTP port (ports[${i}]) cannot be told apart; use one ServiceEntry per host, or resolution NONE`, 'key');
  }
};

export const serviceEntrySpec = object(
  {
    hosts: required(
      array(nonEmptyString({ name: 'host', check: (v) => (v === '*' ? 'a ServiceEntry cannot cover every host ("*"); name the hosts, e.g. "api.example.com" or "*.example.com"' : istioHost.check(v)) }), { minItems: 1 }),
    ),
    addresses: array(nonEmptyString(addressOrCidr)),
    ports: array(servicePort, {}, uniqueBy('number', 'port number'), uniqueBy('name', 'port name')),
    location: oneOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
    resolution: nonEmptyString(RESOLUTION),
    endpoints: array(endpoint),
    workloadSelector: workloadSelectorRejected('ServiceEntry'),
    exportTo: exportToList({ allowTilde: true }),
    subjectAltNames: rejected('subjectAltNames wait for the mTLS milestone; remove them'),
  },
  checkResolution,
);

export const serviceEntrySchema = kindSchema(dns1123Subdomain, { spec: required(serviceEntrySpec) });
