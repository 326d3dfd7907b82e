import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeConflist } from './bridge-conflist.js';
import { hostLocalDirs } from './host-local-reservations.js';
import { validateConflist } from './cni-network.js';

test("meshbox's standard conflist: bridge + host-local without a default route, portmap, loopback", () => {
  const list = bridgeConflist({
    networkName: 'meshbox',
    bridge: 'mbx0',
    subnet: '10.244.0.0/16',
    gateway: '10.244.0.1',
    ipamDataDir: '/var/lib/meshbox/cni/ipam',
    routes: ['10.244.0.0/16', '10.96.0.0/16'],
    mtu: 1400,
  });
  validateConflist(list);
  assert.equal(list.cniVersion, '1.0.0');
  assert.deepEqual(list.plugins.map((p) => p.type), ['bridge', 'portmap', 'loopback']);
  const bridge = list.plugins[0] as Record<string, unknown>;
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.isDefaultGateway, false);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.hairpinMode, true);
  assert.equal(bridge.promiscMode, false);
  assert.equal(bridge.mtu, 1400);
  assert.deepEqual(bridge.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.244.0.0/16', gateway: '10.244.0.1' }]],
    routes: [{ dst: '10.244.0.0/16', gw: '10.244.0.1' }, { dst: '10.96.0.0/16', gw: '10.244.0.1' }],
    dataDir: '/var/lib/meshbox/cni/ipam',
  });
  assert.deepEqual(list.plugins[1], { type: 'portmap', capabilities: { portMappings: true }, snat: true });
  assert.deepEqual(hostLocalDirs(list), ['/var/lib/meshbox/cni/ipam/meshbox']);
  const noLo = bridgeConflist({ networkName: 'n', bridge: 'b', subnet: '10.1.0.0/24', ipamDataDir: '/x', routes: [], loopback: false });
  assert.deepEqual(noLo.plugins.map((p) => p.type), ['bridge', 'portmap']);
  const ipam = (noLo.plugins[0] as unknown as { ipam: { ranges: Array<Array<Record<string, string>>> } }).ipam;
  assert.equal(ipam.ranges[0]?.[0]?.gateway, '10.1.0.1', 'the default gateway is the first address');
});

test('refuses a default route, a gateway outside the subnet, and bad names', () => {
  const base = { networkName: 'n', bridge: 'mbx0', subnet: '10.1.0.0/24', ipamDataDir: '/x', routes: [] as string[] };
  assert.throws(() => bridgeConflist({ ...base, routes: ['0.0.0.0/0'] }), /default route/);
  assert.throws(() => bridgeConflist({ ...base, gateway: '10.2.0.1' }), /not inside subnet/);
  assert.throws(() => bridgeConflist({ ...base, subnet: '10.1.0.0' }), { code: 'MBX_CNI_CONFIG_INVALID' });
  assert.throws(() => bridgeConflist({ ...base, bridge: 'a-name-longer-than-15' }), { code: 'MBX_CNI_CONFIG_INVALID' });
});
