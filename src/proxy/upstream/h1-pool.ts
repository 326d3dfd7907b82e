/**
 * HTTP/1.1 keep-alive connection pool to one upstream endpoint, parsing responses with Node's
 * built-in llhttp binding (the C++ parser node:http itself uses).
 *
 * Why not undici's Pool: it brings its own llhttp compiled to WebAssembly plus its dispatcher
 * machinery, ~12 MB RSS per sidecar (a quarter of issue 4's 50 MB bar) and more CPU per request
 * than the proxy's own work. This pool keeps undici's legacy dispatch-handler contract (onConnect,
 * onHeaders, onData, onComplete, onError; `false` from onHeaders/onData pauses the socket until
 * `resume()`), so the exchange's Attempt is the handler, with no wrapper object per request.
 *
 *   const pool = new H1Pool({ host, port, maxConnections, connectTimeoutMs, keepAliveMs, maxRequestsPerConnection, stats });
 *   pool.request(handler, method, path, headers, body);   // body: null or a readable stream
 *   await pool.close();   // graceful: in-flight and queued requests finish
 *   await pool.destroy(); // everything fails now
 *
 * Per request it allocates the request head string and nothing else of its own: the abort and
 * resume functions belong to the connection (one request at a time, pipelining 1).
 */
import net from 'node:net';
import { createParser, type LlhttpCallbacks, type LlhttpParser } from '../llhttp-binding.js';

/** The dispatch handler (undici's legacy shape); raw headers are latin1 strings [k, v, k, v…]. */
export interface H1Handler {
  onConnect(abort: (reason?: unknown) => void): void;
  onHeaders(status: number, rawHeaders: string[], resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  /**
   * The response ended. `last`: the final body chunk of a content-length body, held back from
   * onData so the handler can end its own response with it (one write and no extra flush).
   */
  onComplete(trailers: string[] | null, last?: Buffer): void;
  onError(err: Error): void;
}

export type H1Headers = Record<string, string | string[] | undefined>;

export interface H1PoolOptions {
  host: string;
  port: number;
  /** busy connections at most; further requests queue (null: unlimited) */
  maxConnections: number | null;
  connectTimeoutMs: number;
  /** idle keep-alive connections close after this (shortened by the upstream's keep-alive hint) */
  keepAliveMs: number;
  /** 0: unlimited */
  maxRequestsPerConnection: number;
  /** Envoy's cx_active / cx_total, kept on the endpoint's state */
  stats?: { cxActive: number; cxTotal: number };
}

type Parser = LlhttpParser<H1Connection>;

/** An error with undici's codes, so the exchange classifies failures as before (connect vs reset). */
export class UpstreamSocketError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'UpstreamSocketError';
    this.code = code;
  }
}

const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);
/** A header value or name that would split the request head (CR, LF, NUL). */
const UNSAFE = /[\r\n\0]/;
const PARSE_ERROR_CODE = 'UND_ERR_SOCKET';

// === parser callbacks: `this` is the parser, the connection hangs off it ===

function onParserHeaders(this: Parser, headers: string[]): void {
  const c = this.conn;
  c.rawHeaders = c.rawHeaders === undefined ? headers : c.rawHeaders.concat(headers);
}

function onParserHeadersComplete(
  this: Parser,
  _major: number,
  _minor: number,
  headers: string[] | undefined,
  _method: unknown,
  _url: unknown,
  status: number,
  _statusMessage: string,
  _upgrade: boolean,
  keepAlive: boolean,
): number {
  const c = this.conn;
  const raw = headers ?? c.rawHeaders ?? [];
  c.rawHeaders = undefined;
  if (status < 200) {
    // 1xx (100 Continue, 103 Early Hints): informational, the final response follows.
    return 0;
  }
  if (c.handler === undefined) {
    // A response nobody asked for (bytes on an idle connection): the connection is unusable.
    c.destroy();
    return 1;
  }
  c.inBody = true;
  c.keepAlive = keepAlive;
  c.bodyLeft = -1;
  // Honour the upstream's keep-alive hint (minus a second) so we never reuse a connection the
  // server is about to close; note a content-length so the last chunk can be recognised.
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i] as string;
    if (k.length === 10 && k.toLowerCase() === 'keep-alive') c.applyKeepAliveHint(raw[i + 1] as string);
    else if (k.length === 14 && k.toLowerCase() === 'content-length') c.bodyLeft = Number(raw[i + 1]);
  }
  if (c.isHead || status === 204 || status === 304 || !(c.bodyLeft > 0)) c.bodyLeft = -1;
  if (!(c.handler as H1Handler).onHeaders(status, raw, c.resume)) c.socket.pause();
  // 1: no body follows (HEAD), whatever the framing headers say.
  return c.isHead ? 1 : 0;
}

