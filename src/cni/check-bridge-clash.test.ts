import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBridgeClash, findBridgeClash, type IpLink, type IpRoute } from './check-bridge-clash.js';

const eth0: IpLink = { ifname: 'eth0', linkinfo: {}, addr_info: [{ family: 'inet', local: '192.168.1.5', prefixlen: 24 }] };
const routes: IpRoute[] = [
  { dst: 'default', dev: 'eth0' },
  { dst: '192.168.1.0/24', dev: 'eth0' },
  { dst: '172.20.0.0/16', dev: 'wg0' },
  { type: 'local', dst: '10.99.0.1', dev: 'eth0', table: 'local' },
];

test('a free name and range pass, and our own bridge (address inside the pod CIDR) passes', () => {
  findBridgeClash('mbx0', '10.244.0.0/16', [eth0], routes);
  const ours: IpLink = { ifname: 'mbx0', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '10.244.0.1', prefixlen: 16 }] };
  findBridgeClash('mbx0', '10.244.0.0/16', [eth0, ours], [...routes, { dst: '10.244.0.0/16', dev: 'mbx0' }]);
});

test('a bridge name used with another address, or by a non-bridge, names --bridge', () => {
  const docker: IpLink = { ifname: 'mbx0', linkinfo: { info_kind: 'bridge' }, addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] };
  assert.throws(() => findBridgeClash('mbx0', '10.244.0.0/16', [docker], []), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'MBX_CNI_BRIDGE_CLASH');
    assert.match(e.message, /172\.17\.0\.1\/16.*--bridge/);
    return true;
  });
  assert.throws(() => findBridgeClash('eth0', '10.244.0.0/16', [eth0], []), { code: 'MBX_CNI_BRIDGE_CLASH' });
});

test('an overlapping address or route names --pod-cidr; default and local routes do not count', () => {
  assert.throws(() => findBridgeClash('mbx0', '192.168.0.0/16', [eth0], routes), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'MBX_CNI_CIDR_CLASH');
    assert.match(e.message, /192\.168\.1\.5\/24 of interface eth0.*--pod-cidr/);
    return true;
  });
  assert.throws(() => findBridgeClash('mbx0', '172.20.5.0/24', [], routes), /route 172\.20\.0\.0\/16 via wg0.*--pod-cidr/);
  findBridgeClash('mbx0', '10.99.0.0/24', [], routes);
  assert.throws(() => findBridgeClash('mbx0', 'nonsense', [], []), { code: 'MBX_CNI_CONFIG_INVALID' });
});

test('on this machine: a TEST-NET range is free and the range of an existing address clashes', { skip: process.getuid?.() !== 0 && 'needs ip(8)' }, async () => {
  const { bridgeExists } = await checkBridgeClash('mbxnoexist0', '10.201.254.0/24');
  assert.equal(bridgeExists, false);
  await assert.rejects(checkBridgeClash('mbxnoexist0', '127.0.0.0/24'), { code: 'MBX_CNI_CIDR_CLASH' });
  await assert.rejects(checkBridgeClash('lo', '10.201.254.0/24'), { code: 'MBX_CNI_BRIDGE_CLASH' });
});
