/**
 * Pod, PodSpec, Container and PodTemplateSpec (core/v1), with what meshbox supports, ignores
 * (single machine: scheduling fields) and rejects (features that would silently not work).
 */
import {
  absolutePath,
  configKey,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  ipAddress,
  portName,
  qualifiedName,
  relativePath,
  type Format,
} from '../formats.js';
import { Quantity } from '../quantity.js';
import {
  any,
  array,
  atMostOne,
  boolean,
  exactlyOne,
  ignored,
  integer,
  intOrString,
  map,
  nonEmptyString,
  object,
  oneOf,
  quantity,
  rejected,
  required,
  string,
  uniqueBy,
  type Check,
  type CheckContext,
  type Schema,
} from '../schema.js';
import { suggest } from '../suggest.js';
import { isPlainObject } from '../walk-schema.js';
import { kindSchema, objectMeta } from './meta.js';

export const SINGLE_MACHINE = 'meshbox runs every pod on this one machine, so scheduling settings have no effect';

const imageReference: Format = {
  name: 'image reference',
  check: (v) => (/\s/.test(v) ? `image ${JSON.stringify(v)} contains whitespace; write it as NAME[:TAG] or NAME@DIGEST` : undefined),
};

export const portNumber = integer({ min: 1, max: 65535 });
const namedPort = intOrString({ min: 1, max: 65535, format: portName });
const seconds = (min: number): Schema => integer({ min });
const fileMode = integer({ min: 0, max: 0o777 });

const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];
const resourceName: Format = {
  name: 'resource name',
  check(v) {
    if (RESOURCE_NAMES.includes(v) || v.startsWith('hugepages-')) return undefined;
    if (v.includes('/') && !qualifiedName.check(v)) return undefined;
    const close = suggest(v, RESOURCE_NAMES);
    return `unknown resource "${v}"${close ? ` (did you mean ${close}?)` : ''}: use cpu, memory, ephemeral-storage or a "domain/name" extended resource`;
  },
};
const resourceList = map(quantity(), resourceName);

/** requests may not exceed limits (Kubernetes rejects such pods). */
const requestsWithinLimits: Check = (res: Record<string, unknown>, ctx) => {
  if (!isPlainObject(res.requests) || !isPlainObject(res.limits)) return;
  for (const [name, request] of Object.entries(res.requests)) {
    const limit = res.limits[name];
    if (limit === undefined || limit === null) continue;
    const r = Quantity.tryParse(request);
    const l = Quantity.tryParse(limit);
    if (typeof r === 'string' || typeof l === 'string') continue;
    if (r.compare(l) > 0) ctx.error(['requests', name], `request ${r.text} is more than the limit ${l.text}; raise the limit or lower the request`);
  }
};

const resources = object(
  {
    limits: resourceList,
    requests: resourceList,
    claims: rejected('dynamic resource claims need a device driver; remove resources.claims'),
  },
  requestsWithinLimits,
);

const execAction = object({ command: required(array(string(), { minItems: 1 })) });
const httpGetAction = object({
  path: string(),
  port: required(namedPort),
  host: string(),
  scheme: oneOf('HTTP', 'HTTPS'),
  httpHeaders: array(object({ name: required(nonEmptyString()), value: required(string()) })),
});
const tcpSocketAction = object({ port: required(namedPort), host: string() });
const grpcAction = object({ port: required(portNumber), service: string() });

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const probe = object(
  {
    exec: execAction,
    httpGet: httpGetAction,
    tcpSocket: tcpSocketAction,
    grpc: grpcAction,
    initialDelaySeconds: seconds(0),
    timeoutSeconds: seconds(1),
    periodSeconds: seconds(1),
    successThreshold: seconds(1),
    failureThreshold: seconds(1),
    terminationGracePeriodSeconds: seconds(1),
  },
  exactlyOne(PROBE_HANDLERS, 'a probe needs one handler'),
);

const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'];
const lifecycleHandler = object(
  {
    exec: execAction,
    httpGet: httpGetAction,
    tcpSocket: tcpSocketAction,
    sleep: object({ seconds: required(seconds(0)) }),
  },
  exactlyOne(LIFECYCLE_HANDLERS, 'a lifecycle hook needs one handler'),
);

const keySelector = object({ name: required(nonEmptyString(dns1123Subdomain)), key: required(nonEmptyString(configKey)), optional: boolean() });

