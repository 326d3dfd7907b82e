import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Pod, Secret } from '../../api/types.js';
import { EnvSourceMissing, expandReferences, resolveEnv } from './env.js';

const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { MODE: 'fast', LEVEL: '3' } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: Buffer.from('s3cret').toString('base64') } };
const lookups = {
  configMap: (ns: string, name: string) => (ns === 'shop' && name === 'cfg' ? cm : undefined),
  secret: (ns: string, name: string) => (ns === 'shop' && name === 'db' ? secret : undefined),
};

function pod(): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'api-1', namespace: 'shop', uid: 'u1', labels: { app: 'api' } },
    spec: {
      containers: [{
        name: 'api', image: 'host',
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'URL', value: 'http://$(POD_IP):80/$(MISSING)/$$(POD_IP)' },
        ],
      }],
    },
  };
}

test('env resolves every source the kubelet supports', () => {
  const p = pod();
  const env = resolveEnv(p, p.spec.containers[0]!, '10.1.2.3', lookups);
  assert.equal(env.get('CFG_MODE'), 'fast');
  assert.equal(env.get('CFG_LEVEL'), '3');
  assert.equal(env.get('POD_NAME'), 'api-1');
  assert.equal(env.get('POD_NS'), 'shop');
  assert.equal(env.get('POD_IP'), '10.1.2.3');
  assert.equal(env.get('APP'), 'api');
  assert.equal(env.get('MODE'), 'fast');
  assert.equal(env.get('PASSWORD'), 's3cret');
  assert.equal(env.get('URL'), 'http://10.1.2.3:80/$(MISSING)/$(POD_IP)');
});

test('a missing source fails with a coded error unless optional', () => {
  const p = pod();
  p.spec.containers[0]!.env = [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }];
  assert.throws(() => resolveEnv(p, p.spec.containers[0]!, '', lookups), (e: unknown) => EnvSourceMissing.is(e));
  p.spec.containers[0]!.env = [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }];
  assert.equal(resolveEnv(p, p.spec.containers[0]!, '', lookups).has('X'), false);
});

test('expandReferences', () => {
  assert.equal(expandReferences('$(A)-$(B)', new Map([['A', '1']])), '1-$(B)');
});
