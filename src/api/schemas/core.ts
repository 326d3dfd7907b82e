/** Namespace, ConfigMap, Secret, Event, Service and Endpoints (core/v1). */
import {
  base64,
  configKey,
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  ipAddress,
  labelValue,
  portName,
  qualifiedName,
} from '../formats.js';
import {
  any,
  array,
  boolean,
  ignored,
  integer,
  intOrString,
  map,
  nonEmptyString,
  object,
  oneOf,
  rejected,
  required,
  string,
  uniqueBy,
  type CheckContext,
} from '../schema.js';
import { isPlainObject } from '../walk-schema.js';
import { kindSchema } from './meta.js';
import { portNumber } from './pod.js';

const MAX_DATA_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;

/** Accepted so manifests written for Kubernetes (Istio's bookinfo has them) load; pods get no tokens. */
export const serviceAccountSchema = kindSchema(dns1123Subdomain, {
  secrets: ignored('meshbox mounts no service account tokens'),
  imagePullSecrets: ignored("images come from meshbox's local image store"),
  automountServiceAccountToken: ignored('meshbox mounts no service account tokens', boolean()),
});

export const namespaceSchema = kindSchema(dns1123Label, {
  spec: object({ finalizers: array(string()) }),
});

function checkDataSize(obj: Json, ctx: CheckContext, fields: string[]): void {
  let size = 0;
  for (const f of fields) {
    const data = obj[f];
    if (!isPlainObject(data)) continue;
    for (const [k, v] of Object.entries(data)) size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > MAX_DATA_BYTES) ctx.error([fields[0] ?? 'data'], `the data is ${size} bytes, more than the 1 MiB Kubernetes allows`);
}

export const configMapSchema = kindSchema(
  dns1123Subdomain,
  {
    data: map(string(), configKey),
    binaryData: map(string(base64), configKey),
    immutable: boolean(),
  },
  (cm: Json, ctx) => {
    checkDataSize(cm, ctx, ['data', 'binaryData']);
    if (!isPlainObject(cm.data) || !isPlainObject(cm.binaryData)) return;
    for (const key of Object.keys(cm.binaryData)) {
      if (Object.hasOwn(cm.data, key)) ctx.error(['binaryData', key], `key ${JSON.stringify(key)} is also in data; a key may appear once`, 'key');
    }
  },
);

/** Keys that a typed Secret must carry (in data or stringData). */
const SECRET_TYPE_KEYS: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
};

export const secretSchema = kindSchema(
  dns1123Subdomain,
  {
    type: string(),
    data: map(string(base64), configKey),
    stringData: map(string(), configKey),
    immutable: boolean(),
  },
  (secret: Json, ctx) => {
    checkDataSize(secret, ctx, ['data', 'stringData']);
    const needed = typeof secret.type === 'string' ? SECRET_TYPE_KEYS[secret.type] : undefined;
    if (!needed) return;
    const keys = [secret.data, secret.stringData].flatMap((d) => (isPlainObject(d) ? Object.keys(d) : []));
    for (const key of needed) {
      if (!keys.includes(key)) ctx.error(['data', key], `a Secret of type ${String(secret.type)} needs the key ${JSON.stringify(key)}`, 'missing');
    }
  },
);

const objectReference = object({
  apiVersion: string(),
  kind: string(),
  name: string(),
  namespace: string(),
  uid: string(),
  resourceVersion: string(),
  fieldPath: string(),
});

export const eventSchema = kindSchema(dns1123Subdomain, {
  involvedObject: required(objectReference),
  reason: string(),
  message: string(),
  type: oneOf('Normal', 'Warning'),
  count: integer({ min: 0 }),
  firstTimestamp: any(),
  lastTimestamp: any(),
  eventTime: any(),
  source: object({ component: string(), host: string() }),
  reportingComponent: string(),
  reportingInstance: string(),
  action: string(),
  related: objectReference,
  series: any(),
});

const PROTOCOL = oneOf('TCP', 'UDP', 'SCTP');
const NO_LOAD_BALANCER = 'meshbox has no external load balancer; use type NodePort (published on 127.0.0.1) or an Istio Gateway';

const servicePort = object({
  name: string(portName),
  protocol: PROTOCOL,
  appProtocol: string(),
  port: required(portNumber),
  targetPort: intOrString({ min: 1, max: 65535, format: portName }),
  nodePort: integer({ min: 1, max: 65535 }),
});

