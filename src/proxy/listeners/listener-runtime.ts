/**
 * One bound listener: a net.Server that hands each connection to HTTP/1.1, HTTP/2 (h2c prior
 * knowledge) or TCP, by configuration or, for `auto`, by the first bytes (with a quick TCP
 * fallback for server-first protocols where the client stays silent). The servers stay bound
 * across config swaps; only `slot.current` / `tcp` change.
 */
import net from 'node:net';
import type http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { ListenerProtocol, ProxyLimits } from '../../meshconfig/types.js';
import { parseDuration } from '../../meshconfig/duration.js';
import { Exchange } from '../http/exchange.js';
import { H1Server } from '../http/h1-server.js';
import type { ListenerSlot } from '../http/listener-context.js';
import { tunnelUpgrade } from '../http/upgrade-tunnel.js';
import { forwardTcp, type TcpTarget } from './tcp-forward.js';
import type { OriginalDstRouting } from './original-dst-routing.js';
import { ListenerBindFailed } from '../errors.js';

const H2_PREFACE = 'PRI * HTTP/2.0';
const HTTP1_START = /^[A-Z]{3,10} /;

export class ListenerRuntime {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  protocol: ListenerProtocol;
  readonly slot: ListenerSlot;
  tcp: TcpTarget | undefined;
  /** swapped with `slot.current`: the listener's originalDst config for this snapshot */
  originalDst: OriginalDstRouting | undefined;
  readonly #server: net.Server;
  readonly #http1: H1Server;
  #h2: http2.Http2Server | undefined = undefined;
  readonly #sockets = new Set<net.Socket>();
  readonly #proxyName: string;
  readonly #limits: ProxyLimits;
  readonly #detectMs: number;

  constructor(opts: {
    name: string;
    address: string;
    port: number;
    protocol: ListenerProtocol;
    slot: ListenerSlot;
    tcp: TcpTarget | undefined;
    originalDst?: OriginalDstRouting | undefined;
    proxyName: string;
    limits: ProxyLimits;
  }) {
    this.name = opts.name;
    this.address = opts.address;
    this.port = opts.port;
    this.protocol = opts.protocol;
    this.slot = opts.slot;
    this.tcp = opts.tcp;
    this.originalDst = opts.originalDst;
    this.#proxyName = opts.proxyName;
    this.#limits = opts.limits;
    this.#detectMs = parseDuration(opts.limits.detectTimeout) ?? 200;
    const l = opts.limits;
    const slot = this.slot;
    this.#http1 = new H1Server(
      {
        maxHeaderBytes: l.maxHeaderBytes,
        maxHeaderCount: l.maxHeaderCount,
        headersTimeoutMs: parseDuration(l.headersTimeout) ?? 10_000,
        requestTimeoutMs: parseDuration(l.requestTimeout) ?? 0,
        idleTimeoutMs: parseDuration(l.idleTimeout) ?? 60_000,
      },
      {
        request: (req, res) => {
          // Checked here rather than by the parser, so the 400 carries x-meshbox-error like every other rejection.
          if (req.headers.host === undefined && req.httpVersionMinor === 1) {
            rejectRaw(req.socket, 400, 'Bad Request', this.#proxyName, 'HTTP/1.1 request without a Host header');
            return;
          }
          new Exchange(slot.current, req, res).run();
        },
        upgrade: (req, socket, head) => tunnelUpgrade(slot.current, req, socket, head),
        clientError: (err, socket) => onClientError(err, socket, this.#proxyName),
      },
    );
    this.#server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => this.#onConnection(socket));
  }

  /**
   * node:http2 is loaded on the first HTTP/2 connection: it costs ~5 MB RSS, which a sidecar
   * serving only HTTP/1.1 never needs.
   */
  #http2(): http2.Http2Server {
    if (this.#h2 !== undefined) return this.#h2;
    const l = this.#limits;
    const slot = this.slot;
    const { createServer } = loadHttp2();
    const h2 = createServer({ maxHeaderListPairs: l.maxHeaderCount * 2, maxSessionMemory: 64 }, (req, res) => {
      new Exchange(slot.current, req, res).run();
    });
    h2.setTimeout(parseDuration(l.idleTimeout) ?? 60_000);
    h2.on('sessionError', () => {});
    this.#h2 = h2;
    return h2;
  }

  #onConnection(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    const od = this.originalDst;
    if (od !== undefined && od.hasTcpEntries) {
      // A destination declared TCP is piped at once, like Istio's per-port TCP filter chain:
      // no detection delay, so server-first protocols work.
      const t = od.tcpForSocket(socket);
      if (t !== undefined) {
        forwardTcp(t, socket, () => {});
        return;
      }
    }
    switch (this.protocol) {
      case 'http':
        this.#http1.handle(socket);
        return;
      case 'http2':
      case 'grpc':
        this.#http2().emit('connection', socket);
        return;
      case 'tcp':
        this.#toTcp(socket);
        return;
      default:
        this.#detect(socket);
    }
  }

