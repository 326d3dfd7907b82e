/**
 * The control plane's end of the config stream (protocol: meshconfig/xds/protocol.ts and
 * docs/design/control-plane.md). A reconciler per proxy: desired = the parts the control plane set
 * with `update()`, actual = what the proxy last ACKed. It pushes the delta between them as one batch
 * (clusters → endpoints → listeners → routes), waits for every ACK/NACK of that batch, then pushes
 * again if the desired config moved meanwhile (so a slow proxy gets one coalesced delta, never a
 * queue). After a NACK the proxy keeps its last good config, the server keeps the error for
 * `status()`, and nothing is resent until the desired config changes again.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { describeError, MeshboxError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { onFrames, writeFrame } from '../../meshconfig/xds/codec.js';
import {
  PROTOCOL_VERSION,
  RESOURCE_TYPES,
  type AckMessage,
  type ClientMessage,
  type HelloMessage,
  type NackMessage,
  type ResourceType,
} from '../../meshconfig/xds/protocol.js';
import { ProtocolViolation } from '../errors.js';
import { countResources, diffParts, diffPartsList, type Delta, type ProxyResources } from './resource-parts.js';

export interface ProxyIdentity {
  proxyId: string;
  kind: 'sidecar' | 'gateway';
  /** "namespace/name" of the pod (sidecars) or gateway */
  workload: string;
}

export interface PushServerOptions {
  /** checks the hello (node id + token); throw to refuse the proxy */
  authorize(hello: HelloMessage): ProxyIdentity;
  /** a proxy is connected and authorised: call update() for it */
  onConnect?(id: ProxyIdentity): void;
  onDisconnect?(id: ProxyIdentity): void;
  /** every push of a batch was ACKed (version is the batch's), or NACKed (error set) */
  onBatchDone?(id: ProxyIdentity, version: string, error: string | undefined): void;
  log?: Logger;
  now?: () => number;
  /** a hello must arrive within this (default 10 s) */
  helloTimeoutMs?: number;
}

import type { ProxyStreamStatus, SyncState, TypeStatus } from '../../meshconfig/xds/status.js';
export type { ProxyStreamStatus, SyncState, TypeStatus };

interface Inflight {
  version: string;
  res: ProxyResources;
  nonces: Map<string, ResourceType>;
  full: boolean;
  errors: Partial<Record<ResourceType, string>>;
}

interface ProxyConn {
  id: ProxyIdentity;
  socket: Socket;
  connectedAt: number;
  desired: { version: string; res: ProxyResources } | undefined;
  acked: { versions: Record<ResourceType, string>; res: Partial<ProxyResources> };
  needsFull: boolean;
  inflight: Inflight | undefined;
  nackedVersion: string | undefined;
  nackedTypes: Set<ResourceType>;
  lastNack: ProxyStreamStatus['lastNack'];
}

const deltaPayload = new WeakMap<Delta, Buffer>();

/** The resources of a delta as one JSON fragment, encoded once and written to every proxy that needs it. */
function payload(d: Delta): Buffer {
  let b = deltaPayload.get(d);
  if (b === undefined) {
    b = Buffer.from(d.upserts.map((u) => u.json).join(','));
    deltaPayload.set(d, b);
  }
  return b;
}