function onParserBody(this: Parser, chunk: Buffer): void {
  const c = this.conn;
  if (c.bodyLeft > 0) {
    c.bodyLeft -= chunk.length;
    // llhttp completes the message right after its last byte, in this same execute().
    if (c.bodyLeft === 0) {
      c.tail = chunk;
      return;
    }
  }
  const h = c.handler;
  if (h !== undefined && !h.onData(chunk)) c.socket.pause();
}

function onParserMessageComplete(this: Parser): void {
  const c = this.conn;
  if (!c.inBody) return; // the end of a 1xx
  c.inBody = false;
  const trailers = c.rawHeaders !== undefined && c.rawHeaders.length > 0 ? c.rawHeaders : null;
  c.rawHeaders = undefined;
  c.responseComplete(trailers);
}

function onSocketData(this: net.Socket, chunk: Buffer): void {
  const c = (this as SocketWithConn)[kConn];
  let r: number | Error;
  try {
    r = c.parser.execute(chunk);
  } catch (err) {
    r = err as Error;
  }
  if (typeof r !== 'number') c.fail(new UpstreamSocketError(`invalid HTTP response from upstream: ${(r as Error).message}`, PARSE_ERROR_CODE));
}

function onSocketEnd(this: net.Socket): void {
  const c = (this as SocketWithConn)[kConn];
  // A body delimited by the end of the connection completes here.
  if (c.handler !== undefined && c.inBody) c.parser.finish();
  this.end();
}

function onSocketError(this: net.Socket, err: Error): void {
  (this as SocketWithConn)[kConn].lastError = err;
}

function onSocketClose(this: net.Socket): void {
  (this as SocketWithConn)[kConn].closed();
}

function onSocketConnect(this: net.Socket): void {
  (this as SocketWithConn)[kConn].connected();
}

function onConnectTimeout(c: H1Connection): void {
  c.connectTimer = undefined;
  c.fail(new UpstreamSocketError(`connect timeout after ${c.pool.connectTimeoutMs}ms`, 'UND_ERR_CONNECT_TIMEOUT'));
}

const PARSER_CALLBACKS = {
  onHeaders: onParserHeaders,
  onHeadersComplete: onParserHeadersComplete,
  onBody: onParserBody,
  onMessageComplete: onParserMessageComplete,
} as LlhttpCallbacks<H1Connection>;

const kConn = Symbol('meshbox.h1conn');
type SocketWithConn = net.Socket & { [kConn]: H1Connection };

class H1Connection {
  readonly pool: H1Pool;
  readonly socket: net.Socket;
  readonly parser: Parser;
  handler: H1Handler | undefined = undefined;
  rawHeaders: string[] | undefined = undefined;
  inBody = false;
  /** bytes of a content-length body still to come; -1 when not counted */
  bodyLeft = -1;
  tail: Buffer | undefined = undefined;
  keepAlive = true;
  isHead = false;
  /** the request body is still being written */
  sendingBody = false;
  body: NodeJS.ReadableStream | null = null;
  bodyRemaining = -1;
  chunked = false;
  isConnected = false;
  requests = 0;
  idleSince = 0;
  keepAliveMs: number;
  connectTimer: NodeJS.Timeout | undefined = undefined;
  lastError: Error | undefined = undefined;
  isClosed = false;
  readonly abort: (reason?: unknown) => void;
  readonly resume: () => void;
  readonly #onBodyData: (chunk: Buffer | string) => void;
  readonly #onBodyEnd: () => void;
  readonly #onBodyError: (err?: Error) => void;
  readonly #onDrain: () => void;

