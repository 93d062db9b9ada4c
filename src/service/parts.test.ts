// A replica's name must survive a container restart in its Pod (issue 11 item 5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replicaIdFrom } from './parts.ts';

test('the replica id is stable in a Pod: KJD_REPLICA_ID or POD_NAME, the same on every start', () => {
  assert.equal(replicaIdFrom({ POD_NAME: 'kjd-7d9f-abcde' }), 'kjd-7d9f-abcde');
  assert.equal(replicaIdFrom({ POD_NAME: 'kjd-7d9f-abcde' }), replicaIdFrom({ POD_NAME: 'kjd-7d9f-abcde' }));
  assert.equal(
    replicaIdFrom({ KJD_REPLICA_ID: 'a:b', POD_NAME: 'p' }),
    'a-b',
    'no ":" (it is part of Redis keys)',
  );
  assert.equal(replicaIdFrom({ POD_NAME: 'p' }, 'flag'), 'flag');
});

test('outside a Pod, a fresh id per process (two local replicas never share a processing list)', () => {
  assert.notEqual(replicaIdFrom({}), replicaIdFrom({}));
});