const envVar = object(
  {
    name: required(nonEmptyString(envVarName)),
    value: string(),
    valueFrom: object(
      {
        configMapKeyRef: keySelector,
        secretKeyRef: keySelector,
        fieldRef: object({ fieldPath: required(nonEmptyString()), apiVersion: string() }),
        resourceFieldRef: object({ resource: required(nonEmptyString()), containerName: string(), divisor: quantity() }),
      },
      exactlyOne(['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'], 'valueFrom needs one source'),
    ),
  },
  atMostOne(['value', 'valueFrom'], 'an environment variable takes a value or a valueFrom'),
);

const envFromSource = object(
  {
    prefix: string(),
    configMapRef: object({ name: required(nonEmptyString(dns1123Subdomain)), optional: boolean() }),
    secretRef: object({ name: required(nonEmptyString(dns1123Subdomain)), optional: boolean() }),
  },
  exactlyOne(['configMapRef', 'secretRef'], 'envFrom needs one source'),
);

const containerPort = object({
  name: nonEmptyString(portName),
  containerPort: required(portNumber),
  hostPort: portNumber,
  hostIP: string(ipAddress),
  protocol: oneOf('TCP', 'UDP', 'SCTP'),
});

const volumeMount = object({
  name: required(nonEmptyString()),
  mountPath: required(nonEmptyString(absolutePath)),
  readOnly: boolean(),
  subPath: string(relativePath),
  subPathExpr: rejected('subPathExpr is not supported; use subPath'),
  mountPropagation: rejected('mount propagation is not supported'),
  recursiveReadOnly: ignored('meshbox mounts read-only volumes read-only, recursively'),
});

// The runtime applies capabilities.add (oci-spec.ts); the rest is accepted with a warning so common
// hardened manifests load, and the user learns what does not take effect.
const NOT_APPLIED = 'not applied by meshbox yet; the container runs as the image/host default';
const capabilities = object({ add: array(string()), drop: ignored(NOT_APPLIED, array(string())) });
const containerSecurityContext = object({
  capabilities,
  privileged: ignored(NOT_APPLIED, boolean()),
  runAsUser: integer({ min: 0 }),
  runAsGroup: integer({ min: 0 }),
  runAsNonRoot: ignored(NOT_APPLIED, boolean()),
  readOnlyRootFilesystem: ignored(NOT_APPLIED, boolean()),
  allowPrivilegeEscalation: ignored(NOT_APPLIED, boolean()),
  procMount: ignored(NOT_APPLIED, string()),
  seccompProfile: ignored(NOT_APPLIED),
  seLinuxOptions: ignored(NOT_APPLIED),
  appArmorProfile: ignored(NOT_APPLIED),
  windowsOptions: ignored('meshbox runs Linux containers only'),
});

export const container = object({
  name: required(nonEmptyString(dns1123Label)),
  image: required(nonEmptyString(imageReference)),
  command: array(string()),
  args: array(string()),
  workingDir: string(),
  ports: array(containerPort, {}, uniqueBy('name', 'port name')),
  envFrom: array(envFromSource),
  env: array(envVar),
  resources,
  resizePolicy: ignored('meshbox does not resize containers in place'),
  restartPolicy: oneOf('Always'),
  volumeMounts: array(volumeMount, {}, uniqueBy('mountPath', 'mountPath')),
  volumeDevices: rejected('raw block devices are not supported; use a volumeMount'),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle: object({ postStart: lifecycleHandler, preStop: lifecycleHandler, stopSignal: string() }),
  terminationMessagePath: string(absolutePath),
  terminationMessagePolicy: oneOf('File', 'FallbackToLogsOnError'),
  imagePullPolicy: oneOf('Always', 'IfNotPresent', 'Never'),
  securityContext: containerSecurityContext,
  stdin: boolean(),
  stdinOnce: boolean(),
  tty: boolean(),
});

const keyToPath = object({ key: required(nonEmptyString(configKey)), path: required(nonEmptyString(relativePath)), mode: fileMode });

const SUPPORTED_VOLUMES = ['emptyDir', 'configMap', 'secret', 'hostPath'];
const UNSUPPORTED_VOLUMES = [
  'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi', 'nfs', 'iscsi', 'gitRepo',
  'awsElasticBlockStore', 'gcePersistentDisk', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'fc',
  'flexVolume', 'flocker', 'glusterfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd',
  'scaleIO', 'storageos', 'vsphereVolume', 'image',
];
const unsupportedVolume = (type: string) =>
  rejected(`volume type ${type} is not supported; use one of ${SUPPORTED_VOLUMES.join(', ')}`);

