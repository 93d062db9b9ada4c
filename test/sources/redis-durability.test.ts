// redis.waitForReplicas against a real redis-server without a replica: WAIT
// never gets its confirmation, so a result write and a take must not count.
// The result is retried by its caller (ResultRecorder); taken items are back
// in the queue with the ids they were given, ready for the next take.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../../harness/redis.ts';
import { ReplicasBehindError } from '../../src/sources/redis-durability.ts';
import { redisOptions } from '../../src/sources/redis-connection.ts';
import { RedisListSource } from '../../src/sources/redis-list.ts';
import { RedisResults } from '../../src/tracking/results.ts';

const wait = { replicas: 1, timeoutMs: 50 };

describe('waitForReplicas with no replica', () => {
  let server: LocalRedis;
  let dir: string;
  const clients: Redis[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-durability-'));
    server = await startLocalRedis({ dir });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const conn = (role: 'commands' | 'blocking') => {
    const c = new Redis(server.url, redisOptions(role));
    clients.push(c);
    return c;
  };

  test('a result write is not done: ReplicasBehindError, and the retry finds it written', async () => {
    const p = `d${randomBytes(3).toString('hex')}`;
    const results = new RedisResults({
      redis: conn('commands'),
      hashPrefix: `${p}:r:`,
      stream: `${p}:rs`,
      waitForReplicas: wait,
    });
    const result = {
      requestId: 'a',
      idScope: 's',
      jobName: 'j',
      namespace: 'n',
      template: 't',
      status: 'Succeeded' as const,
    };
    await assert.rejects(results.write(result), ReplicasBehindError);
    await assert.rejects(results.write(result), ReplicasBehindError, 'the retry waits again');
    assert.equal(await results.exists('a', 's'), true);
    assert.equal(await conn('commands').xlen(`${p}:rs`), 1, 'one record, however often it is retried');
  });

  test('taken items go back to the queue with their request ids', async () => {
    const p = `d${randomBytes(3).toString('hex')}`;
    const redis = conn('commands');
    const source = new RedisListSource({
      redis, blockingRedis: conn('blocking'), key: `${p}:q`, replicaId: 'r1', blockMs: 50, waitForReplicas: wait,
    }); // prettier-ignore
    await redis.lpush(
      `${p}:q`,
      JSON.stringify({ CUSTOM_ID: '1' }),
      JSON.stringify({ id: 'x', CUSTOM_ID: '2' }),
    );
    await source.start();
    const signal = new AbortController().signal;
    await assert.rejects(source.nextBatch(10, signal), ReplicasBehindError);
    const queued = await redis.lrange(`${p}:q`, 0, -1);
    assert.equal(queued.length, 2, 'both back in the queue');
    assert.equal(await redis.llen(`${p}:q:processing:r1`), 0);
    const ids = queued.map((v) => v.split('\n')[2]);
    await assert.rejects(source.nextBatch(10, signal), ReplicasBehindError);
    assert.deepEqual(
      (await redis.lrange(`${p}:q`, 0, -1)).map((v) => v.split('\n')[2]),
      ids,
      'taken again: the same request ids',
    );
    await source.stop();
  });
});
