// A replica's name must survive a container restart in its Pod (issue 11 item 5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serveConfigSchema } from '../config/serve-config.ts';
import { DEFAULT_MAX_IN_FLIGHT, pacingFor, replicaIdFrom } from './parts.ts';

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

test('adaptive pacing holds at most 32 in flight unless configured, and never more than the connections', () => {
  const kube = (k: Record<string, unknown>) => serveConfigSchema.shape.kubernetes.parse(k);
  const ceiling = (k: Record<string, unknown>) => {
    const p = pacingFor(kube(k));
    assert.ok('pacing' in p, 'adaptive');
    return p.pacing.maxLimit;
  };
  assert.equal(DEFAULT_MAX_IN_FLIGHT, 32);
  assert.equal(ceiling({}), 32, 'not the 128 connections');
  assert.equal(ceiling({ maxInFlight: 100 }), 100);
  assert.equal(ceiling({ maxInFlight: 100, connections: 64 }), 64);
  assert.equal(ceiling({ connections: 8 }), 8);
  assert.deepEqual(pacingFor(kube({ qps: 50 })), { rateLimit: { qps: 50, burst: 400 } });
});
