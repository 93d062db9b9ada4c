import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTransientRedisError, layoutFor } from './redis-connection.ts';

test('failover and resharding replies are transient; a wrong command is not', () => {
  for (const reply of [
    'CLUSTERDOWN The cluster is down',
    "READONLY You can't write against a read only replica.",
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'LOADING Redis is loading the dataset in memory',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
    'NOREPLICAS Not enough good replicas to write.',
  ])
    assert.equal(isTransientRedisError(new Error(reply)), true, reply);
  assert.equal(isTransientRedisError(new Error('ERR unknown command')), false);
  assert.equal(isTransientRedisError(new Error('CROSSSLOT Keys in request')), false);
  assert.equal(isTransientRedisError('READONLY'), false, 'only Errors');
});

test('only Redis Cluster uses the slotted key layout', () => {
  assert.equal(layoutFor({ url: 'redis://r:6379' }), 'plain');
  assert.equal(layoutFor({ sentinel: { name: 'kjd', sentinels: [{ host: 's', port: 26379 }] } }), 'plain');
  assert.equal(layoutFor({ cluster: { nodes: [{ host: 'r', port: 7000 }] } }), 'slotted');
});
