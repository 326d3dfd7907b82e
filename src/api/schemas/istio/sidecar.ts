/**
 * Sidecar (networking.istio.io v1, v1beta1, v1alpha3): which hosts a workload's proxy learns
 * about (egress host scoping) and what it does with unknown destinations. Ingress listeners are
 * accepted only in their simple form (a port and where to send it).
 */
import { dns1123Label, dns1123Subdomain, ipAddress } from '../../formats.js';
import { array, nonEmptyString, object, oneOf, rejected, required, type Check } from '../../schema.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import { labels, namespacedHost, port, protocolName } from './common.js';

const NOT_YET = (what: string, instead: string) => `meshbox does not support ${what} yet; remove it (${instead})`;

const listenerPort = object({
  number: required(port),
  protocol: nonEmptyString(protocolName(['HTTP', 'HTTP2', 'GRPC', 'TCP'], {})),
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
  bind: nonEmptyString(ipAddress),
  captureMode,
  hosts: required(array(nonEmptyString(namespacedHost({ allowTilde: true, requireNamespace: true })), { minItems: 1 })),
});

const uniqueIngressPorts: Check = (ingress: unknown[], ctx) => {
  const ports = new Map<unknown, number>();
  ingress.forEach((l, i) => {
    const number = isPlainObject(l) && isPlainObject(l.port) ? l.port.number : undefined;
    if (number === undefined) return;
    const first = ports.get(number);
    if (first !== undefined) ctx.error([i, 'port', 'number'], `port ${String(number)} already has an ingress listener at ingress[${first}]`);
    else ports.set(number, i);
  });
};

const ingressListener = object({
  port: required(listenerPort),
  bind: nonEmptyString(ipAddress),
  captureMode,
  defaultEndpoint: nonEmptyString({
    name: 'defaultEndpoint',
    check(v) {
      const m = /^(127\.0\.0\.1|0\.0\.0\.0|\[::1?\]|):(\d{1,5})$/.exec(v);
      if (!m) return `defaultEndpoint ${JSON.stringify(v)} must be 127.0.0.1:PORT, 0.0.0.0:PORT, [::1]:PORT, [::]:PORT or :PORT (meshbox does not support unix sockets here yet)`;
      const n = Number(m[2]);
      return n >= 1 && n <= 65535 ? undefined : `defaultEndpoint ${JSON.stringify(v)}: port ${n} is not between 1 and 65535`;
    },
  }),
  tls: rejected('TLS waits for the mTLS milestone; remove tls'),
  connectionPool: rejected(NOT_YET('ingress connectionPool', 'set it in a DestinationRule for the service')),
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
    ctx.error([], 'a Sidecar needs egress, ingress or outboundTrafficPolicy', 'missing');
  }
};

export const sidecarSpec = object(
  {
    workloadSelector: object({ labels }, (ws: Record<string, unknown>, ctx) => {
      if (!isPlainObject(ws.labels) || Object.keys(ws.labels).length === 0) {
        ctx.warn([], 'workloadSelector has no labels, so this Sidecar applies to every workload in the namespace', 'key');
      }
    }),
    ingress: array(ingressListener, {}, uniqueIngressPorts),
    egress: array(egressListener, {}, checkEgress),
    outboundTrafficPolicy: object({
      mode: oneOf('REGISTRY_ONLY', 'ALLOW_ANY'),
      egressProxy: rejected(NOT_YET('outboundTrafficPolicy.egressProxy', 'unknown destinations go out directly with ALLOW_ANY')),
    }),
    inboundConnectionPool: rejected(NOT_YET('inboundConnectionPool', 'set connectionPool in a DestinationRule')),
  },
  notEmpty,
);

export const sidecarSchema = kindSchema(dns1123Subdomain, { spec: required(sidecarSpec) });
