/**
 * The cluster DNS server: UDP and TCP on one address and port.
 *
 * Names in the cluster domain (and reverse names of the pod/service CIDRs) are answered from
 * `ClusterRecords`, authoritatively (AA), NXDOMAIN/NODATA with the zone SOA in the authority section.
 * Other names are forwarded to upstream resolvers (SERVFAIL when none answers), and positive forwarded
 * answers are cached for their TTL. Every answer has RA set, keeps the query id and echoes the question
 * byte for byte. Unparsable queries get FORMERR when the header can be read, and are dropped otherwise;
 * responses (QR set) are never answered, so two servers cannot ping-pong. A UDP answer larger than 512
 * bytes (or the client's EDNS size) is replaced by an empty one with TC set, so the client asks over TCP.
 *
 * Answering a cluster name is synchronous: no promise, no timer on that path.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type OptAnswer } from 'dns-packet';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { AnswerCache } from './answer-cache.js';
import { AnswerMemo, memoKey } from './answer-memo.js';
import type { ClusterRecords, LookupResult } from './cluster-records.js';
import { DnsBindFailed, DnsNotStarted } from './errors.js';
import { UpstreamForwarder, formatUpstream, parseUpstream } from './upstream-forwarder.js';
import {
  FLAG_AA,
  FLAG_QR,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  HEADER_SIZE,
  RCODE,
  opcodeOf,
  plainQuestionName,
  questionEnd,
  rawReply,
  readHeader,
  spliceQuestion,
} from './wire.js';

export interface DnsServerOptions {
  records: ClusterRecords;
  /** address to bind; production: the bridge gateway address. Default 127.0.0.1 */
  host?: string;
  /** default 53; 0 picks a free port (the same one for UDP and TCP) */
  port?: number;
  /** upstream resolvers (`ip` or `ip:port`), e.g. from readHostResolvers() */
  upstreams?: readonly string[];
  /** time one upstream gets before the next is tried (default 2000 ms) */
  upstreamTimeoutMs?: number;
  /** forwarded answers kept (default 10 000; 0 turns the cache off) */
  cacheSize?: number;
  /** longest time a forwarded answer is cached, whatever its TTL (default 3600 s) */
  maxCacheTtl?: number;
  /** a TCP connection with no query for this long is closed (default 10 000 ms) */
  tcpIdleTimeoutMs?: number;
  /** more TCP connections than this are refused (default 256) */
  maxTcpConnections?: number;
  /** queries answered concurrently on one TCP connection before reading pauses (default 64) */
  maxTcpPipeline?: number;
  /** encoded cluster answers memoised for repeated questions (default 4096; 0 turns it off) */
  memoEntries?: number;
  /** UDP payload size advertised in EDNS answers (default 1232, the DNS flag day value) */
  ednsUdpSize?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface DnsServerStats {
  queries: number;
  /** answered from ClusterRecords (any rcode) */
  cluster: number;
  nxdomain: number;
  forwarded: number;
  cacheHits: number;
  servfail: number;
  formerr: number;
  refused: number;
  truncated: number;
  /** packets not answered at all (too short, or a response) */
  dropped: number;
}

interface QueryContext {
  req: Buffer;
  qEnd: number;
  tcp: boolean;
  /** largest answer the client takes over this transport */
  maxSize: number;
  edns: boolean;
  /** request flags kept in the answer: opcode and RD */
  keptFlags: number;
}

const MAX_CNAME_CHAIN = 8;

