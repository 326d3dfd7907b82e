// Tests the JSON fast path of src/meshconfig/load-proxy-config-file.ts (it lives here because the
// proxy's RSS is why that path exists): JSON configs must parse exactly as YAML would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasDuplicateKeys, parseProxyConfig } from '../meshconfig/load-proxy-config-file.js';

const CONFIG = {
  version: '7',
  listeners: [{ name: 'http', address: '127.0.0.1', port: 0, protocol: 'http', direction: 'outbound', routeConfig: 'r' }],
  routes: [{ name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'default', match: [{ path: { prefix: '/' } }], route: [{ cluster: 'app' }] }] }] }],
  clusters: [{ name: 'app', protocol: 'http', endpoints: [{ address: '127.0.0.1', port: 1 }] }],
};

test('a JSON config parses to the same config as its YAML spelling', () => {
  const json = parseProxyConfig(JSON.stringify(CONFIG, null, 2), 'c.json');
  const yamlText = `version: "7"\nlisteners:\n  - {name: http, address: 127.0.0.1, port: 0, protocol: http, direction: outbound, routeConfig: r}\nroutes: ${JSON.stringify(CONFIG.routes)}\nclusters: ${JSON.stringify(CONFIG.clusters)}\n`;
  assert.deepEqual(json, parseProxyConfig(yamlText, 'c.yaml'));
  assert.equal(json.snapshot.version, '7');
});

test('duplicate keys in JSON are rejected as YAML rejects them, at any depth and however escaped', () => {
  const dupTop = '{"version": "1", "version": "2"}';
  assert.throws(() => parseProxyConfig(dupTop, 'dup.json'), /dup\.json/);
  const nested = JSON.stringify(CONFIG).replace('"prefix":"/"', '"prefix":"/","pre\\u0066ix":"/x"');
  assert.equal(hasDuplicateKeys(nested), true);
  assert.throws(() => parseProxyConfig(nested, 'nested.json'));
  // Same key text in different objects, in values and in arrays is not a duplicate.
  assert.equal(hasDuplicateKeys('{"a": {"a": "a"}, "b": ["a", {"a": 1}], "c": "\\"a\\": 1"}'), false);
  assert.equal(hasDuplicateKeys('{"a" : 1, "b": {"x": 1}, "a"\n: 2}'), true);
});

test('text that is not JSON still goes to YAML (flow mappings, comments, errors)', () => {
  const flow = `{version: "3", listeners: [], routes: [], clusters: []} # YAML, not JSON`;
  assert.equal(parseProxyConfig(flow, 'flow.yaml').snapshot.version, '3');
  assert.throws(() => parseProxyConfig('{"version": ', 'broken.json'), /broken\.json/);
});
