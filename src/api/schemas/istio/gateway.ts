/**
 * Gateway (networking.istio.io v1, v1beta1, v1alpha3): the ports and hosts of the ingress gateway
 * proxy, which meshbox binds to 127.0.0.1 unless a server asks for another address with `bind`.
 * HTTPS and TLS servers wait for the mTLS milestone; TCP servers wait for VirtualService tcp routes.
 */
import { dns1123Subdomain, ipAddress } from '../../formats.js';
import { array, nonEmptyString, object, rejected, required, uniqueBy, type Check } from '../../schema.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import { labels, namespacedHost, port, protocolName } from './common.js';

const NO_TLS = 'TLS on gateways waits for the mTLS milestone; use protocol HTTP and terminate TLS in front of meshbox';
// VirtualService tcp routes are refused too, so a TCP server would have nothing to serve
const NO_TCP = 'the meshbox gateway serves HTTP, HTTP2 and GRPC servers; use one of those, or publish the TCP service with a hostPort';

const serverPort = object({
  number: required(port),
  protocol: required(
    nonEmptyString(protocolName(['HTTP', 'HTTP2', 'GRPC'], { HTTPS: NO_TLS, TLS: NO_TLS, TCP: NO_TCP })),
  ),
  name: required(nonEmptyString()),
  targetPort: rejected('targetPort has no effect on gateways (Istio refuses it too); remove it, the gateway listens on port.number'),
});

const server = object({
  port: required(serverPort),
  hosts: required(array(nonEmptyString(namespacedHost({ allowTilde: false, requireNamespace: false })), { minItems: 1 })),
  bind: nonEmptyString(ipAddress),
  name: nonEmptyString(),
  tls: rejected('TLS on gateways waits for the mTLS milestone; remove tls and terminate TLS in front of meshbox'),
  defaultEndpoint: rejected('defaultEndpoint is for Sidecar ingress listeners; remove it'),
});

/** Istio: two servers on one port must agree on the protocol (one listener serves the port). */
const portsAgree: Check = (servers: unknown[], ctx) => {
  const seen = new Map<string, { protocol: string; index: number }>();
  servers.forEach((s, i) => {
    if (!isPlainObject(s) || !isPlainObject(s.port)) return;
    const { number, protocol } = s.port;
    if (typeof number !== 'number' || typeof protocol !== 'string') return;
    const key = `${typeof s.bind === 'string' ? s.bind : ''}:${number}`;
    const first = seen.get(key);
    if (!first) seen.set(key, { protocol: protocol.toUpperCase(), index: i });
    else if (first.protocol !== protocol.toUpperCase()) {
      ctx.error([i, 'port', 'protocol'], `port ${number} is already served as ${first.protocol} by servers[${first.index}]; one port has one protocol`);
    }
  });
};

export const gatewaySpec = object({
  selector: labels,
  servers: required(array(server, { minItems: 1 }, uniqueBy('name', 'server name'), portsAgree)),
});

export const gatewaySchema = kindSchema(dns1123Subdomain, { spec: required(gatewaySpec) });