  constructor(pool: H1Pool) {
    this.pool = pool;
    this.keepAliveMs = pool.keepAliveMs;
    this.parser = createParser('response', this, PARSER_CALLBACKS);
    this.abort = (reason?: unknown): void => this.#abort(reason);
    this.resume = (): void => {
      if (!this.isClosed) this.socket.resume();
    };
    this.#onBodyData = (chunk) => this.#writeBodyChunk(chunk);
    this.#onBodyEnd = () => this.#endBody();
    this.#onBodyError = (err) => this.fail(new UpstreamSocketError(`request body failed: ${err?.message ?? 'downstream aborted'}`, 'UND_ERR_SOCKET'));
    this.#onDrain = () => this.body?.resume();
    const socket = net.connect({ host: pool.host, port: pool.port, noDelay: true });
    (socket as SocketWithConn)[kConn] = this;
    this.socket = socket;
    socket.on('connect', onSocketConnect);
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    if (pool.connectTimeoutMs > 0) this.connectTimer = setTimeout(onConnectTimeout, pool.connectTimeoutMs, this);
  }

  applyKeepAliveHint(v: string): void {
    const m = /timeout=(\d+)/i.exec(v);
    if (m) this.keepAliveMs = Math.min(this.pool.keepAliveMs, Math.max(0, Number(m[1]) * 1000 - 1000));
  }

  connected(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.isConnected = true;
    const s = this.pool.stats;
    if (s !== undefined) {
      s.cxActive++;
      s.cxTotal++;
    }
    if (this.handler !== undefined) this.#writeRequest();
  }

  /** Assigns a request; it is written now or once the connection is up. */
  start(handler: H1Handler, method: string, path: string, headers: H1Headers, body: NodeJS.ReadableStream | null): void {
    this.handler = handler;
    this.requests++;
    this.isHead = method === 'HEAD';
    this.body = body;
    this.pendingMethod = method;
    this.pendingPath = path;
    this.pendingHeaders = headers;
    handler.onConnect(this.abort);
    // onConnect may abort at once (a superseded attempt): then nothing was written.
    if (this.handler !== handler) return;
    if (this.isConnected) this.#writeRequest();
  }

  pendingMethod = '';
  pendingPath = '';
  pendingHeaders: H1Headers | undefined = undefined;