const volume = object(
  {
    name: required(nonEmptyString(dns1123Label)),
    emptyDir: object({ medium: oneOf('', 'Memory'), sizeLimit: quantity() }),
    configMap: object({ name: required(nonEmptyString(dns1123Subdomain)), items: array(keyToPath), defaultMode: fileMode, optional: boolean() }),
    secret: object({ secretName: required(nonEmptyString(dns1123Subdomain)), items: array(keyToPath), defaultMode: fileMode, optional: boolean() }),
    hostPath: object({
      path: required(nonEmptyString(absolutePath)),
      type: oneOf('', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'),
    }),
    ...Object.fromEntries(UNSUPPORTED_VOLUMES.map((t) => [t, unsupportedVolume(t)])),
  },
  exactlyOne([...SUPPORTED_VOLUMES, ...UNSUPPORTED_VOLUMES], 'a volume needs one source'),
);

type Json = Record<string, unknown>;
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.map((x) => (isPlainObject(x) ? x : {})) : []);

/** Container names are unique across containers and initContainers; hostPorts unique in the pod. */
function checkContainerNames(spec: Json, ctx: CheckContext): void {
  const seen = new Map<string, string>();
  const hostPorts = new Map<string, string>();
  for (const list of ['initContainers', 'containers'] as const) {
    objects(spec[list]).forEach((c, i) => {
      if (typeof c.name === 'string') {
        const first = seen.get(c.name);
        if (first) ctx.error([list, i, 'name'], `duplicate container name ${JSON.stringify(c.name)} (first used at ${first})`);
        else seen.set(c.name, `${list}[${i}]`);
      }
      objects(c.ports).forEach((p, j) => {
        if (typeof p.hostPort !== 'number') return;
        const key = `${String(p.protocol ?? 'TCP')}/${p.hostPort}`;
        const first = hostPorts.get(key);
        if (first) ctx.error([list, i, 'ports', j, 'hostPort'], `hostPort ${p.hostPort} is already used by ${first}`);
        else hostPorts.set(key, `${list}[${i}].ports[${j}]`);
      });
    });
  }
}

/** Every volumeMount names a volume of the pod. */
function checkVolumeMounts(spec: Json, ctx: CheckContext): void {
  const volumes = objects(spec.volumes).map((v) => v.name).filter((n): n is string => typeof n === 'string');
  for (const list of ['initContainers', 'containers'] as const) {
    objects(spec[list]).forEach((c, i) => {
      objects(c.volumeMounts).forEach((m, j) => {
        if (typeof m.name !== 'string' || volumes.includes(m.name)) return;
        const close = suggest(m.name, volumes);
        const hint = close ? ` (did you mean ${close}?)` : volumes.length ? ` (volumes: ${volumes.join(', ')})` : '; add it under spec.volumes';
        ctx.error([list, i, 'volumeMounts', j, 'name'], `no volume named ${JSON.stringify(m.name)} in spec.volumes${hint}`);
      });
    });
  }
}

/** Rules Kubernetes applies per container that need the container's role or its siblings. */
function checkContainerRules(spec: Json, ctx: CheckContext): void {
  objects(spec.containers).forEach((c, i) => {
    if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
      ctx.error(['containers', i, 'restartPolicy'], 'only init containers (sidecars) may set restartPolicy; use spec.restartPolicy', 'key');
    }
  });
  for (const list of ['initContainers', 'containers'] as const) {
    objects(spec[list]).forEach((c, i) => {
      for (const probeName of ['livenessProbe', 'startupProbe']) {
        const p = c[probeName];
        if (isPlainObject(p) && typeof p.successThreshold === 'number' && p.successThreshold !== 1) {
          ctx.error([list, i, probeName, 'successThreshold'], `must be 1 for a ${probeName}`);
        }
      }
      const portNames = objects(c.ports).map((p) => p.name).filter((n) => typeof n === 'string');
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const p = c[probeName];
        if (!isPlainObject(p)) continue;
        for (const handler of ['httpGet', 'tcpSocket']) {
          const h = p[handler];
          if (isPlainObject(h) && typeof h.port === 'string' && !portNames.includes(h.port)) {
            ctx.error([list, i, probeName, handler, 'port'], `no container port named ${JSON.stringify(h.port)} in this container; name one under ports or use a number`);
          }
        }
      }
    });
  }
  if (spec.dnsPolicy === 'None') {
    const cfg = spec.dnsConfig;
    if (!isPlainObject(cfg) || !Array.isArray(cfg.nameservers) || cfg.nameservers.length === 0) {
      ctx.error(['dnsConfig', 'nameservers'], 'dnsPolicy None needs dnsConfig.nameservers', 'missing');
    }
  }
}

