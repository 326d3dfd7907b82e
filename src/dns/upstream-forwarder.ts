/**
 * Sends queries for names outside the cluster to upstream resolvers and returns their raw answers.
 *
 * One UDP socket per address family carries all queries, each under a fresh random id; an answer is
 * accepted only from the upstream it was sent to, with that id and the same question (a cheap guard
 * against spoofed answers). A truncated UDP answer is retried over TCP. Upstreams are tried in order,
 * starting with the last one that worked; each gets `timeoutMs`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { DnsInvalidUpstream, DnsNoUpstream, DnsUpstreamTimeout } from './errors.js';
import { FLAG_TC, HEADER_SIZE, questionEnd, readHeader, sameQuestion } from './wire.js';

export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses `1.2.3.4`, `1.2.3.4:5353`, `fd00::1`, `[fd00::1]:53`. */
export function parseUpstream(text: string): Upstream {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (net.isIPv4(t.split(':')[0] ?? '') && t.includes(':')) {
    const [h, p] = t.split(':');
    host = h!;
    port = Number(p);
  }
  const family = net.isIPv4(host) ? 4 : net.isIPv6(host) ? 6 : 0;
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw DnsInvalidUpstream(text);
  return { host, port, family };
}

export function formatUpstream(u: Upstream): string {
  return u.family === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

interface Pending {
  upstream: Upstream;
  request: Buffer;
  qEnd: number;
  resolve(answer: Buffer): void;
}

export interface UpstreamForwarderOptions {
  upstreams: readonly Upstream[];
  timeoutMs?: number;
  clock?: Clock;
  /** most queries in flight at once; more fail at once instead of queueing without bound */
  maxInflight?: number;
}

export class UpstreamForwarder {
  #upstreams: readonly Upstream[];
  #timeoutMs: number;
  #clock: Clock;
  #maxInflight: number;
  #preferred = 0;
  #sockets = new Map<4 | 6, dgram.Socket>();
  #pending = new Map<number, Pending>();
  #tcpSockets = new Set<net.Socket>();
  #closed = false;

  constructor(options: UpstreamForwarderOptions) {
    this.#upstreams = options.upstreams;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#clock = options.clock ?? systemClock;
    this.#maxInflight = options.maxInflight ?? 4096;
  }

  get upstreams(): readonly Upstream[] {
    return this.#upstreams;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  /**
   * Forwards `request` (a raw query) and resolves with the raw answer carrying the request's own id.
   * `tcp` sends over TCP from the start (the client came over TCP). Rejects with
   * MBX_DNS_UPSTREAM_TIMEOUT when every upstream failed, MBX_DNS_NO_UPSTREAM when there is none.
   */
  async forward(request: Buffer, tcp: boolean): Promise<Buffer> {
    if (this.#upstreams.length === 0) throw DnsNoUpstream();
    const qEnd = questionEnd(request);
    if (qEnd === undefined) throw new Error('forward() needs a query with a parsable question');
    let lastError: unknown;
    for (let i = 0; i < this.#upstreams.length; i++) {
      const index = (this.#preferred + i) % this.#upstreams.length;
      const upstream = this.#upstreams[index]!;
      try {
        let answer = tcp ? await this.#viaTcp(upstream, request) : await this.#viaUdp(upstream, request, qEnd);
        if (!tcp && (answer.readUInt16BE(2) & FLAG_TC) !== 0) answer = await this.#viaTcp(upstream, request);
        this.#preferred = index;
        answer.writeUInt16BE(request.readUInt16BE(0), 0);
        return answer;
      } catch (err) {
        lastError = err;
      }
    }
    this.#preferred = (this.#preferred + 1) % this.#upstreams.length;
    throw lastError;
  }

  #socket(family: 4 | 6): dgram.Socket {
    let s = this.#sockets.get(family);
    if (s) return s;
    s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    s.on('message', (msg, rinfo) => this.#onAnswer(msg, rinfo));
    // Errors (e.g. ICMP unreachable surfaced as ECONNREFUSED) are left to the per-query timeout.
    s.on('error', () => {});
    s.unref();
    this.#sockets.set(family, s);
    return s;
  }

  #onAnswer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const h = readHeader(msg);
    if (!h) return;
    const p = this.#pending.get(h.id);
    if (!p || rinfo.port !== p.upstream.port || rinfo.address !== p.upstream.host) return;
    const end = questionEnd(msg);
    if (end === undefined || !sameQuestion(msg, end, p.request, p.qEnd)) return;
    this.#pending.delete(h.id);
    p.resolve(msg);
  }

  #viaUdp(upstream: Upstream, request: Buffer, qEnd: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('forwarder closed'));
    if (this.#pending.size >= this.#maxInflight) {
      return Promise.reject(DnsUpstreamTimeout(formatUpstream(upstream), 0, { details: { overloaded: true } }));
    }
    let id = randomInt(0, 65536);
    for (let tries = 0; this.#pending.has(id) && tries < 64; tries++) id = randomInt(0, 65536);
    if (this.#pending.has(id)) return Promise.reject(DnsUpstreamTimeout(formatUpstream(upstream), 0));
    const copy = Buffer.from(request);
    copy.writeUInt16BE(id, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#pending.get(id)?.request !== copy) return;
        this.#pending.delete(id);
        reject(DnsUpstreamTimeout(formatUpstream(upstream), this.#timeoutMs));
      }, this.#timeoutMs);
      this.#pending.set(id, {
        upstream,
        request: copy,
        qEnd,
        resolve: (answer) => {
          timer.cancel();
          resolve(answer);
        },
      });
      this.#socket(upstream.family).send(copy, upstream.port, upstream.host);
    });
  }

  #viaTcp(upstream: Upstream, request: Buffer): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('forwarder closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const sock = net.connect({ host: upstream.host, port: upstream.port });
      this.#tcpSockets.add(sock);
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (err: unknown, answer?: Buffer) => {
        if (done) return;
        done = true;
        timer.cancel();
        sock.destroy();
        this.#tcpSockets.delete(sock);
        if (answer) resolve(answer);
        else reject(err);
      };
      const timer = this.#clock.setTimeout(
        () => finish(DnsUpstreamTimeout(formatUpstream(upstream), this.#timeoutMs)),
        this.#timeoutMs,
      );
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(request.length, 0);
        sock.write(Buffer.concat([len, request]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2) return;
        const need = buf.readUInt16BE(0);
        if (buf.length < 2 + need) return;
        const answer = Buffer.from(buf.subarray(2, 2 + need));
        if (answer.length < HEADER_SIZE || answer.readUInt16BE(0) !== request.readUInt16BE(0)) {
          finish(new Error(`upstream ${formatUpstream(upstream)} sent a TCP answer that does not match the query`));
          return;
        }
        finish(undefined, answer);
      });
      sock.on('error', (err) =>
        finish(DnsUpstreamTimeout(formatUpstream(upstream), this.#timeoutMs, { cause: err })),
      );
      sock.on('close', () =>
        finish(new Error(`upstream ${formatUpstream(upstream)} closed the TCP connection without an answer`)),
      );
    });
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sockets.values()) s.close();
    this.#sockets.clear();
    for (const s of this.#tcpSockets) s.destroy();
    this.#tcpSockets.clear();
    this.#pending.clear();
  }
}
