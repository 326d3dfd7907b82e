/**
 * Sidecar (networking.istio.io v1, v1beta1, v1alpha3): which hosts a workload's proxy learns
 * about (egress host scoping, per port when an egress listener names one) and whether unknown
 * destinations pass through (outboundTrafficPolicy). Ingress listeners and bind addresses are
 * refused: the sidecar's inbound side follows the pod's ports and its outbound side captures
 * every address with iptables.
 */
import { dns1123Label, dns1123Subdomain } from '../../formats.js';
import { array, ignored, nonEmptyString, object, oneOf, rejected, required, type Check } from '../../schema.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import { labels, namespacedHost, port, protocolName } from './common.js';

const NOT_YET = (what: string, instead: string) => `meshbox does not support ${what} yet; remove it (${instead})`;

const listenerPort = object({
  number: required(port),
  // The single outbound listener detects the protocol per connection and routes by the Service port's protocol.
  protocol: ignored(
    'the protocol of an egress port has no effect in meshbox: traffic is handled by the protocol of the Service port it reaches (port name or appProtocol); you may remove it',
    nonEmptyString(protocolName(['HTTP', 'HTTP2', 'GRPC', 'TCP'], {})),
  ),
  name: nonEmptyString(dns1123Label),
  targetPort: rejected('targetPort has no effect on Sidecars (Istio refuses it too); remove it'),
});

const captureMode = nonEmptyString({
  name: 'captureMode',
  check(v) {
    if (v === 'DEFAULT' || v === 'IPTABLES') return undefined;
    if (v === 'NONE') return 'meshbox does not support captureMode NONE yet (apps would have to call the proxy themselves); use DEFAULT';
    return `unsupported value ${JSON.stringify(v)}: use DEFAULT or IPTABLES`;
  },
});

const egressListener = object({
  port: listenerPort,
  bind: rejected(NOT_YET('egress bind', 'the sidecar captures outbound traffic to every address with iptables; scope it with hosts and port')),
  captureMode,
  hosts: required(array(nonEmptyString(namespacedHost({ allowTilde: true, requireNamespace: true })), { minItems: 1 })),
});

/** Istio: one catch-all egress listener (no port), and it comes last; ports unique per listener kind. */
const checkEgress: Check = (egress: unknown[], ctx) => {
  const ports = new Map<unknown, number>();
  egress.forEach((l, i) => {
    if (!isPlainObject(l)) return;
    if (l.port === undefined || l.port === null) {
      if (i !== egress.length - 1) ctx.error([i], 'the egress listener without a port catches everything else, so it must be the last one; move it to the end', 'key');
      return;
    }
    const number = isPlainObject(l.port) ? l.port.number : undefined;
    if (number === undefined) return;
    const first = ports.get(number);
    if (first !== undefined) ctx.error([i, 'port', 'number'], `port ${String(number)} already has an egress listener at egress[${first}]; merge their hosts`);
    else ports.set(number, i);
  });
};

const notEmpty: Check = (spec: Record<string, unknown>, ctx) => {
  if (!['egress', 'ingress', 'outboundTrafficPolicy'].some((k) => spec[k] !== undefined && spec[k] !== null)) {
    ctx.error([], 'a Sidecar needs egress or outboundTrafficPolicy', 'missing');
  }
};



export const sidecarSpec = object(
  {
    workloadSelector: object({ labels }, (ws: Record<string, unknown>, ctx) => {
      if (!isPlainObject(ws.labels) || Object.keys(ws.labels).length === 0) {
        ctx.warn([], 'workloadSelector has no labels, so this Sidecar applies to every workload in the namespace', 'key');
      }
    }),
    ingress: rejected(NOT_YET('Sidecar ingress listeners', 'the sidecar forwards each port of the pod to the app on 127.0.0.1, as the Service targetPort says')),
    egress: array(egressListener, {}, checkEgress),
    outboundTrafficPolicy: object({
      // the outbound listener's originalDst.passthrough: true for ALLOW_ANY, false for REGISTRY_ONLY
      mode: oneOf('REGISTRY_ONLY', 'ALLOW_ANY'),
      egressProxy: rejected(NOT_YET('outboundTrafficPolicy.egressProxy', 'unknown destinations go out directly with ALLOW_ANY')),
    }),
    inboundConnectionPool: rejected(NOT_YET('inboundConnectionPool', 'set connectionPool in a DestinationRule')),
  },
  notEmpty,
);

export const sidecarSchema = kindSchema(dns1123Subdomain, { spec: required(sidecarSpec) });