export const podSpec = object(
  {
    containers: required(array(container, { minItems: 1 })),
    initContainers: array(container),
    ephemeralContainers: rejected('ephemeral containers are not supported; use `meshbox exec`'),
    volumes: array(volume, {}, uniqueBy('name', 'volume name')),
    restartPolicy: oneOf('Always', 'OnFailure', 'Never'),
    terminationGracePeriodSeconds: seconds(0),
    activeDeadlineSeconds: seconds(1),
    dnsPolicy: oneOf('ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'),
    dnsConfig: object({
      nameservers: array(string(ipAddress)),
      searches: array(string()),
      options: array(object({ name: required(nonEmptyString()), value: string() })),
    }),
    hostname: string(dns1123Label),
    subdomain: string(dns1123Label),
    hostAliases: array(object({ ip: required(nonEmptyString(ipAddress)), hostnames: array(string()) })),
    enableServiceLinks: boolean(),
    setHostnameAsFQDN: boolean(),
    shareProcessNamespace: rejected('containers of a pod have separate pid namespaces in meshbox'),
    hostNetwork: rejected("pods always get their own network namespace; publish ports with hostPort instead"),
    hostPID: rejected('pods always get their own pid namespace'),
    hostIPC: rejected('pods always get their own ipc namespace'),
    hostUsers: ignored('meshbox does not use user namespaces'),
    securityContext: ignored('pod-level securityContext is not applied; set it per container', object({
      runAsUser: integer({ min: 0 }),
      runAsGroup: integer({ min: 0 }),
      runAsNonRoot: boolean(),
      fsGroup: integer({ min: 0 }),
      fsGroupChangePolicy: string(),
      supplementalGroups: array(integer({ min: 0 })),
      supplementalGroupsPolicy: string(),
      sysctls: array(object({ name: required(string()), value: required(string()) })),
      seccompProfile: any(),
      seLinuxOptions: any(),
      seLinuxChangePolicy: any(),
      appArmorProfile: any(),
      windowsOptions: any(),
    })),
    readinessGates: rejected('readiness gates need a controller that sets the condition; meshbox has none'),
    resourceClaims: rejected('dynamic resource claims need a device driver'),
    resources: rejected('pod-level resources are not supported; set resources per container'),
    serviceAccountName: ignored('meshbox has no service accounts or API tokens for pods', string()),
    serviceAccount: ignored('meshbox has no service accounts or API tokens for pods', string()),
    automountServiceAccountToken: ignored('meshbox mounts no service account tokens', boolean()),
    imagePullSecrets: ignored('images come from meshbox\'s local image store'),
    nodeName: ignored(SINGLE_MACHINE, string()),
    nodeSelector: ignored(SINGLE_MACHINE, map(string())),
    affinity: ignored(SINGLE_MACHINE),
    tolerations: ignored(SINGLE_MACHINE),
    topologySpreadConstraints: ignored(SINGLE_MACHINE),
    schedulerName: ignored(SINGLE_MACHINE, string()),
    schedulingGates: ignored(SINGLE_MACHINE),
    priorityClassName: ignored(SINGLE_MACHINE, string()),
    priority: ignored(SINGLE_MACHINE, integer()),
    preemptionPolicy: ignored(SINGLE_MACHINE, string()),
    runtimeClassName: ignored('meshbox always runs containers with runc', string()),
    overhead: ignored('meshbox accounts no pod overhead'),
    os: ignored('meshbox runs Linux pods only'),
  },
  checkContainerNames,
  checkVolumeMounts,
  checkContainerRules,
);

/** The pod template of Deployments, ReplicaSets and Jobs. */
export const podTemplateSpec = object({
  metadata: objectMeta(dns1123Subdomain, { nameOptional: true }),
  spec: required(podSpec),
});

export const podSchema = kindSchema(dns1123Subdomain, { spec: required(podSpec) });
