/**
 * The daemon's Kubernetes-shaped REST API over a unix socket (node:http).
 *
 *   /api, /apis, /api/v1, /apis/{group}/{version}, /version       discovery
 *   /api/v1/[namespaces/{ns}/]{plural}[/{name}[/status]]            GET (list, ?watch=true), POST, PUT, PATCH, DELETE
 *   /apis/{group}/{version}/[namespaces/{ns}/]{plural}/...          same, for every kind in api/resources.ts
 *   /api/v1/namespaces/{ns}/pods/{name}/log                          GET (?container=&follow=&tailLines=&previous=)
 *   /api/v1/namespaces/{ns}/pods/{name}/exec                         Upgrade: meshbox.exec.v1 (api-exec-stream.ts)
 *   /apis/meshbox.dev/v1/apply                                       POST {"items": [...], "dryRun": bool}
 *
 * Every failure is answered with a Kubernetes Status (api-status.ts); nothing a client sends can
 * crash the process.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { KubeObject } from '../api/types.js';
import { apiVersionOf, resolveResource, type ResourceType } from '../api/resources.js';
import { describeError, firstMeshboxError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Store, WatchEvent } from '../store/types.js';
import { NotFound } from '../store/errors.js';
import { Admission, storeKey } from './api-admission.js';
import { applyItems } from './api-apply.js';
import { apiGroupList, apiResourceList, apiVersions, versionInfo } from './api-discovery.js';
import { BadRequest, BodyTooLarge, MethodNotAllowed, NotSupported, SocketInUse, UnsupportedMediaType } from './api-errors.js';
import { Channel, encodeFrame, FrameDecoder, type ChannelId, type ExecStatus } from './api-exec-stream.js';
import { mergePatch } from './api-merge-patch.js';
import { NamespaceLifecycle } from './api-namespace-lifecycle.js';
import { parseApiPath, type ApiPath } from './api-paths.js';
import { sendError, sendJson, statusFromError } from './api-status.js';
import { EXEC_PROTOCOL, type AdmitHook, type PodIO, type ValidateHook } from './api-types.js';

export interface ApiServerOptions {
  store: Store;
  admit?: AdmitHook;
  validate?: ValidateHook;
  podIO?: PodIO;
  logger?: Logger;
  /** request bodies above this are refused with 413 (default 3 MiB) */
  maxBodyBytes?: number;
  /** a watcher whose unsent output exceeds this is disconnected and must re-watch (default 16 MiB) */
  maxWatchBacklogBytes?: number;
  /** namespaces that always exist (created at listen); default ["default"] */
  systemNamespaces?: string[];
  /** extra handlers by exact path, e.g. { '/metrics': handler } */
  routes?: Record<string, RequestListener>;
  version?: string;
}

type ResourcePath = Extract<ApiPath, { type: 'resource' }>;

const FRAME_SLICE = 64 * 1024;

export class ApiServer {
  #store: Store;
  #hooks: { admit?: AdmitHook | undefined; validate?: ValidateHook | undefined };
  #podIO: PodIO | undefined;
  #log: Logger;
  #maxBody: number;
  #maxBacklog: number;
  #systemNamespaces: string[];
  #routes: Record<string, RequestListener>;
  #version: string;
  #admission: Admission;
  #namespaces: NamespaceLifecycle;
  #server: Server;
  #sockets = new Set<Socket>();
  #socketPath: string | undefined;

