import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.js';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from './finalizers.js';
import { openTestStore } from './testing/test-store.js';

const F = 'meshbox.io/network';

test('a finalizer holds a deleted object until it is removed', () => {
  const ts = openTestStore();
  try {
    const { store } = ts;
    const created = store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'ns', name: 'p' }, spec: {} });
    const frozen = Object.freeze(created) as KubeObject;
    const withF = addFinalizer(frozen, F);
    assert.ok(withF && hasFinalizer(withF, F));
    assert.equal(addFinalizer(withF, F), undefined, 'adding twice changes nothing');
    store.update('pods', withF);

    store.delete('pods', 'ns', 'p');
    const terminating = store.get('pods', 'ns', 'p') as KubeObject;
    assert.ok(isBeingDeleted(terminating), 'still there, with deletionTimestamp');

    const without = removeFinalizer(terminating, F);
    assert.ok(without);
    assert.equal(removeFinalizer(without, F), undefined);
    store.update('pods', without);
    assert.equal(store.get('pods', 'ns', 'p'), undefined, 'gone once the last finalizer is removed');
  } finally {
    ts.cleanup();
  }
});