  #writeRequest(): void {
    const headers = this.pendingHeaders as H1Headers;
    const method = this.pendingMethod;
    this.pendingHeaders = undefined;
    let head = `${method} ${this.pendingPath} HTTP/1.1\r\n`;
    let contentLength: string | undefined;
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      if (UNSAFE.test(k)) return this.#rejectRequest(`invalid header name ${JSON.stringify(k)}`);
      if (typeof v === 'string') {
        if (UNSAFE.test(v)) return this.#rejectRequest(`invalid value for header ${k}`);
        head += `${k}: ${v}\r\n`;
      } else {
        for (let i = 0; i < v.length; i++) {
          const x = v[i] as string;
          if (UNSAFE.test(x)) return this.#rejectRequest(`invalid value for header ${k}`);
          head += `${k}: ${x}\r\n`;
        }
      }
      if (k.length === 14 && k === 'content-length') contentLength = typeof v === 'string' ? v : v[0];
    }
    const body = this.body;
    if (body === null) {
      // As undici: a method that expects a payload announces an empty one.
      if (contentLength === undefined && EXPECTS_PAYLOAD.has(method)) head += 'content-length: 0\r\n';
      this.socket.write(`${head}\r\n`, 'latin1');
      return;
    }
    this.chunked = contentLength === undefined;
    this.bodyRemaining = this.chunked ? -1 : Number(contentLength);
    if (this.chunked) head += 'transfer-encoding: chunked\r\n';
    this.socket.write(`${head}\r\n`, 'latin1');
    this.sendingBody = true;
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
    body.on('aborted', this.#onBodyError);
    this.socket.on('drain', this.#onDrain);
  }

  #rejectRequest(why: string): void {
    this.fail(new UpstreamSocketError(`request not sent: ${why}`, 'UND_ERR_INVALID_ARG'));
  }

  #writeBodyChunk(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length === 0) return;
    let ok: boolean;
    if (this.chunked) {
      this.socket.cork();
      this.socket.write(`${b.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(b);
      ok = this.socket.write('\r\n', 'latin1');
      this.socket.uncork();
    } else {
      this.bodyRemaining -= b.length;
      if (this.bodyRemaining < 0) {
        this.fail(new UpstreamSocketError('request body longer than its content-length', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'));
        return;
      }
      ok = this.socket.write(b);
    }
    if (!ok) this.body?.pause();
  }

  #endBody(): void {
    if (!this.sendingBody) return;
    if (!this.chunked && this.bodyRemaining > 0) {
      this.fail(new UpstreamSocketError('request body shorter than its content-length', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'));
      return;
    }
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.#detachBody();
  }

  #detachBody(): void {
    this.sendingBody = false;
    const body = this.body;
    this.body = null;
    if (body === null) return;
    body.removeListener('data', this.#onBodyData);
    body.removeListener('end', this.#onBodyEnd);
    body.removeListener('error', this.#onBodyError);
    body.removeListener('aborted', this.#onBodyError);
    this.socket.removeListener('drain', this.#onDrain);
  }

  responseComplete(trailers: string[] | null): void {
    const h = this.handler;
    const tail = this.tail;
    this.tail = undefined;
    this.handler = undefined;
    if (h === undefined) {
      // Aborted while its response was being parsed: the connection was already destroyed.
      this.destroy();
      return;
    }
    // A response that came before the request body was fully sent leaves the connection unusable.
    const reusable = this.keepAlive && !this.sendingBody && !this.isClosed;
    if (this.sendingBody) this.#detachBody();
    this.keepAlive = true;
    if (reusable) {
      // A paused socket (backpressure) must not carry its pause into the next request.
      if (this.socket.isPaused()) this.socket.resume();
      this.pool.release(this);
    }
    else this.destroy();
    h.onComplete(trailers, tail);
  }

  #abort(reason?: unknown): void {
    const h = this.handler;
    if (h === undefined) return;
    this.handler = undefined;
    if (this.pendingHeaders !== undefined) {
      // Not written yet (aborted from onConnect or before connecting): the connection stays clean.
      this.pendingHeaders = undefined;
      this.body = null;
      if (this.isConnected) this.pool.release(this);
      else this.destroy();
    } else {
      this.destroy();
    }
    h.onError(reason instanceof Error ? reason : new Error(String(reason ?? 'aborted')));
  }

  /** Fails the current request (if any) and closes the connection. */
  fail(err: Error): void {
    const h = this.handler;
    this.handler = undefined;
    this.destroy();
    if (h !== undefined) h.onError(err);
  }

  destroy(): void {
    if (this.sendingBody) this.#detachBody();
    if (!this.socket.destroyed) this.socket.destroy();
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.sendingBody) this.#detachBody();
    if (this.isConnected) {
      const s = this.pool.stats;
      if (s !== undefined) s.cxActive--;
    }
    this.pool.forget(this);
    const h = this.handler;
    if (h !== undefined) {
      this.handler = undefined;
      const e = this.lastError;
      const err = e === undefined
        ? new UpstreamSocketError(this.isConnected ? 'upstream closed the connection before the response completed' : 'upstream connection closed', 'UND_ERR_SOCKET')
        : e;
      h.onError(err);
    }
  }
}

interface Queued {
  handler: H1Handler;
  method: string;
  path: string;
  headers: H1Headers;
  body: NodeJS.ReadableStream | null;
}

/** Pools with idle connections, swept once a second for keep-alive expiry. */
const sweptPools = new Set<H1Pool>();
let sweepTimer: NodeJS.Timeout | undefined;
function sweepAll(): void {
  const now = Date.now();
  for (const p of sweptPools) p.expireIdle(now);
  if (sweptPools.size === 0 && sweepTimer !== undefined) {
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }
}

export class H1Pool {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly maxRequestsPerConnection: number;
  readonly stats: { cxActive: number; cxTotal: number } | undefined;
  readonly #all = new Set<H1Connection>();
  /** idle connections, most recently used last (LIFO keeps few connections warm) */
  readonly #idle: H1Connection[] = [];
  readonly #queue: Queued[] = [];
  #queueHead = 0;
  #closing = false;
  #closeWaiters: (() => void)[] = [];

  constructor(o: H1PoolOptions) {
    this.host = o.host;
    this.port = o.port;
    this.maxConnections = o.maxConnections ?? Number.POSITIVE_INFINITY;
    this.connectTimeoutMs = o.connectTimeoutMs;
    this.keepAliveMs = o.keepAliveMs;
    this.maxRequestsPerConnection = o.maxRequestsPerConnection;
    this.stats = o.stats;
  }

  get connections(): number {
    return this.#all.size;
  }

  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Sends one request; the handler learns everything through its callbacks. */
  request(handler: H1Handler, method: string, path: string, headers: H1Headers, body: NodeJS.ReadableStream | null): void {
    if (this.#closing) {
      handler.onError(new UpstreamSocketError('the upstream pool is closed', 'UND_ERR_CLOSED'));
      return;
    }
    const c = this.#take();
    if (c !== undefined) {
      c.start(handler, method, path, headers, body);
      return;
    }
    if (this.#all.size < this.maxConnections) {
      this.#open().start(handler, method, path, headers, body);
      return;
    }
    this.#queue.push({ handler, method, path, headers, body });
  }

  #take(): H1Connection | undefined {
    const idle = this.#idle;
    let now = 0;
    while (idle.length > 0) {
      const c = idle.pop() as H1Connection;
      if (now === 0) now = Date.now();
      if (!c.isClosed && now - c.idleSince < c.keepAliveMs) return c;
      c.destroy();
    }
    return undefined;
  }

  #open(): H1Connection {
    const c = new H1Connection(this);
    this.#all.add(c);
    return c;
  }

  /** A connection finished its response and may serve another request. */
  release(c: H1Connection): void {
    const limit = this.maxRequestsPerConnection;
    if (this.#closing || (limit > 0 && c.requests >= limit)) {
      c.destroy();
      return;
    }
    const q = this.#dequeue();
    if (q !== undefined) {
      c.start(q.handler, q.method, q.path, q.headers, q.body);
      return;
    }
    c.idleSince = Date.now();
    this.#idle.push(c);
    if (!sweptPools.has(this)) {
      sweptPools.add(this);
      if (sweepTimer === undefined) {
        sweepTimer = setInterval(sweepAll, 1000);
        sweepTimer.unref();
      }
    }
  }

  #dequeue(): Queued | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const q = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead] = undefined as never;
    this.#queueHead++;
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    }
    return q;
  }

  /** A connection closed: drop it, and open another for a waiting request. */
  forget(c: H1Connection): void {
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.queued > 0 && this.#all.size < this.maxConnections) {
      const q = this.#dequeue() as Queued;
      this.#open().start(q.handler, q.method, q.path, q.headers, q.body);
    }
    this.#checkClosed();
  }

  expireIdle(now: number): void {
    const idle = this.#idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i] as H1Connection;
      if (now - c.idleSince >= c.keepAliveMs) {
        idle.splice(i, 1);
        c.destroy();
      }
    }
    if (idle.length === 0) sweptPools.delete(this);
  }

  /** Graceful: no new requests; queued and in-flight ones finish, then every connection closes. */
  close(): Promise<void> {
    this.#closing = true;
    sweptPools.delete(this);
    for (const c of this.#idle.splice(0)) c.destroy();
    return new Promise((resolve) => {
      this.#closeWaiters.push(resolve);
      this.#checkClosed();
    });
  }

  /** Fails queued and in-flight requests and closes every connection now. */
  destroy(): Promise<void> {
    this.#closing = true;
    sweptPools.delete(this);
    const err = new UpstreamSocketError('the upstream pool was destroyed', 'UND_ERR_DESTROYED');
    for (let q = this.#dequeue(); q !== undefined; q = this.#dequeue()) q.handler.onError(err);
    for (const c of [...this.#all]) c.fail(err);
    return this.close();
  }

  #checkClosed(): void {
    if (!this.#closing || this.#all.size > 0 || this.queued > 0) return;
    const w = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const f of w) f();
  }
}
