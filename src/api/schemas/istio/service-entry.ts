/**
 * ServiceEntry (networking.istio.io v1, v1beta1, v1alpha3): hosts the mesh should know about
 * besides the Services, with Istio's rules tying resolution to endpoints (validateServiceEntry).
 * meshbox routes a ServiceEntry host by name (the Host header) or by one of its single
 * addresses to its endpoints' IP addresses, so what needs more is refused: resolution NONE
 * (the default: the address the client dialled), DNS names to resolve, wildcard hosts and CIDRs.
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

const singleAddress: Format = {
  name: 'address',
  check(v) {
    if (ipAddress.check(v) === undefined) return undefined;
    if (cidr.check(v) === undefined) return `meshbox does not support address ranges (${v}) yet: a proxy routes by host name or single address; list single addresses (e.g. "10.0.0.5")`;
    return `${JSON.stringify(v)} is not an IP address (e.g. "10.0.0.5")`;
  },
};

const NO_PASSTHROUGH = 'meshbox cannot send traffic to the address the client dialled yet; set resolution: STATIC with the IP addresses as endpoints';
const NO_DNS = 'meshbox does not resolve DNS names for a ServiceEntry yet; set resolution: STATIC with the IP addresses as endpoints';

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

function serviceEntryHost(v: string): string | undefined {
  if (v === '*') return 'a ServiceEntry cannot cover every host ("*"); name the hosts, e.g. "api.example.com"';
  // A wildcard entry needs the dialled address (NONE) or a resolver per name (DNS): neither exists yet.
  if (v.startsWith('*.')) return `meshbox does not support wildcard ServiceEntry hosts (${v}) yet; list each host, e.g. "api${v.slice(1)}"`;
  return istioHost.check(v);
}

const addressIsIp = (address: unknown) => typeof address === 'string' && ipAddress.check(address) === undefined;

/** Istio's rules: which endpoints each resolution takes, and ports named consistently. */
const checkResolution: Check = (spec: Record<string, unknown>, ctx) => {
  const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints : [];
  const hosts = Array.isArray(spec.hosts) ? spec.hosts : [];
  switch (spec.resolution ?? 'NONE') {
    case 'NONE':
      if (spec.resolution === undefined) ctx.error(['resolution'], `resolution is missing, so it is NONE (traffic goes to the address the client dialled); ${NO_PASSTHROUGH}`, 'missing');
      else ctx.error(['resolution'], `resolution NONE sends traffic to the address the client dialled; ${NO_PASSTHROUGH}`);
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
      // With IP endpoints DNS resolution is STATIC (an IP resolves to itself); names need a resolver.
      if (endpoints.length === 0) ctx.error(['endpoints'], `resolution DNS without endpoints resolves the hosts themselves; ${NO_DNS}`, 'missing');
      endpoints.forEach((e, i) => {
        if (!isPlainObject(e) || typeof e.address !== 'string' || addressIsIp(e.address)) return;
        if (istioHost.check(e.address) !== undefined) ctx.error(['endpoints', i, 'address'], `${JSON.stringify(e.address)} is neither an IP address nor a DNS name`);
        else ctx.error(['endpoints', i, 'address'], `${JSON.stringify(e.address)} is a DNS name; ${NO_DNS}`);
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
  // Istio's mesh-internal entries get mTLS; meshbox has none yet, so both locations behave alike.
  if (spec.location === 'MESH_INTERNAL') {
    ctx.warn(['location'], 'MESH_INTERNAL is accepted, but until the mTLS milestone meshbox treats it like MESH_EXTERNAL (plain traffic to the endpoints)', 'value');
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
      array(nonEmptyString({ name: 'host', check: serviceEntryHost }), { minItems: 1 }),
    ),
    addresses: array(nonEmptyString(singleAddress)),
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
