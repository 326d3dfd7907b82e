/**
 * The proxy's downstream HTTP/1.1 server: Node's llhttp binding (the parser node:http uses, with
 * the same strict settings) driving a request/response pair shaped like node:http's, minus the
 * stream machinery a proxy does not need on every request.
 *
 * Why not http.Server: for a request without a body it builds an IncomingMessage (a Readable)
 * and a ServerResponse (a Writable) with their states, listeners and ticks; measured, node:http's
 * server and stream code was about a fifth of the proxy's busy time. Here a request without a body
 * is a plain object, a body is a Readable only when there is one, and the response head and a
 * content-length body leave in one write.
 *
 * Kept from node:http: header folding (joinDuplicateHeaders: ", ", cookie "; ", set-cookie
 * array), pipelining (responses in request order), 100-continue, Upgrade handover, keep-alive
 * (HTTP/1.0 and `connection: close`), `keep-alive: timeout=N` on reusable responses, and the
 * headers / request / idle timeouts (checked by a sweep, like node's connectionsCheckingInterval).
 */
import type net from 'node:net';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { createParser, HTTP_METHODS as METHODS, type LlhttpCallbacks, type LlhttpParser } from '../llhttp-binding.js';

type Parser = LlhttpParser<H1ServerConnection>;

export interface H1ServerLimits {
  maxHeaderBytes: number;
  /** header lines at most; one more is answered 431 */
  maxHeaderCount: number;
  headersTimeoutMs: number;
  /** 0: none */
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface H1ServerHandlers {
  request(req: H1Request, res: H1Response): void;
  upgrade(req: H1Request, socket: net.Socket, head: Buffer): void;
  /** a request the parser or a limit rejected; the handler answers and closes */
  clientError(err: NodeJS.ErrnoException, socket: net.Socket): void;
}

/** The parts of node:http's IncomingMessage the proxy reads. */
export class H1Request {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly socket: net.Socket;
  /** the request body as a stream; null when the request has none */
  body: RequestBody | null = null;
  complete = false;

  constructor(socket: net.Socket, method: string, url: string, minor: number, raw: string[]) {
    this.socket = socket;
    this.method = method;
    this.url = url;
    this.httpVersionMinor = minor;
    this.headers = foldHeaders(raw);
  }

  get httpVersion(): string {
    return this.httpVersionMinor === 1 ? '1.1' : '1.0';
  }
}

/** A request body: a plain Readable fed by the parser; reading resumes the socket. */
export class RequestBody extends Readable {
  readonly #conn: H1ServerConnection;
  constructor(conn: H1ServerConnection) {
    super();
    this.#conn = conn;
  }
  override _read(): void {
    this.#conn.resumeReading();
  }
}

type Listener = (this: H1Response) => void;
const NO_BODY_STATUS = (s: number): boolean => s === 204 || s === 304 || (s >= 100 && s < 200);
const UNSAFE = /[\r\n\0]/;
/** bodies up to this size are copied behind the head (one write); larger ones go in a corked pair */
const JOIN_LIMIT = 16 * 1024;

/**
 * The parts of node:http's ServerResponse the proxy uses: writeHead, write (false: wait for
 * 'drain'), end, destroy, and 'close' / 'drain' listeners (one each, which is all the proxy sets).
 */
export class H1Response {
  readonly req: H1Request;
  readonly #conn: H1ServerConnection;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  /** some of this response's bytes were handed to the socket */
  started = false;
  /** false: the connection closes after this response */
  shouldKeepAlive: boolean;
  statusCode = 200;
  /** the head, held until the first body bytes so they leave together */
  #head = '';
  #chunked = false;
  #noBody = false;
  #onClose: Listener | undefined = undefined;
  #onDrain: Listener | undefined = undefined;

  constructor(conn: H1ServerConnection, req: H1Request, keepAlive: boolean) {
    this.#conn = conn;
    this.req = req;
    this.shouldKeepAlive = keepAlive;
  }

  on(event: 'close' | 'drain', fn: Listener): this {
    if (event === 'close') this.#onClose = fn;
    else this.#onDrain = fn;
    return this;
  }

