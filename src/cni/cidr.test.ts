import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, cidrsOverlap, formatIp, parseCidr, parseIp } from './cidr.js';

const c = (s: string) => parseCidr(s) ?? assert.fail(`bad cidr ${s}`);

test('parses IPv4 and IPv6 prefixes and masks host bits', () => {
  assert.equal(c('10.1.2.3/16').network, c('10.1.0.0/16').network);
  assert.equal(c('10.0.0.1').prefix, 32);
  assert.equal(c('fd00::1/64').family, 6);
  assert.equal(parseIp('::ffff:10.0.0.1')?.value, 0xffff0a000001n);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0/x'), undefined);
  assert.equal(parseCidr('banana/8'), undefined);
});

test('overlap and containment', () => {
  assert.ok(cidrsOverlap(c('10.244.0.0/16'), c('10.244.3.0/24')));
  assert.ok(cidrsOverlap(c('10.244.3.0/24'), c('10.0.0.0/8')));
  assert.ok(!cidrsOverlap(c('10.244.0.0/16'), c('10.245.0.0/16')));
  assert.ok(!cidrsOverlap(c('10.244.0.0/16'), c('fd00::/8')));
  assert.ok(cidrsOverlap(c('fd00::/64'), c('fd00::1/128')));
  assert.ok(cidrContains(c('10.201.0.0/16'), '10.201.255.255'));
  assert.ok(!cidrContains(c('10.201.0.0/16'), '10.202.0.0'));
});

test('formats addresses back', () => {
  assert.equal(formatIp(4, c('10.244.0.0/16').network + 1n), '10.244.0.1');
  assert.equal(formatIp(6, c('fd00::/64').network + 1n), 'fd00:0:0:0:0:0:0:1');
  assert.equal(parseIp(formatIp(6, 42n))?.value, 42n);
});
