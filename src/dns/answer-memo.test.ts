import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { ClusterRecords } from './cluster-records.js';
import { DnsServer } from './dns-server.js';
import { AnswerMemo, memoKey } from './answer-memo.js';
import { decodeAnswer, makeQuery, tcpExchange, udpExchange } from './dns-test-kit.js';
import { questionEnd, readHeader } from './wire.js';

function keyOf(buf: Buffer, tcp = false) {
  return memoKey(buf, readHeader(buf)!, questionEnd(buf)!, tcp);
}

test('memoKey: plain queries only, size limit by transport and EDNS', () => {
  const plain = makeQuery('web.default.svc.cluster.local', 'A');
  assert.equal(keyOf(plain)!.maxSize, 512);
  assert.equal(keyOf(plain, true)!.maxSize, 65535);
  assert.equal(keyOf(makeQuery('web.default.svc.cluster.local', 'A', { edns: 1232 }))!.maxSize, 1232);
  assert.equal(keyOf(makeQuery('web.default.svc.cluster.local', 'A', { edns: 100 }))!.maxSize, 512);
  assert.notEqual(keyOf(plain)!.key, keyOf(makeQuery('WEB.default.svc.cluster.local', 'A'))!.key, 'case is part of the key');
  assert.notEqual(keyOf(plain)!.key, keyOf(makeQuery('web.default.svc.cluster.local', 'AAAA'))!.key);
  assert.equal(keyOf(Buffer.concat([plain, Buffer.from([0])])), undefined, 'trailing bytes');
  const edns1 = makeQuery('web.default.svc.cluster.local', 'A', { edns: 1232 });
  edns1[edns1.length - 5] = 1; // EDNS version byte
  assert.equal(keyOf(edns1), undefined, 'EDNS version 1');
  const two = dnsPacket.encode({
    type: 'query', id: 1, questions: [{ name: 'a.test', type: 'A' }],
    additionals: [{ name: 'x.test', type: 'A', ttl: 1, data: '192.0.2.1' }, { name: 'y.test', type: 'A', ttl: 1, data: '192.0.2.2' }],
  });
  assert.equal(keyOf(two), undefined, 'two additional records');
});

test('AnswerMemo: copies patched with id and RD; a new serial empties it', () => {
  const memo = new AnswerMemo(2);
  const answer = Buffer.alloc(12);
  answer.writeUInt16BE(1, 0);
  answer.writeUInt16BE(0x8580, 2); // QR AA RD RA
  memo.put('k', 7, answer, false);
  const req = Buffer.alloc(12);
  req.writeUInt16BE(99, 0);
  req.writeUInt16BE(0x0000, 2); // RD clear
  const hit = memo.get('k', 7, req)!;
  assert.equal(hit.answer.readUInt16BE(0), 99);
  assert.equal(hit.answer.readUInt16BE(2), 0x8480);
  assert.equal(answer.readUInt16BE(0), 1, 'the stored answer is not touched');
  assert.equal(memo.get('k', 8, req), undefined);
  assert.equal(memo.size, 0);
});

test('server: repeated questions are answered from the memo, correctly, until the records change', async () => {
  const records = new ClusterRecords();
  records.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10' } });
  const server = new DnsServer({ records, host: '127.0.0.1', port: 0 });
  await server.start();
  try {
    const port = server.address().port;
    const ask = async (name: string, opts: Parameters<typeof makeQuery>[2] = {}) =>
      decodeAnswer(await udpExchange('127.0.0.1', port, makeQuery(name, 'A', opts)));
    const first = await ask('web.default.svc.cluster.local', { id: 1 });
    const second = await ask('web.default.svc.cluster.local', { id: 2, recursionDesired: false });
    assert.equal(second.id, 2);
    assert.equal(second.flag_rd, false);
    assert.equal(first.flag_rd, true);
    assert.deepEqual(second.answers, first.answers);
    const upper = await ask('WEB.default.svc.cluster.local', { id: 3 });
    assert.equal(upper.questions![0]!.name, 'WEB.default.svc.cluster.local');
    const edns = await ask('web.default.svc.cluster.local', { id: 4, edns: 1232 });
    assert.ok(edns.additionals!.some((a) => a.type === 'OPT'));
    const plainAgain = await ask('web.default.svc.cluster.local', { id: 5 });
    assert.ok(!plainAgain.additionals!.some((a) => a.type === 'OPT'), 'no OPT for a query without EDNS');
    const [tcp] = await tcpExchange('127.0.0.1', port, [makeQuery('web.default.svc.cluster.local', 'A', { id: 6 })]);
    assert.equal(decodeAnswer(tcp!).id, 6);
    assert.equal((await ask('gone.default.svc.cluster.local')).rcode, 'NXDOMAIN');
    assert.equal((await ask('gone.default.svc.cluster.local')).rcode, 'NXDOMAIN');
    assert.equal(server.stats().nxdomain, 2, 'memo hits are counted');
    records.upsertService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.99' } });
    records.upsertService({ metadata: { name: 'gone', namespace: 'default' }, spec: { clusterIP: '10.96.0.98' } });
    assert.equal(((await ask('web.default.svc.cluster.local')).answers![0] as { data: string }).data, '10.96.0.99');
    assert.equal((await ask('gone.default.svc.cluster.local')).rcode, 'NOERROR');
  } finally {
    await server.stop();
  }
});