  once(event: 'close' | 'drain', fn: Listener): this {
    if (event === 'drain') {
      this.#onDrain = fn;
      this.#conn.socket.once('drain', () => this.#emitDrain());
    } else this.#onClose = fn;
    return this;
  }

  #emitDrain(): void {
    const f = this.#onDrain;
    this.#onDrain = undefined;
    if (f !== undefined) f.call(this);
  }

  /** Called by the connection when its socket closed before this response finished. */
  socketClosed(): void {
    this.destroyed = true;
    const f = this.#onClose;
    this.#onClose = undefined;
    if (f !== undefined) f.call(this);
  }

  writeHead(status: number, headers?: Record<string, string | number | string[] | undefined> | (string | string[])[]): this {
    if (this.headersSent) throw new Error('ERR_HTTP_HEADERS_SENT: the response head was already written');
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let seen = 0;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) {
        const k = headers[i] as string;
        const v = headers[i + 1] as string | string[];
        head += headerLines(k, v);
        seen |= framingHeader(k);
      }
    } else if (headers !== undefined) {
      for (const k in headers) {
        const v = headers[k];
        if (v === undefined) continue;
        head += headerLines(k, typeof v === 'number' ? String(v) : v);
        seen |= framingHeader(k);
      }
    }
    // As node:http and Envoy: every response has a Date (RFC 9110 §6.6.1), the upstream's if it sent one.
    if ((seen & DATE) === 0) head += `date: ${httpDate()}\r\n`;
    this.statusCode = status;
    this.#noBody = this.req.method === 'HEAD' || NO_BODY_STATUS(status);
    if (!this.#noBody && (seen & CONTENT_LENGTH) === 0) {
      if (this.req.httpVersionMinor === 1) {
        this.#chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      } else this.shouldKeepAlive = false; // HTTP/1.0: the end of the connection ends the body
    }
    head += this.shouldKeepAlive ? this.#conn.keepAliveHeader(this.req) : 'connection: close\r\n';
    this.#head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#noBody || b.length === 0) return this.#flushHead();
    const socket = this.#conn.socket;
    this.started = true;
    if (this.#chunked) {
      socket.cork();
      this.#flushHead();
      socket.write(`${b.length.toString(16)}\r\n`, 'latin1');
      socket.write(b);
      const ok = socket.write('\r\n', 'latin1');
      socket.uncork();
      return ok;
    }
    const head = this.#head;
    if (head === '') return socket.write(b);
    this.#head = '';
    if (b.length > JOIN_LIMIT) {
      socket.cork();
      socket.write(head, 'latin1');
      const ok = socket.write(b);
      socket.uncork();
      return ok;
    }
    return socket.write(joinHead(head, b));
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const socket = this.#conn.socket;
    this.writableEnded = true;
    if (!this.destroyed && !socket.destroyed) {
      this.started = true;
      const b = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (this.#noBody || b === undefined || b.length === 0) {
        if (this.#chunked) socket.write(`${this.#head}0\r\n\r\n`, 'latin1');
        else this.#flushHead();
      } else if (b.length > JOIN_LIMIT) {
        socket.cork();
        this.#flushHead();
        if (this.#chunked) socket.write(`${b.length.toString(16)}\r\n`, 'latin1');
        socket.write(b);
        if (this.#chunked) socket.write('\r\n0\r\n\r\n', 'latin1');
        socket.uncork();
      } else if (this.#chunked) {
        socket.write(joinHead(`${this.#head}${b.length.toString(16)}\r\n`, b, '\r\n0\r\n\r\n'));
      } else {
        socket.write(this.#head === '' ? b : joinHead(this.#head, b));
      }
      this.#head = '';
    }
    this.writableFinished = true;
    this.#onClose = undefined;
    this.#conn.responseDone(this);
    return this;
  }

  #flushHead(): boolean {
    const head = this.#head;
    if (head === '') return true;
    this.#head = '';
    this.started = true;
    return this.#conn.socket.write(head, 'latin1');
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#conn.socket.destroy();
    return this;
  }
}

/**
 * Ends a body the client will not finish. Like IncomingMessage it emits 'aborted' (the upstream
 * pool listens for it) rather than 'error', which would throw in a process nobody listens in.
 */
function abortBody(body: RequestBody): void {
  body.emit('aborted');
  body.destroy();
}

const CONTENT_LENGTH = 1;
const DATE = 2;
/** Which of the headers writeHead must know about `k` is (case-insensitively); 0 for any other. */
function framingHeader(k: string): number {
  if (k.length === 14 && k.toLowerCase() === 'content-length') return CONTENT_LENGTH;
  if (k.length === 4 && k.toLowerCase() === 'date') return DATE;
  return 0;
}

function headerLines(k: string, v: string | string[]): string {
  if (UNSAFE.test(k)) throw new Error(`ERR_INVALID_HTTP_TOKEN: invalid header name ${JSON.stringify(k)}`);
  if (typeof v === 'string') {
    if (UNSAFE.test(v)) throw new Error(`ERR_INVALID_CHAR: invalid character in header ${k}`);
    return `${k}: ${v}\r\n`;
  }
  let s = '';
  for (let i = 0; i < v.length; i++) s += headerLines(k, v[i] as string);
  return s;
}

let dateSecond = 0;
let dateText = '';
/** The IMF-fixdate of now, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** One buffer for head + body (+ tail): one write, one syscall, for the common small response. */
function joinHead(head: string, body: Buffer, tail = ''): Buffer {
  const out = Buffer.allocUnsafe(head.length + body.length + tail.length);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  if (tail !== '') out.write(tail, head.length + body.length, 'latin1');
  return out;
}

/** node:http's header folding with joinDuplicateHeaders. */
function foldHeaders(raw: string[]): IncomingHttpHeaders {
  const h: Record<string, string | string[] | undefined> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = (raw[i] as string).toLowerCase();
    const v = raw[i + 1] as string;
    const cur = h[k];
    if (k === 'set-cookie') {
      if (cur === undefined) h[k] = [v];
      else (cur as string[]).push(v);
    } else if (cur === undefined) h[k] = v;
    else h[k] = `${cur as string}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return h;
}

// === parser callbacks: `this` is the parser ===

function onMessageBegin(this: Parser): void {
  const c = this.conn;
  c.parsing = PARSING_HEADERS;
  c.messageStart = Date.now();
}

function onHeaders(this: Parser, headers: string[], url: string): void {
  const c = this.conn;
  c.rawHeaders = c.rawHeaders === undefined ? headers : c.rawHeaders.concat(headers);
  c.url += url;
}

function onHeadersComplete(
  this: Parser,
  _major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _status: number,
  _statusMessage: string,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const c = this.conn;
  let raw = headers;
  if (raw === undefined) {
    raw = c.rawHeaders ?? [];
    c.rawHeaders = undefined;
  }
  const u = url === undefined || url === '' ? c.url : url;
  c.url = '';
  return c.headersComplete(METHODS[method] ?? 'GET', u, minor, raw, upgrade, keepAlive);
}

function onBody(this: Parser, chunk: Buffer): void {
  const b = this.conn.parsingRequest?.body;
  if (b != null && !b.push(chunk)) this.conn.pauseReading();
}

function onMessageComplete(this: Parser): void {
  const c = this.conn;
  c.parsing = PARSING_IDLE;
  const req = c.parsingRequest;
  c.parsingRequest = undefined;
  if (c.idle) c.idleSince = Date.now(); // a body read to its end after an early response
  if (req === undefined) return;
  req.complete = true;
  if (req.body !== null) {
    req.body.push(null);
    // The pause was for this body's bytes; what follows is the next request's.
    c.resumeReading();
  }
}

function onSocketData(this: net.Socket, chunk: Buffer): void {
  (this as SocketWithConn)[kConn].data(chunk);
}

function onSocketEnd(this: net.Socket): void {
  (this as SocketWithConn)[kConn].ended();
}

function onSocketClose(this: net.Socket): void {
  (this as SocketWithConn)[kConn].closed();
}

const PARSER_CALLBACKS = { onMessageBegin, onHeaders, onHeadersComplete, onBody, onMessageComplete } as LlhttpCallbacks<H1ServerConnection>;

const kConn = Symbol('meshbox.h1server.conn');
type SocketWithConn = net.Socket & { [kConn]: H1ServerConnection };
const PARSING_IDLE = 0;
const PARSING_HEADERS = 1;
const PARSING_BODY = 2;

class H1ServerConnection {
  readonly server: H1Server;
  readonly socket: net.Socket;
  readonly parser: Parser;
  parsing = PARSING_IDLE;
  messageStart = 0;
  rawHeaders: string[] | undefined = undefined;
  url = '';
  /** the request whose bytes are being parsed */
  parsingRequest: H1Request | undefined = undefined;
  /** an Upgrade request: once its head is parsed, the rest of the connection is the tunnel's */
  upgradeRequest: H1Request | undefined = undefined;
  /** requests with a response not yet ended, in order; the first is being answered */
  readonly #responses: H1Response[] = [];
  idleSince: number;
  #closing = false;
  #detached = false;
  #paused = false;

  constructor(server: H1Server, socket: net.Socket) {
    this.server = server;
    this.socket = socket;
    this.idleSince = Date.now();
    this.parser = createParser('request', this, PARSER_CALLBACKS, server.limits.maxHeaderBytes);
    (socket as SocketWithConn)[kConn] = this;
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
  }

  data(chunk: Buffer): void {
    if (this.#closing) return;
    let r: number | Error;
    try {
      r = this.parser.execute(chunk);
    } catch (err) {
      r = err as Error;
    }
    if (typeof r !== 'number') {
      this.#clientError(r as NodeJS.ErrnoException);
      return;
    }
    const up = this.upgradeRequest;
    if (up !== undefined && !this.#detached) this.#handOver(up, chunk.subarray(r));
  }

  headersComplete(method: string, url: string, minor: number, raw: string[], upgrade: boolean, keepAlive: boolean): number {
    const limits = this.server.limits;
    if (raw.length / 2 > limits.maxHeaderCount) {
      const err = new Error(`more than ${limits.maxHeaderCount} header lines`) as NodeJS.ErrnoException;
      err.code = 'HPE_HEADER_OVERFLOW';
      queueMicrotask(() => this.#clientError(err));
      this.#closing = true;
      return 1;
    }
    this.parsing = PARSING_BODY;
    const req = new H1Request(this.socket, method, url, minor, raw);
    this.parsingRequest = req;
    if (upgrade) {
      this.upgradeRequest = req;
      return 2; // no body: the rest of the bytes belong to the tunnel
    }
    const h = req.headers;
    const cl = h['content-length'];
    if ((cl !== undefined && cl !== '0') || h['transfer-encoding'] !== undefined) req.body = new RequestBody(this);
    const res = new H1Response(this, req, keepAlive && !this.server.draining);
    this.#responses.push(res);
    if (this.#responses.length === 1) this.#start(res);
    return 0;
  }

  #start(res: H1Response): void {
    const req = res.req;
    const expect = req.headers.expect;
    if (req.httpVersionMinor === 1 && typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !req.complete) {
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
    this.server.handlers.request(req, res);
  }

  responseDone(res: H1Response): void {
    const q = this.#responses;
    if (q[0] !== res) return;
    q.shift();
    if (!res.shouldKeepAlive) {
      this.#closing = true;
      this.socket.end();
      return;
    }
    const req = res.req;
    if (!req.complete) {
      // Answered before the request was read to its end (a local reply, often from inside the
      // parser's own callback): as node:http, read and drop the rest so the connection stays usable.
      req.body?.resume();
      return;
    }
    const next = q[0];
    if (next !== undefined) {
      this.#start(next);
      return;
    }
    this.idleSince = Date.now();
  }

  keepAliveHeader(req: H1Request): string {
    return req.httpVersionMinor === 0 ? `connection: keep-alive\r\n${this.server.keepAliveHint}` : this.server.keepAliveHint;
  }

  pauseReading(): void {
    this.#paused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.#paused || this.socket.destroyed) return;
    this.#paused = false;
    this.socket.resume();
  }

  get idle(): boolean {
    return this.#responses.length === 0 && this.parsing === PARSING_IDLE;
  }

  /** The sweep's check: slow headers, slow requests and idle keep-alive connections. */
  check(now: number): void {
    const l = this.server.limits;
    if (this.parsing === PARSING_HEADERS && now - this.messageStart > l.headersTimeoutMs) {
      this.#timeout();
    } else if (this.parsing !== PARSING_IDLE && l.requestTimeoutMs > 0 && now - this.messageStart > l.requestTimeoutMs) {
      this.#timeout();
    } else if (this.idle && now - this.idleSince > l.idleTimeoutMs) {
      this.socket.destroy();
    }
  }

  #timeout(): void {
    const err = new Error('request timeout') as NodeJS.ErrnoException;
    err.code = 'ERR_HTTP_REQUEST_TIMEOUT';
    if (this.#responses.length > 0) this.socket.destroy();
    else this.#clientError(err);
  }

  #clientError(err: NodeJS.ErrnoException): void {
    this.#closing = true;
    this.parsing = PARSING_IDLE;
    const req = this.parsingRequest;
    this.parsingRequest = undefined;
    // A response already on the wire owns the socket's bytes: nothing can be written in between.
    // Otherwise (as node:http) the rejection is answered and the requests in flight are dropped.
    if (this.#responses.some((r) => r.started)) {
      this.socket.destroy();
      return;
    }
    for (const res of this.#responses.splice(0)) res.socketClosed();
    if (req?.body != null) abortBody(req.body);
    this.#detach();
    this.server.handlers.clientError(err, this.socket);
  }

  #handOver(req: H1Request, head: Buffer): void {
    this.#detach();
    // Pipelined responses still due make a clean handover impossible; CONNECT is not proxied
    // (node:http without a 'connect' listener closes it too).
    if (this.#responses.length > 0 || req.method === 'CONNECT') {
      this.socket.destroy();
      return;
    }
    this.server.handlers.upgrade(req, this.socket, head);
  }

  /** Gives the socket up: no more parsing, no sweep, no listeners of ours. */
  #detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.socket.removeListener('data', onSocketData);
    this.socket.removeListener('end', onSocketEnd);
    this.socket.removeListener('close', onSocketClose);
    this.server.forget(this);
    this.parser.close();
  }

  ended(): void {
    // The client finished sending; answer what is in flight, then close (half-close as node:http).
    this.#closing = true;
    if (this.parsing === PARSING_BODY) {
      const req = this.parsingRequest;
      if (req?.body != null) abortBody(req.body);
    }
    if (this.#responses.length === 0) this.socket.end();
  }

  closed(): void {
    const req = this.parsingRequest;
    this.parsingRequest = undefined;
    if (req?.body != null && !req.complete) abortBody(req.body);
    for (const res of this.#responses.splice(0)) res.socketClosed();
    this.#detach();
  }

  closeIfIdle(): void {
    if (this.idle) this.socket.end();
  }
}

export class H1Server {
  readonly limits: H1ServerLimits;
  readonly handlers: H1ServerHandlers;
  readonly keepAliveHint: string;
  draining = false;
  readonly #connections = new Set<H1ServerConnection>();
  #sweep: NodeJS.Timeout | undefined = undefined;

  constructor(limits: H1ServerLimits, handlers: H1ServerHandlers) {
    this.limits = limits;
    this.handlers = handlers;
    this.keepAliveHint = `keep-alive: timeout=${Math.max(1, Math.floor(limits.idleTimeoutMs / 1000))}\r\n`;
  }

  /** Takes over an accepted connection (bytes already read may have been unshifted onto it). */
  handle(socket: net.Socket): void {
    const c = new H1ServerConnection(this, socket);
    this.#connections.add(c);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#check(), 250);
      this.#sweep.unref();
    }
  }

  #check(): void {
    const now = Date.now();
    for (const c of this.#connections) c.check(now);
  }

  forget(c: H1ServerConnection): void {
    this.#connections.delete(c);
  }

  /** Closes keep-alive connections with nothing in flight (drain); later responses carry `connection: close`. */
  closeIdleConnections(): void {
    for (const c of this.#connections) c.closeIfIdle();
  }

  close(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const c of this.#connections) c.socket.destroy();
    this.#connections.clear();
  }
}