  #toTcp(socket: net.Socket): void {
    const od = this.originalDst;
    const t = this.tcp ?? od?.passthroughTcp(socket);
    if (!t) {
      if (od !== undefined) od.blackhole(socket);
      else socket.destroy();
      return;
    }
    forwardTcp(t, socket, () => {});
  }

  #detect(socket: net.Socket): void {
    const timer = setTimeout(() => {
      socket.removeListener('data', onData);
      if (this.tcp || this.originalDst) this.#toTcp(socket);
      else this.#http1.handle(socket);
    }, this.#detectMs);
    const onData = (chunk: Buffer): void => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(chunk);
      const head = chunk.toString('latin1', 0, Math.min(chunk.length, 16));
      if (head.startsWith(H2_PREFACE.slice(0, Math.min(head.length, H2_PREFACE.length)))) {
        // The http2 session reads what is buffered itself; resuming here would drop it.
        this.#http2().emit('connection', socket);
        return;
      }
      if (HTTP1_START.test(head) || (!this.tcp && !this.originalDst)) this.#http1.handle(socket);
      else this.#toTcp(socket);
      socket.resume();
    };
    socket.once('data', onData);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(ListenerBindFailed(this.name, `${this.address}:${this.port}`, err.message, { cause: err }));
      this.#server.once('error', onError);
      this.#server.listen({ host: this.address, port: this.port, backlog: 1024 }, () => {
        this.#server.removeListener('error', onError);
        resolve();
      });
    });
  }

  boundPort(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : this.port;
  }

  /** Stops accepting; open connections continue (drain). Idle keep-alive sockets are closed. */
  stopAccepting(): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    this.#http1.draining = true;
    this.#http1.closeIdleConnections();
    return Promise.race([closed, Promise.resolve()]);
  }

  closeIdle(): void {
    this.#http1.closeIdleConnections();
  }

  destroyAll(): void {
    this.#server.close();
    this.#http1.close();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  get connections(): number {
    return this.#sockets.size;
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 413: 'Payload Too Large' };

function rejectRaw(socket: net.Socket, status: number, text: string, proxy: string, why: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const reason = `DPE malformed request rejected by proxy ${proxy}: ${why}`.replace(/[\r\n]/g, ' ');
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-meshbox-error: ${reason}\r\n\r\n${body}`);
  socket.destroySoon?.();
}

function onClientError(err: NodeJS.ErrnoException, socket: net.Socket, proxy: string): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  if (err.code === 'HPE_HEADER_OVERFLOW') status = 431;
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
  else if (err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') status = 413;
  rejectRaw(socket, status, STATUS_TEXT[status] ?? 'Bad Request', proxy, `${err.code ?? 'error'}: ${err.message}`);
}

const requireBuiltin = createRequire(import.meta.url);
function loadHttp2(): typeof http2 {
  return requireBuiltin('node:http2') as typeof http2;
}