function samePartList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class PushServer {
  readonly #opts: PushServerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #proxies = new Map<string, ProxyConn>();
  readonly #sockets = new Set<Socket>();
  #nonce = 0;
  #batch = 0;
  #path: string | undefined;

  constructor(opts: PushServerOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).child({ component: 'push-server' });
    this.#now = opts.now ?? Date.now;
    this.#server = createServer((s) => this.#accept(s));
  }

  /** Listens on a unix socket path (mode 0666: pods reach it through a mount; tokens protect it) or TCP. */
  listen(target: { path: string } | { host: string; port: number }): Promise<string | AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      const done = (): void => {
        this.#server.off('error', reject);
        if ('path' in target) chmodSync(target.path, 0o666);
        resolve(this.#server.address() as string | AddressInfo);
      };
      if ('path' in target) {
        rmSync(target.path, { force: true });
        this.#path = target.path;
        this.#server.listen(target.path, done);
      } else this.#server.listen(target.port, target.host, done);
    });
  }

  connected(): ProxyIdentity[] {
    return [...this.#proxies.values()].map((p) => p.id);
  }

  isConnected(proxyId: string): boolean {
    return this.#proxies.has(proxyId);
  }

  /** Sets a connected proxy's desired config; pushes the delta when the proxy is idle. */
  update(proxyId: string, version: string, res: ProxyResources): void {
    const p = this.#proxies.get(proxyId);
    if (!p) return;
    // Unchanged parts: the proxy's desired config (and its version) stay as they are.
    if (p.desired && RESOURCE_TYPES.every((t) => samePartList(p.desired!.res[t], res[t]))) return;
    p.desired = { version, res };
    this.#maybePush(p);
  }

  status(): ProxyStreamStatus[] {
    return [...this.#proxies.values()].map((p) => {
      const types = {} as Record<ResourceType, TypeStatus>;
      for (const t of RESOURCE_TYPES) {
        const acked = p.acked.res[t];
        const wanted = p.desired?.res[t];
        let state: SyncState = acked === undefined ? 'NOT SENT' : 'SYNCED';
        if (p.nackedVersion !== undefined && p.nackedVersion === p.desired?.version && p.nackedTypes.has(t)) state = 'NACKED';
        else if (acked && wanted && diffParts(acked, wanted).upserts.length + diffParts(acked, wanted).removed.length > 0) state = 'STALE';
        types[t] = { state, acked: p.acked.versions[t], resources: countResources(acked) };
      }
      return {
        proxyId: p.id.proxyId,
        kind: p.id.kind,
        workload: p.id.workload,
        connectedAt: p.connectedAt,
        desiredVersion: p.desired?.version ?? '',
        types,
        ...(p.lastNack ? { lastNack: p.lastNack } : {}),
      };
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#path) rmSync(this.#path, { force: true });
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    let conn: ProxyConn | undefined;
    const helloTimer = setTimeout(() => socket.destroy(), this.#opts.helloTimeoutMs ?? 10_000);
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'proxy stream error'));
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.#sockets.delete(socket);
      if (conn && this.#proxies.get(conn.id.proxyId) === conn) {
        this.#proxies.delete(conn.id.proxyId);
        this.#opts.onDisconnect?.(conn.id);
      }
    });
    onFrames(socket, (raw) => {
      const msg = raw as ClientMessage;
      try {
        if (!conn) {
          if (msg.t !== 'hello') throw ProtocolViolation(`first frame must be hello, got ${JSON.stringify(msg.t)}`);
          clearTimeout(helloTimer);
          if (msg.protocol !== PROTOCOL_VERSION) throw ProtocolViolation(`protocol ${msg.protocol} is not ${PROTOCOL_VERSION}`);
          const id = this.#opts.authorize(msg);
          conn = this.#register(id, socket);
          this.#opts.onConnect?.(id);
          return;
        }
        if (msg.t === 'ack' || msg.t === 'nack') this.#onReply(conn, msg);
        else throw ProtocolViolation(`unexpected frame ${JSON.stringify(msg.t)}`);
      } catch (err) {
        const e = err instanceof MeshboxError ? err : ProtocolViolation(describeError(err));
        this.#log.warn({ code: e.code }, e.message);
        writeFrame(socket, { t: 'refused', code: e.code, message: e.message });
        socket.end();
      }
    });
  }

  #register(id: ProxyIdentity, socket: Socket): ProxyConn {
    const old = this.#proxies.get(id.proxyId);
    if (old) old.socket.destroy(); // the newest stream of a proxy wins (it restarted or reconnected)
    const conn: ProxyConn = {
      id,
      socket,
      connectedAt: this.#now(),
      desired: undefined,
      acked: { versions: { clusters: '', endpoints: '', listeners: '', routes: '' }, res: {} },
      needsFull: true,
      inflight: undefined,
      nackedVersion: undefined,
      nackedTypes: new Set(),
      lastNack: undefined,
    };
    this.#proxies.set(id.proxyId, conn);
    return conn;
  }

  #maybePush(p: ProxyConn): void {
    if (p.inflight || !p.desired || p.socket.destroyed) return;
    const { version, res } = p.desired;
    if (p.nackedVersion === version) return;
    const msgs: { type: ResourceType; deltas: Delta[] }[] = [];
    for (const type of RESOURCE_TYPES) {
      const deltas = diffPartsList(p.needsFull ? undefined : p.acked.res[type], res[type]);
      if (p.needsFull || deltas.length > 0) msgs.push({ type, deltas });
    }
    if (msgs.length === 0) return;
    const batch = (++this.#batch).toString(36);
    const inflight: Inflight = { version, res, nonces: new Map(), full: p.needsFull, errors: {} };
    p.inflight = inflight;
    const socket = p.socket;
    socket.cork();
    msgs.forEach(({ type, deltas }, i) => {
      const nonce = (++this.#nonce).toString(36);
      inflight.nonces.set(nonce, type);
      const removed = deltas.flatMap((d) => d.removed);
      // Envelope fields first: light clients (the bench) read them without parsing the resources.
      socket.write(
        `{"t":"push","nonce":"${nonce}","type":"${type}","version":${JSON.stringify(version)},"batch":"${batch}","last":${i === msgs.length - 1},"full":${p.needsFull},"removed":${JSON.stringify(removed)},"resources":[`,
      );
      let first = true;
      for (const d of deltas) {
        if (d.upserts.length === 0) continue;
        if (!first) socket.write(',');
        socket.write(payload(d)); // shared Buffer: queued by reference, not copied per proxy
        first = false;
      }
      socket.write(']}\n');
    });
    process.nextTick(() => socket.uncork());
  }

  #onReply(p: ProxyConn, msg: AckMessage | NackMessage): void {
    const inflight = p.inflight;
    const type = inflight?.nonces.get(msg.nonce);
    // A reply to an old nonce (a batch we no longer wait for) is stale: xDS ignores it.
    if (!inflight || type === undefined || type !== msg.type) return;
    inflight.nonces.delete(msg.nonce);
    if (msg.t === 'ack') {
      p.acked.res[type] = inflight.res[type];
      p.acked.versions[type] = msg.version;
    } else {
      inflight.errors[type] = String(msg.error ?? 'no detail');
      p.lastNack = { version: inflight.version, type, error: inflight.errors[type]!, at: this.#now() };
    }
    if (inflight.nonces.size > 0) return;
    p.inflight = undefined;
    const errors = Object.values(inflight.errors);
    if (errors.length === 0) {
      if (inflight.full) p.needsFull = false;
      p.nackedVersion = undefined;
      // Types not in the batch were unchanged: the proxy now runs the desired parts for them too.
      for (const t of RESOURCE_TYPES) p.acked.res[t] = inflight.res[t];
    } else {
      p.nackedVersion = inflight.version;
      p.nackedTypes = new Set(Object.keys(inflight.errors) as ResourceType[]);
      this.#log.warn({ proxy: p.id.proxyId, version: inflight.version, error: errors[0] }, 'proxy rejected config; it keeps its last good config');
    }
    this.#opts.onBatchDone?.(p.id, inflight.version, errors[0]);
    this.#maybePush(p);
  }
}