function checkService(svc: Json, ctx: CheckContext): void {
  const spec = svc.spec;
  if (!isPlainObject(spec)) return;
  const type = spec.type ?? 'ClusterIP';
  const headless = spec.clusterIP === 'None';
  const ports = Array.isArray(spec.ports) ? spec.ports.filter(isPlainObject) : [];
  if (type === 'ExternalName' && (typeof spec.externalName !== 'string' || spec.externalName === '')) {
    ctx.error(['spec', 'externalName'], 'a Service of type ExternalName needs externalName', 'missing');
  }
  if (type !== 'ExternalName' && !headless && ports.length === 0) {
    ctx.error(['spec', 'ports'], 'a Service needs at least one port (or clusterIP: None for a headless Service)', 'missing');
  }
  if (ports.length > 1) {
    ports.forEach((p, i) => {
      if (p.name === undefined || p.name === null || p.name === '') {
        ctx.error(['spec', 'ports', i, 'name'], 'each port needs a name when a Service has more than one', 'missing');
      }
    });
  }
  const seen = new Map<string, number>();
  ports.forEach((p, i) => {
    if (typeof p.port !== 'number') return;
    const key = `${String(p.protocol ?? 'TCP')}/${p.port}`;
    const first = seen.get(key);
    if (first !== undefined) ctx.error(['spec', 'ports', i, 'port'], `port ${key} is already defined at ports[${first}]`);
    else seen.set(key, i);
    if (p.nodePort !== undefined && p.nodePort !== null && type !== 'NodePort') {
      ctx.error(['spec', 'ports', i, 'nodePort'], 'nodePort may only be set on a Service of type NodePort', 'key');
    }
  });
  if (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && !headless && ipAddress.check(spec.clusterIP)) {
    ctx.error(['spec', 'clusterIP'], `${JSON.stringify(spec.clusterIP)} is not an IP address; use an address from the service CIDR, "None" for headless, or leave it out`);
  }
  if (headless && type !== 'ClusterIP') ctx.error(['spec', 'clusterIP'], `clusterIP None only works with type ClusterIP, not ${String(type)}`);
}

export const serviceSchema = kindSchema(
  dns1035Label,
  {
    spec: required(
      object({
        type: oneOf('ClusterIP', 'NodePort', 'ExternalName', 'LoadBalancer'),
        ports: array(servicePort),
        selector: map(string(labelValue), qualifiedName),
        clusterIP: string(),
        clusterIPs: array(string()),
        externalName: string(dns1123Subdomain),
        sessionAffinity: oneOf('None', 'ClientIP'),
        sessionAffinityConfig: object({ clientIP: object({ timeoutSeconds: integer({ min: 1, max: 86400 }) }) }),
        publishNotReadyAddresses: boolean(),
        internalTrafficPolicy: oneOf('Cluster', 'Local'),
        externalTrafficPolicy: ignored('every pod runs on this machine, so Cluster and Local behave the same', oneOf('Cluster', 'Local')),
        ipFamilies: ignored('meshbox allocates IPv4 service addresses', array(oneOf('IPv4', 'IPv6'))),
        ipFamilyPolicy: ignored('meshbox allocates IPv4 service addresses', oneOf('SingleStack', 'PreferDualStack', 'RequireDualStack')),
        trafficDistribution: ignored('every endpoint is on this machine'),
        externalIPs: rejected('externalIPs are not routed by meshbox; use type NodePort or an Istio Gateway'),
        loadBalancerIP: rejected(NO_LOAD_BALANCER),
        loadBalancerSourceRanges: rejected(NO_LOAD_BALANCER),
        loadBalancerClass: rejected(NO_LOAD_BALANCER),
        allocateLoadBalancerNodePorts: rejected(NO_LOAD_BALANCER),
        healthCheckNodePort: rejected(NO_LOAD_BALANCER),
      }),
    ),
  },
  (svc: Json, ctx) => {
    if (isPlainObject(svc.spec) && svc.spec.type === 'LoadBalancer') ctx.error(['spec', 'type'], `type LoadBalancer is not supported: ${NO_LOAD_BALANCER}`);
    checkService(svc, ctx);
  },
);

const endpointAddress = object({
  ip: required(nonEmptyString(ipAddress)),
  hostname: string(dns1123Label),
  nodeName: string(),
  targetRef: objectReference,
});

export const endpointPort = object({
  name: string(portName),
  port: required(portNumber),
  protocol: PROTOCOL,
  appProtocol: string(),
});

export const endpointsSchema = kindSchema(dns1123Subdomain, {
  subsets: array(
    object({
      addresses: array(endpointAddress),
      notReadyAddresses: array(endpointAddress),
      ports: array(endpointPort, {}, uniqueBy('name', 'port name')),
    }),
  ),
});
