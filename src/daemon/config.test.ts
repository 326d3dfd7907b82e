import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MeshboxError } from '../core/errors.js';
import { defaultConfig, derive, parseMetricsAddress } from './config.js';

it('--metrics-address: HOST:PORT, [IPv6]:PORT, port 0, or off; anything else is refused by derive()', () => {
  assert.deepEqual(parseMetricsAddress('127.0.0.1:15014'), { host: '127.0.0.1', port: 15014 });
  assert.deepEqual(parseMetricsAddress('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseMetricsAddress('[::1]:9090'), { host: '::1', port: 9090 });
  assert.equal(parseMetricsAddress('off'), undefined);
  assert.equal(defaultConfig('/tmp/x').metricsAddress, '127.0.0.1:15014');
  for (const bad of ['15014', '127.0.0.1', '127.0.0.1:70000', '::1:80', 'host:port', '']) {
    assert.throws(
      () => derive({ ...defaultConfig('/tmp/x'), metricsAddress: bad }),
      (err: unknown) => err instanceof MeshboxError && err.code === 'MBX_DAEMON_INVALID_CONFIG' && err.message.includes('--metrics-address'),
      bad,
    );
  }
});