export class DnsServer {
  #records: ClusterRecords;
  #host: string;
  #port: number;
  #upstreamTexts: readonly string[];
  #upstreamTimeoutMs: number;
  #cache: AnswerCache;
  #tcpIdleTimeoutMs: number;
  #maxTcpConnections: number;
  #maxTcpPipeline: number;
  #ednsUdpSize: number;
  #logger: Logger;
  #udp: dgram.Socket | undefined;
  #tcp: net.Server | undefined;
  #tcpConnections = new Set<net.Socket>();
  #forwarder: UpstreamForwarder | undefined;
  #bound: { host: string; port: number } | undefined;
  #lastWarn = 0;
  #memo: AnswerMemo | undefined;
  #clock: Clock;
  readonly #stats: DnsServerStats = {
    queries: 0, cluster: 0, nxdomain: 0, forwarded: 0, cacheHits: 0,
    servfail: 0, formerr: 0, refused: 0, truncated: 0, dropped: 0,
  };

  constructor(options: DnsServerOptions) {
    this.#records = options.records;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 53;
    this.#upstreamTexts = options.upstreams ?? [];
    // Parse now so a bad upstream fails at construction, not on the first query.
    for (const u of this.#upstreamTexts) parseUpstream(u);
    this.#upstreamTimeoutMs = options.upstreamTimeoutMs ?? 2000;
    this.#clock = options.clock ?? systemClock;
    this.#cache = new AnswerCache({
      clock: this.#clock,
      maxEntries: options.cacheSize ?? 10_000,
      maxTtl: options.maxCacheTtl ?? 3600,
    });
    this.#tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? 10_000;
    this.#maxTcpConnections = options.maxTcpConnections ?? 256;
    this.#maxTcpPipeline = options.maxTcpPipeline ?? 64;
    this.#ednsUdpSize = options.ednsUdpSize ?? 1232;
    const memoEntries = options.memoEntries ?? 4096;
    this.#memo = memoEntries > 0 ? new AnswerMemo(memoEntries) : undefined;
    this.#logger = options.logger ?? silentLogger;
  }

  get records(): ClusterRecords {
    return this.#records;
  }

  /** counters since start (a copy) */
  stats(): DnsServerStats {
    return { ...this.#stats };
  }

  /** forwarded answers currently cached */
  cacheSize(): number {
    return this.#cache.size;
  }

  /** client TCP connections currently open */
  tcpConnections(): number {
    return this.#tcpConnections.size;
  }

  /** the address actually bound (port resolved when 0 was asked) */
  address(): { host: string; port: number } {
    if (!this.#bound) throw DnsNotStarted();
    return { ...this.#bound };
  }

  /** the upstreams in use, after dropping any that is this server itself */
  upstreams(): string[] {
    return (this.#forwarder?.upstreams ?? []).map(formatUpstream);
  }

  async start(): Promise<void> {
    if (this.#bound) return;
    const family = net.isIPv6(this.#host) ? 'udp6' : 'udp4';
    // TCP first: with port 0 the kernel picks a port, and UDP then takes the same number. Another
    // process may own that UDP port already; then try again with a new pick.
    for (let attempt = 0; ; attempt++) {
      const tcp = net.createServer((sock) => this.#onTcpConnection(sock));
      tcp.maxConnections = this.#maxTcpConnections;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.#host, port: this.#port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      }).catch((err: NodeJS.ErrnoException) => {
        throw DnsBindFailed(`${this.#host}:${this.#port}/tcp`, err.code ?? err.message, { cause: err });
      });
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type: family });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: this.#host, port, exclusive: true }, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        await new Promise<void>((r) => tcp.close(() => r()));
        udp.close();
        const code = (err as NodeJS.ErrnoException).code;
        if (this.#port === 0 && code === 'EADDRINUSE' && attempt < 10) continue;
        throw DnsBindFailed(`${this.#host}:${port}/udp`, code ?? String(err), { cause: err });
      }
      try {
        // Bursts (every pod starting at once) outrun the default ~200 KB; the kernel caps this at rmem_max.
        udp.setRecvBufferSize(1 << 20);
      } catch {
        /* keep the default */
      }
      udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
      udp.on('error', (err) => this.#warn('cluster DNS UDP socket error', err));
      tcp.on('error', (err) => this.#warn('cluster DNS TCP server error', err));
      this.#udp = udp;
      this.#tcp = tcp;
      this.#bound = { host: this.#host, port };
      break;
    }
    const upstreams = this.#upstreamTexts
      .map(parseUpstream)
      // Forwarding to ourselves would loop until every query times out.
      .filter((u) => !(u.port === this.#bound!.port && (u.host === this.#host || this.#isWildcard(u.host))));
    this.#forwarder = new UpstreamForwarder({ upstreams, timeoutMs: this.#upstreamTimeoutMs, clock: this.#clock });
    this.#logger.info(
      { address: `${this.#host}:${this.#bound.port}`, domain: this.#records.domain, upstreams: upstreams.map(formatUpstream) },
      'cluster DNS listening',
    );
  }

  #isWildcard(upstreamHost: string): boolean {
    return (this.#host === '0.0.0.0' && upstreamHost.startsWith('127.')) || (this.#host === '::' && upstreamHost === '::1');
  }

  async stop(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    this.#bound = undefined;
    this.#forwarder?.close();
    this.#forwarder = undefined;
    for (const s of this.#tcpConnections) s.destroy();
    this.#tcpConnections.clear();
    await Promise.all([
      udp ? new Promise<void>((r) => udp.close(() => r())) : undefined,
      tcp ? new Promise<void>((r) => tcp.close(() => r())) : undefined,
    ]);
  }

  // === impl transports ===

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const out = this.#handleSafely(msg, false);
    if (out === undefined) return;
    // No send callback: a failed send surfaces as the socket's 'error' event (logged, throttled), and
    // the hot path saves a closure per answer.
    if (out instanceof Promise) {
      out.then((b) => b && this.#udp?.send(b, rinfo.port, rinfo.address), () => {});
    } else {
      this.#udp?.send(out, rinfo.port, rinfo.address);
    }
  }

  #onTcpConnection(sock: net.Socket): void {
    this.#tcpConnections.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(this.#tcpIdleTimeoutMs, () => sock.destroy());
    sock.on('error', () => {});
    sock.on('close', () => this.#tcpConnections.delete(sock));
    let buf: Buffer = Buffer.alloc(0);
    let inflight = 0;
    const write = (b: Buffer | undefined) => {
      if (!b || sock.destroyed || !sock.writable) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(b.length, 0);
      sock.write(Buffer.concat([len, b]));
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (len < HEADER_SIZE) {
          // A frame too short for a header cannot be answered; the framing is lost, so is the connection.
          this.#stats.dropped++;
          sock.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const out = this.#handleSafely(msg, true);
        if (out instanceof Promise) {
          inflight++;
          if (inflight >= this.#maxTcpPipeline) sock.pause();
          out.then(write, () => {}).finally(() => {
            inflight--;
            if (inflight < this.#maxTcpPipeline && sock.isPaused()) sock.resume();
          });
        } else {
          write(out);
        }
      }
    });
  }

  // === impl query handling ===

  /** Like #handle, but a bug on one query costs that query only (SERVFAIL), never the server. */
  #handleSafely(req: Buffer, tcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    try {
      const out = this.#handle(req, tcp);
      if (out instanceof Promise) return out.catch((err) => this.#internalError(req, err));
      return out;
    } catch (err) {
      return this.#internalError(req, err);
    }
  }

  #internalError(req: Buffer, err: unknown): Buffer | undefined {
    this.#warn('cluster DNS failed to answer a query', err);
    if (req.length < HEADER_SIZE) return undefined;
    this.#stats.servfail++;
    return rawReply(req, RCODE.SERVFAIL, FLAG_RA, questionEnd(req));
  }

  #handle(req: Buffer, tcp: boolean): Buffer | undefined | Promise<Buffer | undefined> {
    this.#stats.queries++;
    const h = readHeader(req);
    if (!h || (h.flags & FLAG_QR) !== 0) {
      this.#stats.dropped++;
      return undefined;
    }
    const qEnd = h.qdcount === 1 ? questionEnd(req) : undefined;
    if (opcodeOf(h.flags) !== 0) return rawReply(req, RCODE.NOTIMP, FLAG_RA, qEnd);
    if (qEnd === undefined) return this.#formerr(req);
    const memo = this.#memo ? memoKey(req, h, qEnd, tcp) : undefined;
    if (memo) {
      const hit = this.#memo!.get(memo.key, this.#records.serial, req);
      if (hit) {
        this.#stats.cluster++;
        if (hit.nxdomain) this.#stats.nxdomain++;
        return hit.answer;
      }
    }
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(req);
    } catch {
      return this.#formerr(req, qEnd);
    }
    const q = packet.questions?.[0];
    if (!q || typeof q.name !== 'string') return this.#formerr(req, qEnd);
    const opt = packet.additionals?.find((a) => a.type === 'OPT') as OptAnswer | undefined;
    const ctx: QueryContext = {
      req,
      qEnd,
      tcp,
      maxSize: tcp ? 65535 : opt ? Math.min(4096, Math.max(512, opt.udpPayloadSize)) : 512,
      edns: opt !== undefined,
      keptFlags: h.flags & (0x7800 | FLAG_RD),
    };
    const qtype = q.type as string;
    const qclass = (q.class as string | undefined) ?? 'IN';
    const lname = q.name.toLowerCase().replace(/\.$/, '');
    if (qtype === 'AXFR' || qtype === 'IXFR') return this.#refused(req, qEnd);
    if (this.#records.isAuthoritativeFor(lname)) {
      if (qclass !== 'IN' && qclass !== 'ANY') return this.#refused(req, qEnd);
      this.#stats.cluster++;
      // No cluster name has such bytes; looking the decoded text up could match a different name.
      if (!plainQuestionName(req, qEnd)) return this.#authoritative(ctx, lname, { rcode: 'NXDOMAIN' });
      const serial = this.#records.serial;
      const result = this.#records.lookup(q.name, qtype)!;
      if (result.rcode === 'NOERROR' && result.chase !== undefined) return this.#chase(ctx, q.name, result, qtype);
      const answer = this.#authoritative(ctx, lname, result);
      if (memo && memo.maxSize === ctx.maxSize) this.#memo!.put(memo.key, serial, answer, result.rcode === 'NXDOMAIN');
      return answer;
    }
    return this.#forward(ctx, lname, qtype, qclass, opt?.flag_do === true);
  }

  #formerr(req: Buffer, qEnd?: number): Buffer {
    this.#stats.formerr++;
    return rawReply(req, RCODE.FORMERR, FLAG_RA, qEnd);
  }

  #refused(req: Buffer, qEnd: number): Buffer {
    this.#stats.refused++;
    return rawReply(req, RCODE.REFUSED, FLAG_RA, qEnd);
  }

  #authoritative(ctx: QueryContext, lname: string, result: LookupResult, extra: Answer[] = []): Buffer {
    if (result.rcode === 'NXDOMAIN') {
      this.#stats.nxdomain++;
      return this.#respond(ctx, RCODE.NXDOMAIN, FLAG_AA, extra, [this.#records.soaFor(lname)], []);
    }
    const answers = extra.length ? [...extra, ...result.answers] : result.answers;
    const authorities = answers.length === 0 ? [this.#records.soaFor(lname)] : [];
    return this.#respond(ctx, RCODE.NOERROR, FLAG_AA, answers, authorities, result.additionals);
  }

  /** Encodes an answer; over UDP, one that is too large becomes an empty answer with TC. */
  #respond(ctx: QueryContext, rcode: number, flags: number, answers: Answer[], authorities: Answer[], additionals: Answer[]): Buffer {
    const opt = ctx.edns ? [this.#opt()] : [];
    const header = { type: 'response' as const, id: ctx.req.readUInt16BE(0), flags: ctx.keptFlags | FLAG_RA | flags | rcode, questions: [] };
    let out: Buffer;
    try {
      out = spliceQuestion(dnsPacket.encode({ ...header, answers, authorities, additionals: [...additionals, ...opt] }), ctx.req, ctx.qEnd);
    } catch (err) {
      // A name dns-packet cannot write back (odd bytes in a label): answer with no records.
      this.#logger.debug({ err: describeError(err) }, 'cluster DNS could not encode an answer');
      this.#stats.servfail++;
      return rawReply(ctx.req, RCODE.SERVFAIL, FLAG_RA, ctx.qEnd);
    }
    if (out.length <= ctx.maxSize) return out;
    this.#stats.truncated++;
    const empty = dnsPacket.encode({ ...header, flags: header.flags | FLAG_TC, answers: [], authorities: [], additionals: opt });
    return spliceQuestion(empty, ctx.req, ctx.qEnd);
  }

  #opt(): Answer {
    return { type: 'OPT', name: '.', udpPayloadSize: this.#ednsUdpSize, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as unknown as Answer;
  }

  /** ExternalName: follow the CNAME inside the cluster, and outside it through the upstreams. */
  #chase(ctx: QueryContext, qname: string, first: LookupResult & { rcode: 'NOERROR' }, qtype: string): Buffer | Promise<Buffer> {
    const answers: Answer[] = [...first.answers];
    let target = first.chase;
    for (let depth = 0; target !== undefined && this.#records.isAuthoritativeFor(target); depth++) {
      if (depth >= MAX_CNAME_CHAIN) return this.#respond(ctx, RCODE.SERVFAIL, 0, [], [], []);
      const r = this.#records.lookup(target, qtype)!;
      if (r.rcode === 'NXDOMAIN') return this.#authoritative(ctx, target, r, answers);
      answers.push(...r.answers);
      target = r.chase;
    }
    const lname = qname.toLowerCase().replace(/\.$/, '');
    if (target === undefined || !this.#forwarder) return this.#authoritative(ctx, lname, { rcode: 'NOERROR', answers, additionals: [] });
    const key = AnswerCache.key(target, qtype, 'IN', false);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#stats.cacheHits++;
      return this.#respond(ctx, RCODE.NOERROR, FLAG_AA, [...answers, ...hit.answers], [], []);
    }
    const sub = dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: target, type: qtype as dnsPacket.RecordType, class: 'IN' }],
    });
    return this.#forwarder.forward(sub, false).then(
      (raw) => {
        this.#stats.forwarded++;
        const decoded = this.#maybeCache(key, raw);
        const more = (decoded?.answers ?? []).filter((a) => a.type !== 'OPT');
        const rcode = (raw.readUInt16BE(2) & 0xf) === RCODE.NXDOMAIN ? RCODE.NXDOMAIN : RCODE.NOERROR;
        return this.#respond(ctx, rcode, FLAG_AA, [...answers, ...more], [], []);
      },
      (err) => {
        // The CNAME alone is still a true answer; a client may follow it itself.
        this.#warn('cluster DNS could not resolve an ExternalName target', err);
        return this.#respond(ctx, RCODE.NOERROR, FLAG_AA, answers, [], []);
      },
    );
  }

  #forward(ctx: QueryContext, lname: string, qtype: string, qclass: string, dnssecOk: boolean): Buffer | Promise<Buffer> {
    const key = AnswerCache.key(lname, qtype, qclass, dnssecOk);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#stats.cacheHits++;
      return this.#respond(ctx, RCODE.NOERROR, hit.flags, hit.answers, hit.authorities, hit.additionals);
    }
    const forwarder = this.#forwarder;
    if (!forwarder) return this.#servfail(ctx);
    return forwarder.forward(ctx.req, ctx.tcp).then(
      (answer) => {
        this.#stats.forwarded++;
        this.#maybeCache(key, answer);
        if (answer.length <= ctx.maxSize) return answer;
        this.#stats.truncated++;
        return rawReply(ctx.req, answer.readUInt16BE(2) & 0xf, FLAG_RA | FLAG_TC, ctx.qEnd);
      },
      (err) => {
        this.#warn('cluster DNS could not forward a query', err);
        return this.#servfail(ctx);
      },
    );
  }

  #servfail(ctx: QueryContext): Buffer {
    this.#stats.servfail++;
    return rawReply(ctx.req, RCODE.SERVFAIL, FLAG_RA, ctx.qEnd);
  }

  /** Decodes an upstream answer and caches it when it is a positive, complete one. */
  #maybeCache(key: string, raw: Buffer): dnsPacket.DecodedPacket | undefined {
    let decoded: dnsPacket.DecodedPacket;
    try {
      decoded = dnsPacket.decode(raw);
    } catch {
      return undefined;
    }
    if ((raw.readUInt16BE(2) & 0xf) === RCODE.NOERROR && !decoded.flag_tc && (decoded.answers?.length ?? 0) > 0) {
      this.#cache.put(key, {
        // Cached data is no longer authoritative, whatever upstream said.
        flags: 0,
        answers: decoded.answers ?? [],
        authorities: (decoded.authorities ?? []).filter((a) => a.type !== 'OPT'),
        additionals: (decoded.additionals ?? []).filter((a) => a.type !== 'OPT'),
      });
    }
    return decoded;
  }

  #warn(msg: string, err: unknown): void {
    // Upstream outages fail every query; one line every 10 s says it without flooding the log.
    const now = this.#clock.monotonic();
    if (now - this.#lastWarn < 10_000) {
      this.#logger.debug({ err: describeError(err) }, msg);
      return;
    }
    this.#lastWarn = now;
    this.#logger.warn({ err: describeError(err) }, msg);
  }
}
