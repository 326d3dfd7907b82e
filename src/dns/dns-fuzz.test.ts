/**
 * Property: whatever bytes arrive, the server neither crashes nor stops answering, and everything it
 * sends back is a well-formed response (QR set, decodable). Random and mutated packets, seeded so a
 * failure repeats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { ClusterRecords } from './cluster-records.js';
import { DnsServer } from './dns-server.js';
import { FakeUpstream, decodeAnswer, makeQuery, tcpExchange, udpExchange } from './dns-test-kit.js';

const HOST = '127.0.0.1';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(): Buffer[] {
  return [
    makeQuery('web.default.svc.cluster.local', 'A'),
    makeQuery('big.default.svc.cluster.local', 'A', { edns: 1232 }),
    makeQuery('_http._tcp.web.default.svc.cluster.local', 'SRV'),
    makeQuery('5.1.244.10.in-addr.arpa', 'PTR'),
    makeQuery('10-244-1-5.default.pod.cluster.local', 'AAAA'),
    makeQuery('ext.default.svc.cluster.local', 'A'),
    makeQuery('www.example.test', 'A'),
    makeQuery('www.example.test', 'TXT', { edns: 4096 }),
  ];
}

function mutate(rnd: () => number, seeds: Buffer[]): Buffer {
  const pick = (n: number) => Math.floor(rnd() * n);
  const kind = pick(6);
  if (kind === 0) {
    const b = Buffer.alloc(pick(700));
    for (let i = 0; i < b.length; i++) b[i] = pick(256);
    return b;
  }
  const b = Buffer.from(seeds[pick(seeds.length)]!);
  // keep the QR bit clear most of the time so mutations reach the parser
  switch (kind) {
    case 1:
      for (let i = pick(8) + 1; i > 0; i--) b[pick(b.length)] = pick(256);
      break;
    case 2:
      return b.subarray(0, pick(b.length));
    case 3:
      b.writeUInt16BE(pick(65536), 4 + 2 * pick(4));
      break;
    case 4: {
      const extra = Buffer.alloc(pick(300));
      for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
      return Buffer.concat([b, extra]);
    }
    default:
      // label length bytes are where name decoders break: point one past the end or make it a pointer
      for (let i = 12; i < b.length - 5; i++) if (rnd() < 0.1) b[i] = [0xc0, 0x3f, 0xff, 0x00, 0x40][pick(5)]!;
  }
  if (rnd() < 0.9) b.writeUInt16BE(b.readUInt16BE(2) & 0x7fff, 2);
  return b;
}

test('fuzz: thousands of random and mutated packets; the server stays up and answers', async () => {
  const records = new ClusterRecords({ reverseCidrs: ['10.244.0.0/16'] });
  records.upsertPod({ metadata: { name: 'p', namespace: 'default' }, status: { podIP: '10.244.1.5' } });
  records.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] } });
  records.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
  records.upsertEndpoints({
    metadata: { name: 'big', namespace: 'default' },
    subsets: [{ addresses: Array.from({ length: 40 }, (_, i) => ({ ip: `10.244.2.${i + 1}` })) }],
  });
  records.upsertService({ metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'db.example.test' } });
  const upstream = new FakeUpstream((q) => ({ answers: [{ name: q.name, type: 'A', class: 'IN', ttl: 30, data: '192.0.2.1' }] }));
  await upstream.start();
  const server = new DnsServer({ records, host: HOST, port: 0, upstreams: [upstream.address], upstreamTimeoutMs: 200 });
  await server.start();
  const port = server.address().port;
  const client = dgram.createSocket('udp4');
  const replies: Buffer[] = [];
  client.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => client.bind(0, HOST, () => r()));
  try {
    const rnd = mulberry32(20240601);
    const seeds = corpus();
    const UDP_PACKETS = 5000;
    const deadline = Date.now() + 60_000;
    for (let sent = 0; sent < UDP_PACKETS && Date.now() < deadline; ) {
      for (let i = 0; i < 100; i++, sent++) client.send(mutate(rnd, seeds), port, HOST);
      // Let the server (same process) catch up per batch, so socket buffers do not drop most of them.
      for (let waited = 0; server.stats().queries < sent * 0.95 && waited < 200; waited += 2) {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    // TCP: mutated frames on a few connections (broken framing ends the connection, not the server)
    for (let c = 0; c < 10; c++) {
      const sock = net.connect({ host: HOST, port });
      sock.on('error', () => {});
      await new Promise<void>((resolve) => {
        sock.on('connect', () => {
          for (let i = 0; i < 100; i++) {
            const p = mutate(rnd, seeds);
            const len = Buffer.alloc(2);
            len.writeUInt16BE(rnd() < 0.8 ? p.length : Math.floor(rnd() * 65536), 0);
            sock.write(Buffer.concat([len, p]));
          }
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 50);
        });
        sock.on('close', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 500));

    assert.ok(replies.length > 1000, `expected many replies, got ${replies.length}`);
    for (const r of replies) {
      assert.ok(r.length >= 12, 'a reply has at least a header');
      assert.ok(r.readUInt16BE(2) & 0x8000, 'a reply has QR set');
      assert.doesNotThrow(() => decodeAnswer(r), 'every reply decodes');
    }
    const st = server.stats();
    assert.ok(st.formerr > 100, `malformed packets got FORMERR (${st.formerr})`);
    assert.ok(st.dropped > 0);

    const ok = decodeAnswer(await udpExchange(HOST, port, makeQuery('web.default.svc.cluster.local', 'A', { id: 321 })));
    assert.equal(ok.id, 321);
    assert.equal((ok.answers![0] as { data: string }).data, '10.96.0.10');
    const [viaTcp] = await tcpExchange(HOST, port, [makeQuery('www.example.test', 'A', { id: 654 })]);
    assert.equal(decodeAnswer(viaTcp!).id, 654);
  } finally {
    client.close();
    await server.stop();
    await upstream.stop();
  }
});
