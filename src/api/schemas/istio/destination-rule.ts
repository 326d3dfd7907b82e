/**
 * DestinationRule (networking.istio.io v1, v1beta1, v1alpha3). The traffic policy rules here are
 * the ones the proxy applies when it loads a cluster (src/meshconfig/cluster-policy.ts), written in
 * the schema DSL, so a rule that passes apply is not NACKed by the proxy for its shape.
 */
import { dns1123Subdomain } from '../../formats.js';
import {
  array,
  atMostOne,
  boolean,
  deprecated,
  integer,
  nonEmptyString,
  object,
  rejected,
  required,
  string,
  uniqueBy,
  type Check,
  type Schema,
} from '../../schema.js';
import { suggest } from '../../suggest.js';
import { isPlainObject } from '../../walk-schema.js';
import { kindSchema } from '../meta.js';
import { duration, exportTo, istioDuration, istioHost, labels, numberAt, port, subsetName, workloadSelectorRejected } from './common.js';

const INT32_MAX = 2_147_483_647;
const NO_TLS = 'TLS settings wait for the mTLS milestone; remove tls (traffic between sidecars is plain for now)';
const NOT_YET = (what: string, instead: string) => `meshbox does not support ${what} yet; remove it (${instead})`;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

const SIMPLE_LB: readonly string[] = ['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM'];

const HASH_KEYS = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'];

const consistentHash = object(
  {
    httpHeaderName: nonEmptyString(),
    httpCookie: object({
      name: required(nonEmptyString()),
      path: nonEmptyString(),
      ttl: string(istioDuration({ allowZero: true })),
      attributes: rejected(NOT_YET('httpCookie.attributes', 'the cookie gets name, path and ttl')),
    }),
    useSourceIp: boolean(),
    httpQueryParameterName: nonEmptyString(),
    ringHash: object({ minimumRingSize: integer({ min: 1, max: 8_388_608 }) }),
    maglev: object({ tableSize: required(integer({ min: 2, max: 5_000_011 })) }, (m: Record<string, unknown>, ctx) => {
      const size = numberAt(m, 'tableSize');
      if (size !== undefined && Number.isInteger(size) && size >= 2 && !isPrime(size)) {
        ctx.error(['tableSize'], `must be a prime number (such as 65537 or 5003), got ${size}`);
      }
    }),
    minimumRingSize: deprecated('use ringHash.minimumRingSize instead', integer({ min: 1, max: 8_388_608 })),
  },
  (ch: Record<string, unknown>, ctx) => {
    const keys = HASH_KEYS.filter((k) => ch[k] !== undefined);
    if (keys.length === 0) ctx.error([], `set one hash key: ${HASH_KEYS.join(', ')}`, 'missing');
    for (const extra of keys.slice(1)) ctx.error([extra], `set only one hash key, but ${keys[0]} is set too`, 'key');
    if (ch.useSourceIp === false) ctx.error(['useSourceIp'], 'must be true when set; leave it out to hash on something else');
    if (ch.maglev !== undefined && (ch.ringHash !== undefined || ch.minimumRingSize !== undefined)) {
      ctx.error(['maglev'], 'set either ringHash or maglev, not both', 'key');
    }
  },
  atMostOne(['ringHash', 'minimumRingSize'], 'ring size'),
);

const loadBalancer = object(
  {
    simple: nonEmptyString({
      name: 'simple',
      check(v) {
        if (SIMPLE_LB.includes(v)) return undefined;
        // The proxy would balance over the service's endpoints instead of keeping the dialled address.
        if (v === 'PASSTHROUGH') return 'meshbox does not support PASSTHROUGH yet (it cannot send to the address the client dialled); use ROUND_ROBIN or LEAST_REQUEST';
        const close = suggest(v, SIMPLE_LB);
        return `unsupported value ${JSON.stringify(v)}${close ? ` (did you mean ${close}?)` : ''}: use one of ${SIMPLE_LB.join(', ')}`;
      },
    }),
    consistentHash,
    localityLbSetting: rejected(NOT_YET('localityLbSetting', 'every endpoint runs on this one machine, in one locality')),
    warmupDurationSecs: rejected(NOT_YET('warmupDurationSecs', 'new endpoints get their full share at once')),
    warmup: rejected(NOT_YET('loadBalancer.warmup', 'new endpoints get their full share at once')),
  },
  atMostOne(['simple', 'consistentHash'], 'a load balancer'),
);

