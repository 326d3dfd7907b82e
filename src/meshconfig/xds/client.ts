/**
 * The proxy's end of the config stream: connects (unix socket or TCP), says hello with its node and
 * per-pod token, applies each pushed batch as one validated snapshot, ACKs or NACKs every push, and
 * reconnects with exponential back-off and jitter. The last good snapshot stays with the proxy while
 * the control plane is away; a NACKed batch leaves it untouched.
 *
 *   const client = new XdsClient({ target: { path: '/run/meshbox/xds.sock' }, node, token,
 *                                  onSnapshot: (s) => proxy.swap(s) });   // throw to NACK
 *   client.start(); ... await client.close();
 */
import { connect, type Socket } from 'node:net';
import { backoffDelay, type BackoffOptions } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/silent-logger.js';
import { validateSnapshot } from '../validate-snapshot.js';
import type { NodeInfo, Snapshot } from '../types.js';
import { onFrames, writeFrame } from './codec.js';
import {
  PROTOCOL_VERSION,
  RESOURCE_TYPES,
  assembleSnapshot,
  type PushMessage,
  type RefusedMessage,
  type ResourceType,
  type WireResource,
} from './protocol.js';

export type XdsTarget = { path: string } | { host: string; port: number };

export interface XdsClientOptions {
  target: XdsTarget;
  node: NodeInfo;
  token: string;
  /** called with a validated snapshot; throw to reject it (the batch is NACKed with the message) */
  onSnapshot: (snapshot: Snapshot) => void | Promise<void>;
  /** the server refused us (bad credential); the client keeps retrying with back-off */
  onRefused?: (code: string, message: string) => void;
  backoff?: BackoffOptions;
  log?: Logger;
}

type State = Record<ResourceType, Map<string, WireResource>>;

function emptyState(): State {
  return { clusters: new Map(), endpoints: new Map(), listeners: new Map(), routes: new Map() };
}

export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #log: Logger;
  #socket: Socket | undefined;
  #good: State = emptyState();
  #ackedVersions: Record<ResourceType, string> = { clusters: '', endpoints: '', listeners: '', routes: '' };
  #batch: PushMessage[] = [];
  #last: Snapshot | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #connected = false;
  #applying: Promise<void> = Promise.resolve();
  #lastError: string | undefined;
  #waiters: { pred: (c: XdsClient) => boolean; resolve: () => void }[] = [];

  constructor(opts: XdsClientOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).child({ component: 'xds-client' });
  }

  /** The last snapshot applied (kept across disconnects). */
  get snapshot(): Snapshot | undefined {
    return this.#last;
  }
  get connected(): boolean {
    return this.#connected;
  }
  get ackedVersions(): Readonly<Record<ResourceType, string>> {
    return this.#ackedVersions;
  }
  /** The last NACK's error (cleared by the next ACK). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  start(): void {
    if (this.#closed || this.#socket) return;
    const t = this.#opts.target;
    const socket = 'path' in t ? connect(t.path) : connect(t.port, t.host);
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#attempt = 0;
      this.#batch = [];
      writeFrame(socket, { t: 'hello', protocol: PROTOCOL_VERSION, node: this.#opts.node, token: this.#opts.token });
      this.#notify();
    });
    onFrames(socket, (msg) => this.#onMessage(socket, msg as PushMessage | RefusedMessage));
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'config stream error'));
    socket.on('close', () => {
      this.#connected = false;
      this.#socket = undefined;
      this.#notify();
      if (this.#closed) return;
      const delay = backoffDelay(this.#attempt++, this.#opts.backoff ?? { initialMs: 100, maxMs: 15_000, jitter: 0.5 });
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.start();
      }, delay);
      this.#timer.unref?.();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const s = this.#socket;
    if (s && !s.destroyed) await new Promise<void>((resolve) => s.once('close', () => resolve()).destroy());
  }

  /** Resolves when `pred` holds (tests). */
  waitFor(pred: (c: XdsClient) => boolean, timeoutMs = 5000): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the config stream')), timeoutMs);
      this.#waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  #notify(): void {
    this.#waiters = this.#waiters.filter((w) => (w.pred(this) ? (w.resolve(), false) : true));
  }

  #onMessage(socket: Socket, msg: PushMessage | RefusedMessage): void {
    if (msg.t === 'refused') {
      this.#log.warn({ code: msg.code }, msg.message);
      this.#opts.onRefused?.(msg.code, msg.message);
      return;
    }
    if (msg.t !== 'push' || !RESOURCE_TYPES.includes(msg.type)) return;
    this.#batch.push(msg);
    if (!msg.last) return;
    const batch = this.#batch;
    this.#batch = [];
    // Batches apply one at a time, in order, even when onSnapshot is async.
    this.#applying = this.#applying.then(() => this.#apply(socket, batch));
  }

  async #apply(socket: Socket, batch: PushMessage[]): Promise<void> {
    const candidate: State = { ...this.#good };
    for (const p of batch) {
      const m = p.full ? new Map<string, WireResource>() : new Map(candidate[p.type]);
      for (const name of p.removed) m.delete(name);
      for (const r of p.resources) m.set(r.name, r);
      candidate[p.type] = m;
    }
    const version = batch[batch.length - 1]?.version ?? '';
    let error: string | undefined;
    const v = validateSnapshot(assembleSnapshot(version, candidate));
    if (!v.snapshot) {
      error = `snapshot ${version} is invalid (${v.issues.length} issue${v.issues.length === 1 ? '' : 's'}): ` + v.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    } else {
      try {
        await this.#opts.onSnapshot(v.snapshot);
      } catch (err) {
        error = `the proxy rejected snapshot ${version}: ${(err as Error).message}`;
      }
    }
    if (error === undefined) {
      this.#good = candidate;
      this.#last = v.snapshot;
      this.#lastError = undefined;
      for (const p of batch) this.#ackedVersions[p.type] = p.version;
    } else {
      this.#lastError = error;
      this.#log.warn({ version }, error);
    }
    if (!socket.destroyed) {
      for (const p of batch) {
        writeFrame(
          socket,
          error === undefined
            ? { t: 'ack', type: p.type, version: p.version, nonce: p.nonce }
            : { t: 'nack', type: p.type, version: this.#ackedVersions[p.type], nonce: p.nonce, error },
        );
      }
    }
    this.#notify();
  }
}
