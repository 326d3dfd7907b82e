/**
 * Small DNS clients and a fake upstream resolver, for tests and the benchmark. Real sockets only;
 * the fake upstream listens on 127.0.0.1 port 0 so nothing ever leaves the machine.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer, type Question } from 'dns-packet';

export interface QueryOptions {
  id?: number;
  /** advertise EDNS with this UDP size */
  edns?: number;
  recursionDesired?: boolean;
  klass?: 'IN' | 'CH' | 'ANY';
}

export function makeQuery(name: string, type: string, options: QueryOptions = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: options.id ?? Math.floor(Math.random() * 65536),
    flags: options.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType, class: options.klass ?? 'IN' }],
    additionals: options.edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as unknown as Answer]
      : [],
  });
}

/** Sends one UDP datagram and resolves with the first datagram back, or rejects after `timeoutMs`. */
export function udpExchange(host: string, port: number, payload: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send(payload, port, host);
  });
}

/** Sends several queries on one TCP connection (pipelined) and resolves with the answers by id order. */
export function tcpExchange(host: string, port: number, payloads: Buffer[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP: ${answers.length}/${payloads.length} answers from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const p of payloads) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(p.length, 0);
        sock.write(Buffer.concat([len, p]));
      }
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (answers.length === payloads.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(answers);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export type FakeReply = { rcode?: number; answers?: Answer[]; truncateOverUdp?: boolean } | 'drop';

/** A fake upstream resolver on 127.0.0.1: `reply` decides each answer; it counts what it was asked. */
export class FakeUpstream {
  readonly asked: { name: string; type: string; tcp: boolean }[] = [];
  #udp = dgram.createSocket('udp4');
  #tcp = net.createServer((s) => this.#onTcp(s));
  #conns = new Set<net.Socket>();
  port = 0;

  constructor(public reply: (q: Question, tcp: boolean) => FakeReply) {}

  async start(): Promise<void> {
    await new Promise<void>((r) => this.#tcp.listen(0, '127.0.0.1', () => r()));
    this.port = (this.#tcp.address() as net.AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      this.#udp.once('error', reject);
      this.#udp.bind(this.port, '127.0.0.1', () => resolve());
    });
    this.#udp.on('message', (msg, rinfo) => {
      const out = this.#answer(msg, false);
      if (out) this.#udp.send(out, rinfo.port, rinfo.address);
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  #answer(msg: Buffer, tcp: boolean): Buffer | undefined {
    let req: dnsPacket.DecodedPacket;
    try {
      req = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const q = req.questions?.[0];
    if (!q) return undefined;
    this.asked.push({ name: q.name, type: q.type, tcp });
    const r = this.reply(q, tcp);
    if (r === 'drop') return undefined;
    const flags = dnsPacket.RECURSION_AVAILABLE | (req.flags ?? 0) & dnsPacket.RECURSION_DESIRED | (r.rcode ?? 0);
    if (!tcp && r.truncateOverUdp) {
      return dnsPacket.encode({ type: 'response', id: req.id, flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions: [q], answers: [] });
    }
    return dnsPacket.encode({ type: 'response', id: req.id, flags, questions: [q], answers: r.answers ?? [] });
  }

  #onTcp(s: net.Socket): void {
    this.#conns.add(s);
    s.on('close', () => this.#conns.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = this.#answer(Buffer.from(msg), true);
        if (!out) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length, 0);
        s.write(Buffer.concat([len, out]));
      }
    });
  }

  async stop(): Promise<void> {
    for (const c of this.#conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => this.#udp.close(() => r())),
      new Promise<void>((r) => this.#tcp.close(() => r())),
    ]);
  }
}

/** dns-packet's decode, typed with the `rcode` it sets at run time. */
export function decodeAnswer(buf: Buffer): dnsPacket.DecodedPacket & { rcode: string } {
  return dnsPacket.decode(buf) as dnsPacket.DecodedPacket & { rcode: string };
}