const connectionPool = object(
  {
  tcp: object({
    maxConnections: integer({ min: 1, max: INT32_MAX }),
    connectTimeout: duration,
    tcpKeepalive: rejected(NOT_YET('connectionPool.tcp.tcpKeepalive', 'the proxy uses the kernel defaults')),
    maxConnectionDuration: rejected(NOT_YET('connectionPool.tcp.maxConnectionDuration', 'use http.maxRequestsPerConnection to recycle connections')),
    idleTimeout: rejected(NOT_YET('connectionPool.tcp.idleTimeout', 'use connectionPool.http.idleTimeout')),
  }),
  http: object({
    http1MaxPendingRequests: integer({ min: 1, max: INT32_MAX }),
    http2MaxRequests: integer({ min: 1, max: INT32_MAX }),
    maxRequestsPerConnection: integer({ min: 0, max: INT32_MAX }),
    maxRetries: integer({ min: 0, max: INT32_MAX }),
    idleTimeout: duration,
    h2UpgradePolicy: rejected(NOT_YET('h2UpgradePolicy', 'the protocol follows the Service port name or appProtocol')),
    useClientProtocol: rejected(NOT_YET('useClientProtocol', 'the protocol follows the Service port name or appProtocol')),
    maxConcurrentStreams: rejected(NOT_YET('maxConcurrentStreams', 'use http2MaxRequests')),
  }),
  },
  (cp: Record<string, unknown>, ctx) => {
    if (cp.tcp === undefined && cp.http === undefined) ctx.error([], 'a connection pool needs tcp or http settings', 'missing');
  },
);

const outlierDetection = object(
  {
    consecutive5xxErrors: integer({ min: 0, max: INT32_MAX }),
    consecutiveGatewayErrors: integer({ min: 0, max: INT32_MAX }),
    consecutiveLocalOriginFailures: integer({ min: 0, max: INT32_MAX }),
    splitExternalLocalOriginErrors: boolean(),
    interval: duration,
    baseEjectionTime: duration,
    maxEjectionPercent: integer({ min: 0, max: 100 }),
    minHealthPercent: integer({ min: 0, max: 100 }),
    // Istio still reads it (as consecutiveGatewayErrors); the proxy takes only the new name
    consecutiveErrors: rejected('consecutiveErrors is deprecated in Istio and meshbox reads only its replacement: remove it and write consecutiveGatewayErrors (same meaning: 502, 503, 504 and connect failures)'),
  },
  (od: Record<string, unknown>, ctx) => {
    if (od.consecutiveLocalOriginFailures !== undefined && od.splitExternalLocalOriginErrors !== true) {
      ctx.error(['consecutiveLocalOriginFailures'], 'only takes effect with splitExternalLocalOriginErrors: true; set that too or remove this field', 'key');
    }
  },
);

const POLICY_FIELDS = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings'];

/** Istio: "traffic policy must have at least one field". */
const notEmpty: Check = (tp: Record<string, unknown>, ctx) => {
  if (!POLICY_FIELDS.some((k) => tp[k] !== undefined && tp[k] !== null)) {
    ctx.error([], 'a traffic policy needs at least one of loadBalancer, connectionPool, outlierDetection or portLevelSettings', 'missing');
  }
};

const portTrafficPolicy = object(
  {
    port: required(object({ number: required(port) })),
    loadBalancer,
    connectionPool,
    outlierDetection,
    tls: rejected(NO_TLS),
  },
  (p: Record<string, unknown>, ctx) => {
    if (!['loadBalancer', 'connectionPool', 'outlierDetection', 'tls'].some((k) => p[k] !== undefined)) {
      ctx.error([], 'a port-level setting needs loadBalancer, connectionPool or outlierDetection besides the port', 'missing');
    }
  },
);

const uniquePorts: Check = (items: unknown[], ctx) => {
  const seen = new Map<unknown, number>();
  items.forEach((item, i) => {
    const number = isPlainObject(item) && isPlainObject(item.port) ? item.port.number : undefined;
    if (number === undefined) return;
    const first = seen.get(number);
    if (first === undefined) seen.set(number, i);
    else ctx.error([i, 'port', 'number'], `port ${String(number)} already has settings at portLevelSettings[${first}]; merge them`);
  });
};

const trafficPolicyFields = {
  loadBalancer,
  connectionPool,
  outlierDetection,
  portLevelSettings: array(portTrafficPolicy, {}, uniquePorts),
  tls: rejected(NO_TLS),
  tunnel: rejected(NOT_YET('trafficPolicy.tunnel', 'meshbox has no egress tunnels')),
  proxyProtocol: rejected(NOT_YET('trafficPolicy.proxyProtocol', 'upstreams get the client connection as is')),
  retryBudget: rejected(NOT_YET('trafficPolicy.retryBudget', 'meshbox applies its own retry budget; limit retries with connectionPool.http.maxRetries')),
};

export const trafficPolicy: Schema = object(trafficPolicyFields, notEmpty);

const subset = object({
  name: required(nonEmptyString(subsetName)),
  labels,
  trafficPolicy,
});

export const destinationRuleSpec = object({
  host: required(nonEmptyString(istioHost)),
  trafficPolicy,
  subsets: array(subset, {}, uniqueBy('name', 'subset name')),
  exportTo,
  workloadSelector: workloadSelectorRejected('DestinationRule'),
});

export const destinationRuleSchema = kindSchema(dns1123Subdomain, { spec: required(destinationRuleSpec) });
