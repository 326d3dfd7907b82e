import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import dnsPacket, { type Answer } from 'dns-packet';
import { ManualClock } from '../core/clock.js';
import { ClusterRecords } from './cluster-records.js';
import { DnsServer, type DnsServerOptions } from './dns-server.js';
import { FakeUpstream, decodeAnswer, makeQuery, tcpExchange, udpExchange, type FakeReply } from './dns-test-kit.js';

const HOST = '127.0.0.1';

function clusterRecords(): ClusterRecords {
  const r = new ClusterRecords({ reverseCidrs: ['10.244.0.0/16', '10.96.0.0/16'] });
  r.upsertPod({ metadata: { name: 'p', namespace: 'default' }, status: { podIP: '10.244.1.5' } });
  r.upsertService({
    metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  // a headless service with enough endpoints to overflow 512 bytes
  r.upsertService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None' } });
  r.upsertEndpoints({
    metadata: { name: 'big', namespace: 'default' },
    subsets: [{ addresses: Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.2.${i + 1}` })) }],
  });
  r.upsertService({
    metadata: { name: 'ext', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'db.example.test' },
  });
  return r;
}

async function withServer(
  options: Partial<DnsServerOptions>,
  fn: (server: DnsServer, port: number) => Promise<void>,
): Promise<void> {
  const server = new DnsServer({ records: clusterRecords(), host: HOST, port: 0, ...options });
  await server.start();
  try {
    await fn(server, server.address().port);
  } finally {
    await server.stop();
  }
}

async function withUpstream(reply: (q: dnsPacket.Question, tcp: boolean) => FakeReply, fn: (u: FakeUpstream) => Promise<void>) {
  const u = new FakeUpstream(reply);
  await u.start();
  try {
    await fn(u);
  } finally {
    await u.stop();
  }
}

const aRecord = (name: string, ip: string, ttl = 60): Answer => ({ name, type: 'A', class: 'IN', ttl, data: ip });

async function ask(port: number, name: string, type: string, opts: Parameters<typeof makeQuery>[2] = {}) {
  const raw = await udpExchange(HOST, port, makeQuery(name, type, opts));
  return { raw, p: decodeAnswer(raw) };
}

test('cluster answer over UDP: id kept, question echoed exactly, AA + RA, TTL 5', async () => {
  await withServer({}, async (_s, port) => {
    const { raw, p } = await ask(port, 'Web.Default.SVC.cluster.local', 'A', { id: 4242 });
    assert.equal(p.id, 4242);
    assert.equal(p.rcode, 'NOERROR');
    assert.equal(p.flag_qr, true);
    assert.equal(p.flag_aa, true);
    assert.equal(p.flag_ra, true);
    assert.equal(p.flag_rd, true);
    assert.deepEqual(p.questions, [{ name: 'Web.Default.SVC.cluster.local', type: 'A', class: 'IN' }]);
    assert.ok(raw.includes(Buffer.from('Web')), 'question bytes keep the asker case');
    assert.deepEqual(p.answers!.map((a) => [a.type, (a as { data: string }).data, (a as { ttl: number }).ttl]), [['A', '10.96.0.10', 5]]);
  });
});

test('NXDOMAIN and NODATA carry the SOA with a 30 s negative TTL', async () => {
  await withServer({}, async (_s, port) => {
    const nx = (await ask(port, 'nope.default.svc.cluster.local', 'A')).p;
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.flag_aa, true);
    const soa = nx.authorities![0] as dnsPacket.SoaAnswer;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, 'cluster.local');
    assert.equal(soa.ttl, 30);
    assert.equal(soa.data.minimum, 30);
    const nodata = (await ask(port, 'web.default.svc.cluster.local', 'AAAA')).p;
    assert.equal(nodata.rcode, 'NOERROR');
    assert.equal(nodata.answers!.length, 0);
    assert.equal(nodata.authorities![0]!.type, 'SOA');
    const ptr = (await ask(port, '5.1.244.10.in-addr.arpa', 'PTR')).p;
    assert.equal((ptr.answers![0] as { data: string }).data, '10-244-1-5.default.pod.cluster.local');
  });
});

test('TCP: several pipelined queries on one connection, each answered with its id', async () => {
  await withServer({}, async (_s, port) => {
    const qs = [
      makeQuery('web.default.svc.cluster.local', 'A', { id: 1 }),
      makeQuery('10-244-1-5.default.pod.cluster.local', 'A', { id: 2 }),
      makeQuery('nope.default.svc.cluster.local', 'A', { id: 3 }),
      makeQuery('_http._tcp.web.default.svc.cluster.local', 'SRV', { id: 4 }),
    ];
    const answers = (await tcpExchange(HOST, port, qs)).map((b) => decodeAnswer(b));
    const byId = new Map(answers.map((a) => [a.id, a]));
    assert.deepEqual([...byId.keys()].sort(), [1, 2, 3, 4]);
    assert.equal((byId.get(1)!.answers![0] as { data: string }).data, '10.96.0.10');
    assert.equal((byId.get(2)!.answers![0] as { data: string }).data, '10.244.1.5');
    assert.equal(byId.get(3)!.rcode, 'NXDOMAIN');
    assert.equal(byId.get(4)!.answers![0]!.type, 'SRV');
  });
});

test('TCP idle connections are closed after the idle timeout', async () => {
  await withServer({ tcpIdleTimeoutMs: 200 }, async (_s, port) => {
    const sock = net.connect({ host: HOST, port });
    const started = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      sock.on('close', () => resolve(true));
      sock.on('error', () => {});
      setTimeout(() => resolve(false), 3000).unref();
    });
    assert.equal(closed, true);
    assert.ok(Date.now() - started >= 150);
  });
});

test('UDP answers over 512 bytes set TC with no records; TCP and EDNS get them all', async () => {
  await withServer({}, async (server, port) => {
    const small = await ask(port, 'big.default.svc.cluster.local', 'A');
    assert.ok(small.raw.length <= 512);
    assert.equal(small.p.flag_tc, true);
    assert.equal(small.p.answers!.length, 0);
    assert.equal(small.p.questions![0]!.name, 'big.default.svc.cluster.local');
    const [viaTcp] = await tcpExchange(HOST, port, [makeQuery('big.default.svc.cluster.local', 'A')]);
    const t = decodeAnswer(viaTcp!);
    assert.equal(t.flag_tc, false);
    assert.equal(t.answers!.length, 60);
    const edns = await ask(port, 'big.default.svc.cluster.local', 'A', { edns: 4096 });
    assert.equal(edns.p.flag_tc, false);
    assert.equal(edns.p.answers!.length, 60);
    assert.ok(edns.p.additionals!.some((a) => a.type === 'OPT'), 'EDNS query gets an OPT back');
    const tooSmall = await ask(port, 'big.default.svc.cluster.local', 'A', { edns: 600 });
    assert.equal(tooSmall.p.flag_tc, true);
    assert.ok(server.stats().truncated >= 2);
  });
});

test('names outside the cluster are forwarded; positive answers are cached and TTLs count down', async () => {
  const clock = new ManualClock(1000);
  await withUpstream(
    (q) => (q.name === 'www.example.test' ? { answers: [aRecord(q.name, '192.0.2.7', 60)] } : { rcode: 3 }),
    async (up) => {
      await withServer({ upstreams: [up.address], clock }, async (server, port) => {
        const first = (await ask(port, 'www.example.test', 'A', { id: 7 })).p;
        assert.equal(first.id, 7);
        assert.equal(first.rcode, 'NOERROR');
        assert.equal((first.answers![0] as { data: string }).data, '192.0.2.7');
        assert.equal(up.asked.length, 1);
        clock.advance(20_000);
        const second = (await ask(port, 'WWW.example.test', 'A', { id: 8 })).p;
        assert.equal(second.id, 8);
        assert.equal(second.questions![0]!.name, 'WWW.example.test');
        assert.equal(up.asked.length, 1, 'served from the cache');
        assert.equal((second.answers![0] as { ttl: number }).ttl, 40);
        assert.equal(second.flag_aa, false);
        assert.equal(second.flag_ra, true);
        clock.advance(41_000);
        await ask(port, 'www.example.test', 'A');
        assert.equal(up.asked.length, 2, 'expired entries are fetched again');
        // negative answers are not cached
        assert.equal((await ask(port, 'missing.example.test', 'A')).p.rcode, 'NXDOMAIN');
        assert.equal((await ask(port, 'missing.example.test', 'A')).p.rcode, 'NXDOMAIN');
        assert.equal(up.asked.filter((a) => a.name === 'missing.example.test').length, 2);
        assert.ok(server.stats().cacheHits >= 1);
        // forwarding also works for a client on TCP
        const [t] = await tcpExchange(HOST, port, [makeQuery('other.example.test', 'A', { id: 9 })]);
        assert.equal(decodeAnswer(t!).id, 9);
        assert.equal(up.asked.at(-1)!.tcp, true);
      });
    },
  );
});

test('cluster-owned reverse names are never forwarded', async () => {
  await withUpstream(() => ({ answers: [] }), async (up) => {
    await withServer({ upstreams: [up.address] }, async (_s, port) => {
      const p = (await ask(port, '77.77.244.10.in-addr.arpa', 'PTR')).p;
      assert.equal(p.rcode, 'NXDOMAIN');
      assert.equal(p.flag_aa, true);
      const nx = (await ask(port, 'whatever.cluster.local', 'A')).p;
      assert.equal(nx.rcode, 'NXDOMAIN');
      assert.equal(up.asked.length, 0);
      await ask(port, '1.2.0.192.in-addr.arpa', 'PTR');
      assert.equal(up.asked.length, 1, 'reverse names outside the CIDRs are forwarded');
    });
  });
});

test('upstream timeout gives SERVFAIL; the next upstream is tried first', async () => {
  await withUpstream(() => 'drop', async (dead) => {
    await withUpstream((q) => ({ answers: [aRecord(q.name, '192.0.2.9')] }), async (alive) => {
      await withServer({ upstreams: [dead.address], upstreamTimeoutMs: 150 }, async (server, port) => {
        const started = Date.now();
        const p = (await ask(port, 'x.example.test', 'A', { id: 99 })).p;
        assert.equal(p.rcode, 'SERVFAIL');
        assert.equal(p.id, 99);
        assert.equal(p.questions![0]!.name, 'x.example.test');
        assert.ok(Date.now() - started >= 140);
        assert.equal(server.stats().servfail, 1);
      });
      await withServer({ upstreams: [dead.address, alive.address], upstreamTimeoutMs: 150 }, async (_s, port) => {
        const p = (await ask(port, 'y.example.test', 'A')).p;
        assert.equal(p.rcode, 'NOERROR');
        assert.equal((p.answers![0] as { data: string }).data, '192.0.2.9');
        const before = dead.asked.length;
        await ask(port, 'z.example.test', 'A');
        assert.equal(dead.asked.length, before, 'the upstream that worked is preferred now');
      });
    });
  });
});

test('no upstream at all: SERVFAIL at once, cluster names still answered', async () => {
  await withServer({ upstreams: [] }, async (_s, port) => {
    assert.equal((await ask(port, 'example.test', 'A')).p.rcode, 'SERVFAIL');
    assert.equal((await ask(port, 'web.default.svc.cluster.local', 'A')).p.rcode, 'NOERROR');
  });
});

test('a truncated upstream answer is fetched again over TCP', async () => {
  await withUpstream(
    (q) => ({ truncateOverUdp: true, answers: [aRecord(q.name, '192.0.2.1'), aRecord(q.name, '192.0.2.2')] }),
    async (up) => {
      await withServer({ upstreams: [up.address] }, async (_s, port) => {
        const p = (await ask(port, 'tc.example.test', 'A')).p;
        assert.equal(p.flag_tc, false);
        assert.deepEqual(p.answers!.map((a) => (a as { data: string }).data), ['192.0.2.1', '192.0.2.2']);
        assert.deepEqual(up.asked.map((a) => a.tcp), [false, true]);
      });
    },
  );
});

test('ExternalName: CNAME plus the target resolved upstream', async () => {
  await withUpstream((q) => ({ answers: [aRecord(q.name, '192.0.2.44', 30)] }), async (up) => {
    await withServer({ upstreams: [up.address] }, async (_s, port) => {
      const p = (await ask(port, 'ext.default.svc.cluster.local', 'A')).p;
      assert.equal(p.rcode, 'NOERROR');
      assert.deepEqual(p.answers!.map((a) => [a.type, (a as { data: string }).data]), [
        ['CNAME', 'db.example.test'],
        ['A', '192.0.2.44'],
      ]);
      assert.deepEqual(up.asked.map((a) => a.name), ['db.example.test']);
    });
  });
  await withServer({ upstreams: [] }, async (_s, port) => {
    const p = (await ask(port, 'ext.default.svc.cluster.local', 'A')).p;
    assert.deepEqual(p.answers!.map((a) => a.type), ['CNAME'], 'without upstream the CNAME alone');
  });
});

test('malformed and unusual packets: FORMERR/NOTIMP/REFUSED when a reply is possible, silence otherwise', async () => {
  await withServer({}, async (server, port) => {
    // too short for a header: dropped
    await assert.rejects(udpExchange(HOST, port, Buffer.from([1, 2, 3]), 300));
    // a response (QR set) is never answered
    const resp = makeQuery('web.default.svc.cluster.local', 'A');
    resp.writeUInt16BE(resp.readUInt16BE(2) | 0x8000, 2);
    await assert.rejects(udpExchange(HOST, port, resp, 300));
    // header + garbage: FORMERR with the id
    const garbage = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x41]);
    const fe = await udpExchange(HOST, port, garbage);
    assert.equal(fe.readUInt16BE(0), 0xabcd);
    assert.equal(fe.readUInt16BE(2) & 0xf, 1);
    assert.ok(fe.readUInt16BE(2) & 0x8000);
    // two questions: FORMERR
    const two = dnsPacket.encode({ type: 'query', id: 5, questions: [{ name: 'a.test', type: 'A' }, { name: 'b.test', type: 'A' }] });
    assert.equal(decodeAnswer(await udpExchange(HOST, port, two)).rcode, 'FORMERR');
    // opcode STATUS (2): NOTIMP
    const status = makeQuery('web.default.svc.cluster.local', 'A', { id: 6 });
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2);
    assert.equal(decodeAnswer(await udpExchange(HOST, port, status)).rcode, 'NOTIMP');
    // zone transfer and CHAOS class: REFUSED
    assert.equal((await ask(port, 'cluster.local', 'AXFR')).p.rcode, 'REFUSED');
    assert.equal((await ask(port, 'web.default.svc.cluster.local', 'A', { klass: 'CH' })).p.rcode, 'REFUSED');
    // a label holding a '.' byte is one label, not two: no cluster name matches it
    const dotted = dnsPacket.encode({ type: 'query', id: 8, questions: [{ name: 'x.cluster.local', type: 'A' }] });
    const weird = Buffer.concat([dotted.subarray(0, 12), Buffer.from([15]), Buffer.from('web.default.svc'), dotted.subarray(14)]);
    const w = decodeAnswer(await udpExchange(HOST, port, weird));
    assert.equal(w.rcode, 'NXDOMAIN');
    assert.equal(w.answers!.length, 0);
    // TCP: a frame too short for a header closes the connection, the server goes on
    const sock = net.connect({ host: HOST, port });
    await new Promise<void>((resolve) => {
      sock.on('connect', () => sock.write(Buffer.from([0, 3, 1, 2, 3])));
      sock.on('close', () => resolve());
      sock.on('error', () => {});
    });
    assert.equal((await ask(port, 'web.default.svc.cluster.local', 'A')).p.rcode, 'NOERROR');
    const st = server.stats();
    assert.ok(st.dropped >= 3 && st.formerr >= 2 && st.refused >= 2);
  });
});

test('bind errors name the address and say what to do; address() needs start()', async () => {
  const taken = dgram.createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, HOST, () => r()));
  const port = taken.address().port;
  try {
    const s = new DnsServer({ records: clusterRecords(), host: HOST, port });
    await assert.rejects(s.start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MBX_DNS_BIND_FAILED');
      assert.match(err.message, new RegExp(`${HOST}:${port}`));
      assert.match(err.message, /in use; stop the other DNS server/);
      return true;
    });
    assert.throws(() => s.address(), { code: 'MBX_DNS_NOT_STARTED' });
  } finally {
    taken.close();
  }
  assert.throws(() => new DnsServer({ records: clusterRecords(), upstreams: ['not an ip'] }), { code: 'MBX_DNS_INVALID_UPSTREAM' });
});

test('an upstream that is this server itself is dropped (no forwarding loop)', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, HOST, () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const s = new DnsServer({ records: clusterRecords(), host: HOST, port, upstreams: [`${HOST}:${port}`, '192.0.2.53'] });
  await s.start();
  try {
    assert.deepEqual(s.upstreams(), ['192.0.2.53:53']);
  } finally {
    await s.stop();
  }
});

test('records changed while serving are answered at once', async () => {
  await withServer({}, async (server, port) => {
    assert.equal((await ask(port, 'late.default.svc.cluster.local', 'A')).p.rcode, 'NXDOMAIN');
    server.records.upsertService({ metadata: { name: 'late', namespace: 'default' }, spec: { clusterIP: '10.96.0.77' } });
    const p = (await ask(port, 'late.default.svc.cluster.local', 'A')).p;
    assert.equal((p.answers![0] as { data: string }).data, '10.96.0.77');
  });
});
