// The harness's Redis is Debian's redis-server with append-only persistence:
// data written before a graceful restart or a SIGKILL is there afterwards.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../../harness/redis.ts';
import { testEnv } from '../support/env.ts';

describe('the harness Redis', () => {
  let redis: LocalRedis;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-redis-test-'));
    redis = await startLocalRedis({ dir });
  });
  after(async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const withClient = async <T>(fn: (c: Redis) => Promise<T>): Promise<T> => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      return await fn(c);
    } finally {
      c.disconnect();
    }
  };

  test('the shared test Redis answers', async () => {
    const c = new Redis(testEnv().redisUrl);
    try {
      assert.equal(await c.ping(), 'PONG');
    } finally {
      c.disconnect();
    }
  });

  test('runs with appendonly on, on loopback', async () => {
    const config = await withClient((c) => c.config('GET', 'appendonly'));
    assert.deepEqual(config, ['appendonly', 'yes']);
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  });

  test('keeps its data across a graceful restart', async () => {
    await withClient(async (c) => {
      await c.rpush('queue', 'a', 'b', 'c');
      await c.set('key', 'value');
    });
    const pidBefore = redis.process().pid;
    await redis.restart();
    assert.notEqual(redis.process().pid, pidBefore, 'a new process');
    await withClient(async (c) => {
      assert.deepEqual(await c.lrange('queue', 0, -1), ['a', 'b', 'c']);
      assert.equal(await c.get('key'), 'value');
    });
  });

  test('keeps every acknowledged write across a SIGKILL (appendfsync always)', async () => {
    await withClient(async (c) => {
      await c.rpush('queue', 'd');
    });
    await redis.crashAndRestart();
    await withClient(async (c) => {
      assert.deepEqual(await c.lrange('queue', 0, -1), ['a', 'b', 'c', 'd']);
    });
  });
});