  constructor(opts: ApiServerOptions) {
    this.#store = opts.store;
    this.#hooks = { admit: opts.admit, validate: opts.validate };
    this.#podIO = opts.podIO;
    this.#log = opts.logger ?? silentLogger;
    this.#maxBody = opts.maxBodyBytes ?? 3 * 1024 * 1024;
    this.#maxBacklog = opts.maxWatchBacklogBytes ?? 16 * 1024 * 1024;
    this.#systemNamespaces = opts.systemNamespaces ?? ['default'];
    this.#routes = { ...opts.routes };
    this.#version = opts.version ?? '0.1.0';
    this.#admission = new Admission(this.#store, this.#hooks);
    this.#namespaces = new NamespaceLifecycle(this.#store);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.#upgrade(req, socket, head));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Sets or replaces hooks after construction (the daemon wires them as its parts start). */
  setHooks(hooks: { admit?: AdmitHook; validate?: ValidateHook; podIO?: PodIO }): void {
    if ('admit' in hooks) this.#hooks.admit = hooks.admit;
    if ('validate' in hooks) this.#hooks.validate = hooks.validate;
    if ('podIO' in hooks) this.#podIO = hooks.podIO;
  }

  /** Adds a handler for an exact path (e.g. /metrics). */
  route(path: string, handler: RequestListener): void {
    this.#routes[path] = handler;
  }

  get socketPath(): string | undefined {
    return this.#socketPath;
  }

  async listen(socketPath: string): Promise<void> {
    await removeStaleSocket(socketPath);
    for (const name of this.#systemNamespaces) {
      if (!this.#store.get('namespaces', undefined, name)) {
        this.#store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } });
      }
    }
    this.#namespaces.start();
    // the socket is the daemon's root-only door: only its owner may connect, from the first moment
    // (the pipe is bound synchronously inside listen(), so the umask covers it)
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(socketPath, () => {
          this.#server.off('error', reject);
          resolve();
        });
        process.umask(umask);
      });
    } finally {
      process.umask(umask);
    }
    chmodSync(socketPath, 0o600);
    this.#socketPath = socketPath;
  }

  async close(): Promise<void> {
    this.#namespaces.stop();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    if (this.#server.listening) await closed;
    this.#socketPath = undefined;
  }

  // === request handling ===

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    try {
      const url = requestUrl(req);
      const extra = this.#routes[url.pathname];
      if (extra) {
        extra(req, res);
        return;
      }
      const path = parseApiPath(url.pathname);
      switch (path.type) {
        case 'discovery':
          this.#only(req, url, 'GET');
          sendJson(res, 200, path.what === 'api' ? apiVersions() : path.what === 'apis' ? apiGroupList() : versionInfo(this.#version));
          return;
        case 'group-version':
          this.#only(req, url, 'GET');
          sendJson(res, 200, apiResourceList(path.group, path.version));
          return;
        case 'apply': {
          this.#only(req, url, 'POST');
          const body = await this.#readJson(req, ['application/json']);
          sendJson(res, 200, applyItems(this.#store, this.#admission, body));
          return;
        }
        case 'resource':
          await this.#resource(req, res, url, path);
          return;
      }
    } catch (err) {
      if (BodyTooLarge.is(err)) res.setHeader('connection', 'close');
      const status = sendError(res, err);
      if (status.code >= 500) this.#log.error({ err, method: req.method, url: req.url }, 'api request failed');
    } finally {
      this.#log.debug({ method: req.method, url: req.url, status: res.statusCode, ms: performance.now() - started }, 'api');
    }
  }

  async #resource(req: IncomingMessage, res: ServerResponse, url: URL, path: ResourcePath): Promise<void> {
    const { resource, namespace, name, subresource } = path;
    const key = storeKey(resource);
    const method = req.method ?? 'GET';
    if (subresource === 'log') {
      this.#only(req, url, 'GET');
      await this.#logs(res, url, namespace!, name!);
      return;
    }
    if (subresource === 'exec') {
      throw BadRequest(`exec needs an HTTP/1.1 Upgrade to ${EXEC_PROTOCOL} (use \`meshbox exec\`)`);
    }
    if (name === undefined) {
      if (method === 'GET') {
        const opts = this.#listOptions(url, namespace);
        if (isTrue(url.searchParams.get('watch'))) {
          this.#watch(req, res, url, resource, opts);
          return;
        }
        const list = this.#store.list(key, opts);
        sendJson(res, 200, {
          apiVersion: apiVersionOf(resource),
          kind: `${resource.kind}List`,
          metadata: { resourceVersion: list.resourceVersion },
          items: list.items,
        });
        return;
      }
      if (method === 'POST') {
        const body = await this.#readJson(req, ['application/json']);
        const obj = this.#admission.prepare(resource, body, namespace);
        this.#admission.checkNamespace(resource, obj.metadata.namespace);
        sendJson(res, 201, this.#store.create(key, obj));
        return;
      }
      throw MethodNotAllowed(method, url.pathname);
    }
    switch (method) {
      case 'GET': {
        if (isTrue(url.searchParams.get('watch'))) {
          const opts = this.#listOptions(url, namespace);
          const byName = `metadata.name=${name}`;
          opts.fieldSelector = opts.fieldSelector ? `${opts.fieldSelector},${byName}` : byName;
          this.#watch(req, res, url, resource, opts);
          return;
        }
        sendJson(res, 200, this.#get(resource, namespace, name));
        return;
      }
      case 'PUT': {
        const body = (await this.#readJson(req, ['application/json'])) as KubeObject;
        const existing = this.#get(resource, namespace, name);
        if (typeof body !== 'object' || body === null || body.metadata?.name !== name) {
          throw BadRequest(`the name in the body (${String(body?.metadata?.name)}) does not match the name in the path (${name})`);
        }
        if (subresource === 'status') {
          sendJson(res, 200, this.#store.updateStatus(key, { ...body, metadata: { ...body.metadata, namespace: existing.metadata.namespace! } }));
          return;
        }
        const obj = this.#admission.prepare(resource, body, namespace, existing);
        sendJson(res, 200, this.#store.update(key, obj));
        return;
      }
      case 'PATCH': {
        const patch = await this.#readJson(req, [
          'application/merge-patch+json',
          'application/strategic-merge-patch+json',
        ]);
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
          throw BadRequest('a merge patch must be a JSON object');
        }
        const existing = this.#get(resource, namespace, name);
        const merged = mergePatch(existing, patch) as KubeObject;
        if (merged.metadata?.name !== name || merged.metadata?.namespace !== existing.metadata.namespace) {
          throw BadRequest('a patch cannot change metadata.name or metadata.namespace');
        }
        if (subresource === 'status') {
          sendJson(res, 200, this.#store.updateStatus(key, merged));
          return;
        }
        const obj = this.#admission.prepare(resource, merged, namespace, existing);
        sendJson(res, 200, this.#store.update(key, obj));
        return;
      }
      case 'DELETE': {
        if (subresource) throw MethodNotAllowed(method, url.pathname);
        const body = (await this.#readJson(req, ['application/json'], true)) as
          | { gracePeriodSeconds?: number; preconditions?: { uid?: string } }
          | undefined;
        const opts: { uid?: string; gracePeriodSeconds?: number } = {};
        const uid = body?.preconditions?.uid;
        if (uid) opts.uid = uid;
        const grace = body?.gracePeriodSeconds ?? numberParam(url, 'gracePeriodSeconds');
        if (grace !== undefined) opts.gracePeriodSeconds = grace;
        const deleted =
          resource.kind === 'Namespace'
            ? this.#namespaces.delete(name, opts)
            : this.#store.delete(key, namespace, name, opts);
        if (!deleted) throw NotFound(resource.plural, namespace, name, { details: { name, kind: resource.plural } });
        sendJson(res, 200, deleted);
        return;
      }
      default:
        throw MethodNotAllowed(method, url.pathname);
    }
  }

  #get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.#store.get(storeKey(resource), namespace, name);
    if (!obj) throw NotFound(resource.plural, namespace, name, { details: { name, kind: resource.plural } });
    return obj;
  }

  #listOptions(url: URL, namespace: string | undefined): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    const opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {};
    if (namespace !== undefined) opts.namespace = namespace;
    const l = url.searchParams.get('labelSelector');
    if (l) opts.labelSelector = l;
    const f = url.searchParams.get('fieldSelector');
    if (f) opts.fieldSelector = f;
    return opts;
  }

  #only(req: IncomingMessage, url: URL, method: string): void {
    if (req.method !== method) throw MethodNotAllowed(req.method ?? '?', url.pathname);
  }

  // === watch ===

  #watch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: ResourceType,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): void {
    const key = storeKey(resource);
    const rv = url.searchParams.get('resourceVersion') ?? '';
    let initial: KubeObject[] = [];
    let from = rv;
    // no resourceVersion (or "0"): start with the current state as ADDED events, like Kubernetes
    if (rv === '' || rv === '0') {
      const list = this.#store.list(key, opts);
      initial = list.items;
      from = list.resourceVersion;
    }
    let live = false;
    const backlog: WatchEvent[] = [];
    const send = (type: string, object: unknown): void => {
      if (res.destroyed) return;
      res.write(`${JSON.stringify({ type, object })}\n`);
      if (res.writableLength > this.#maxBacklog) {
        this.#log.warn({ url: req.url }, 'watcher too slow; disconnecting it');
        res.destroy();
      }
    };
    // replayed events arrive synchronously inside watch(), before the headers go out
    const stop = this.#store.watch(key, { ...opts, resourceVersion: from }, (e) => {
      if (live) send(e.type, e.object);
      else backlog.push(e);
    });
    res.on('close', stop);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const obj of initial) send('ADDED', obj);
    for (const e of backlog) send(e.type, e.object);
    live = true;
    const timeout = numberParam(url, 'timeoutSeconds');
    if (timeout !== undefined && timeout > 0) {
      const t = setTimeout(() => res.end(), timeout * 1000);
      res.on('close', () => clearTimeout(t));
    }
  }

  // === logs and exec ===

  async #logs(res: ServerResponse, url: URL, namespace: string, name: string): Promise<void> {
    const podIO = this.#podIO;
    if (!podIO) throw NotSupported('pod logs');
    this.#get(resolveResource('pods')!, namespace, name);
    const opts: Parameters<PodIO['logs']>[2] = { follow: isTrue(url.searchParams.get('follow')) };
    const container = url.searchParams.get('container');
    if (container) opts.container = container;
    const tail = numberParam(url, 'tailLines');
    if (tail !== undefined) opts.tailLines = tail;
    if (isTrue(url.searchParams.get('previous'))) opts.previous = true;
    if (isTrue(url.searchParams.get('timestamps'))) opts.timestamps = true;
    const stream = await podIO.logs(namespace, name, opts);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    res.on('close', () => stream.destroy());
    stream.on('error', (err) => {
      this.#log.warn({ err, namespace, name }, 'log stream failed');
      res.destroy();
    });
    stream.pipe(res);
  }

  async #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let path: ApiPath;
    let url: URL;
    try {
      url = requestUrl(req);
      path = parseApiPath(url.pathname);
      if (path.type !== 'resource' || path.subresource !== 'exec') {
        throw BadRequest(`${url.pathname} does not support an Upgrade; only pods/{name}/exec does`);
      }
      if (req.method !== 'POST' && req.method !== 'GET') throw MethodNotAllowed(req.method ?? '?', url.pathname);
      if ((req.headers.upgrade ?? '').toLowerCase() !== EXEC_PROTOCOL) {
        throw BadRequest(`exec speaks the ${EXEC_PROTOCOL} protocol (Upgrade: ${EXEC_PROTOCOL})`);
      }
      if (!this.#podIO) throw NotSupported('exec');
      this.#get(path.resource, path.namespace, path.name!);
      if (url.searchParams.getAll('command').length === 0) throw BadRequest('exec needs a command (?command=sh&command=-c&command=...)');
    } catch (err) {
      rawError(socket, err);
      return;
    }
    const podIO = this.#podIO;
    const argv = url.searchParams.getAll('command');
    const container = url.searchParams.get('container') || undefined;
    const wantStdin = isTrue(url.searchParams.get('stdin'));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${EXEC_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
    socket.setNoDelay(true);

    const stdin = wantStdin ? new PassThrough() : undefined;
    const abort = new AbortController();
    const decoder = new FrameDecoder();
    const onData = (chunk: Buffer): void => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.channel === Channel.stdin) stdin?.write(Buffer.from(f.payload));
          else if (f.channel === Channel.closeStdin) stdin?.end();
        }
      } catch (err) {
        this.#log.warn({ err }, 'bad exec frame; closing the stream');
        socket.destroy();
      }
    };
    if (head.length > 0) onData(head);
    socket.on('data', onData);
    let done = false;
    socket.once('close', () => {
      stdin?.end();
      if (!done) abort.abort();
    });
    const stdout = frameWriter(socket, Channel.stdout);
    const stderr = frameWriter(socket, Channel.stderr);
    let status: ExecStatus;
    try {
      const io: Parameters<PodIO['exec']>[4] = { stdout, stderr, signal: abort.signal };
      if (stdin) io.stdin = stdin;
      status = { exitCode: await podIO.exec(path.namespace!, path.name!, container, argv, io) };
    } catch (err) {
      const mbx = firstMeshboxError(err);
      status = { error: describeError(err), ...(mbx ? { code: mbx.code } : {}) };
    }
    done = true;
    // every stdout/stderr byte goes out before the status frame
    for (const w of [stdout, stderr]) {
      if (!w.writableEnded) w.end();
      await finished(w).catch(() => undefined);
    }
    if (!socket.destroyed) socket.end(encodeFrame(Channel.status, JSON.stringify(status)));
  }

  // === bodies ===

  async #readJson(req: IncomingMessage, types: string[], optional = false): Promise<unknown> {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.#maxBody) throw BodyTooLarge(this.#maxBody);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.#maxBody) throw BodyTooLarge(this.#maxBody);
      chunks.push(chunk);
    }
    if (size === 0) {
      if (optional) return undefined;
      throw BadRequest('the request needs a JSON body');
    }
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (!types.includes(type)) throw UnsupportedMediaType(type, types.join(' or '));
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      throw BadRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
}

function frameWriter(socket: Socket, channel: ChannelId): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb();
      let ok = true;
      for (let off = 0; off < chunk.length; off += FRAME_SLICE) {
        ok = socket.write(encodeFrame(channel, chunk.subarray(off, off + FRAME_SLICE)));
      }
      if (ok) cb();
      else {
        const go = (): void => {
          socket.off('close', go);
          socket.off('drain', go);
          cb();
        };
        socket.once('drain', go);
        socket.once('close', go);
      }
    },
  });
}

function rawError(socket: Socket, err: unknown): void {
  const status = statusFromError(err);
  const body = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${status.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The request URL; a path like "//x" is a path here, not a host. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(`http://localhost${(req.url ?? '/').startsWith('/') ? '' : '/'}${req.url ?? ''}`);
  } catch {
    throw BadRequest(`malformed request target ${JSON.stringify(req.url)}`);
  }
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function numberParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw BadRequest(`query parameter ${name} must be a non-negative integer, not "${v}"`);
  return n;
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw SocketInUse(path, { details: { reason: 'not a socket' } });
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw SocketInUse(path);
  unlinkSync(path);
}
