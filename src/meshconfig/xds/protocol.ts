/**
 * The config stream between the control plane and a proxy, modelled on Envoy's ADS
 * (docs/design/control-plane.md is the reference):
 *
 *   proxy → server   {"t":"hello","protocol":1,"node":{...},"token":"..."}
 *   server → proxy   {"t":"push","nonce","type","version","batch","last","full","removed":[..],"resources":[{name,hash,body}]}
 *   proxy → server   {"t":"ack","type","version","nonce"}  |  {"t":"nack","type","version"(previous),"nonce","error"}
 *   server → proxy   {"t":"refused","code","message"}  then the server closes
 *
 * Frames are newline-delimited JSON (codec.ts). A batch is a run of pushes, one per changed type,
 * in make-before-break order clusters → endpoints → listeners → routes, the last flagged `last`;
 * the proxy applies the whole batch as one snapshot swap (or rejects it whole), then ACKs or NACKs
 * every push of the batch. Pushes carry only changed resources (by name and hash) and the names
 * removed; `full` starts that type from empty (the first batch on a connection).
 */
import { createHash } from 'node:crypto';
import type { Cluster, Endpoint, Listener, NodeInfo, RouteConfig, Snapshot, VirtualHost } from '../types.js';

export const PROTOCOL_VERSION = 1;
export const RESOURCE_TYPES = ['clusters', 'endpoints', 'listeners', 'routes'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export interface HelloMessage {
  t: 'hello';
  protocol: number;
  node: NodeInfo;
  token: string;
}

export interface WireResource {
  name: string;
  hash: string;
  body: unknown;
}

export interface PushMessage {
  t: 'push';
  nonce: string;
  type: ResourceType;
  version: string;
  batch: string;
  last: boolean;
  full: boolean;
  removed: string[];
  resources: WireResource[];
}

export interface AckMessage {
  t: 'ack';
  type: ResourceType;
  version: string;
  nonce: string;
}

export interface NackMessage {
  t: 'nack';
  type: ResourceType;
  /** the version the proxy keeps running (its last ACKed one, "" if none) */
  version: string;
  nonce: string;
  error: string;
}

export interface RefusedMessage {
  t: 'refused';
  code: string;
  message: string;
}

export type ClientMessage = HelloMessage | AckMessage | NackMessage;
export type ServerMessage = PushMessage | RefusedMessage;

/** Route configs travel as a header (the ordered virtual host names) plus one resource per virtual host (Envoy's VHDS idea). */
export interface RouteConfigHeader {
  kind: 'routeConfig';
  name: string;
  virtualHosts: string[];
}
export interface VirtualHostResource {
  kind: 'virtualHost';
  routeConfig: string;
  virtualHost: VirtualHost;
}
export interface EndpointsResource {
  cluster: string;
  endpoints: Endpoint[];
}

/** A resource with its serialised form, computed once and shared by every proxy that gets it. */
export interface EncodedResource {
  name: string;
  hash: string;
  /** JSON of the body alone (compared to find unchanged resources without hashing) */
  bodyJson: string;
  /** JSON of the WireResource {name, hash, body} */
  json: string;
}

export interface NamedBody {
  name: string;
  body: unknown;
}

/** Encodes a resource; `previous` with the same body JSON is returned as is (no hashing, shared strings). */
export function encodeResource(name: string, body: unknown, previous?: EncodedResource): EncodedResource {
  const known = typeof body === 'object' && body !== null ? ENCODED.get(body) : undefined;
  if (known && known.name === name) return previous && previous.hash === known.hash ? previous : known;
  const bodyJson = JSON.stringify(body);
  let enc: EncodedResource;
  if (previous && previous.bodyJson === bodyJson) enc = previous;
  else {
    const hash = createHash('sha1').update(bodyJson).digest('base64url').slice(0, 16);
    enc = { name, hash, bodyJson, json: `{"name":${JSON.stringify(name)},"hash":"${hash}","body":${bodyJson}}` };
  }
  if (typeof body === 'object' && body !== null) ENCODED.set(body, enc);
  return enc;
}

export function virtualHostResourceName(routeConfig: string, vh: string): string {
  return `${routeConfig}/${vh}`;
}

// Wrappers per source object: a config object that is reused across generations keeps the same
// wire bodies, so their encoding (encodeResource) is found by identity instead of re-serialised.
const CLUSTER_BODIES = new WeakMap<Cluster, [NamedBody, NamedBody]>();
const VHOST_BODIES = new WeakMap<VirtualHost, Map<string, NamedBody>>();
const ENCODED = new WeakMap<object, EncodedResource>();

/** Splits a (partial) snapshot into named resources per type. */
export function snapshotResources(s: Pick<Snapshot, 'listeners' | 'routes' | 'clusters'>): Record<ResourceType, NamedBody[]> {
  const out: Record<ResourceType, NamedBody[]> = { clusters: [], endpoints: [], listeners: [], routes: [] };
  for (const c of s.clusters) {
    let pair = CLUSTER_BODIES.get(c);
    if (!pair) {
      const { endpoints, ...rest } = c;
      pair = [
        { name: c.name, body: { ...rest, endpoints: [] } satisfies Cluster },
        { name: c.name, body: { cluster: c.name, endpoints } satisfies EndpointsResource },
      ];
      CLUSTER_BODIES.set(c, pair);
    }
    out.clusters.push(pair[0]);
    out.endpoints.push(pair[1]);
  }
  for (const l of s.listeners) out.listeners.push({ name: l.name, body: l satisfies Listener });
  for (const rc of s.routes) {
    out.routes.push({ name: rc.name, body: { kind: 'routeConfig', name: rc.name, virtualHosts: rc.virtualHosts.map((v) => v.name) } satisfies RouteConfigHeader });
    for (const vh of rc.virtualHosts) {
      let byRc = VHOST_BODIES.get(vh);
      if (!byRc) VHOST_BODIES.set(vh, (byRc = new Map()));
      let nb = byRc.get(rc.name);
      if (!nb) {
        nb = { name: virtualHostResourceName(rc.name, vh.name), body: { kind: 'virtualHost', routeConfig: rc.name, virtualHost: vh } satisfies VirtualHostResource };
        byRc.set(rc.name, nb);
      }
      out.routes.push(nb);
    }
  }
  return out;
}

/** The proxy side: resources per type (name → body) back into a Snapshot. */
export function assembleSnapshot(version: string, state: Record<ResourceType, Map<string, WireResource>>): Snapshot {
  const clusters: Cluster[] = [];
  for (const r of state.clusters.values()) {
    const c = r.body as Cluster;
    const eps = state.endpoints.get(r.name)?.body as EndpointsResource | undefined;
    clusters.push({ ...c, endpoints: eps?.endpoints ?? [] });
  }
  const listeners = [...state.listeners.values()].map((r) => r.body as Listener);
  const routes: RouteConfig[] = [];
  for (const r of state.routes.values()) {
    const body = r.body as RouteConfigHeader | VirtualHostResource;
    if (body.kind !== 'routeConfig') continue;
    const virtualHosts: VirtualHost[] = [];
    for (const vhName of body.virtualHosts) {
      const vh = state.routes.get(virtualHostResourceName(body.name, vhName))?.body as VirtualHostResource | undefined;
      // A missing virtual host makes the snapshot fail validation below rather than silently losing routes.
      virtualHosts.push(vh?.virtualHost ?? ({ name: vhName, domains: [], routes: [] } as VirtualHost));
    }
    routes.push({ name: body.name, virtualHosts });
  }
  return { version, listeners, routes, clusters };
}
