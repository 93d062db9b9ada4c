// The census itself, against the real test Redis: each way an item can end
// is classified as the invariant says (the tester's own test).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { takeCensus, settled } from '../../../harness/faults/count.ts';
import type { LedgerJob } from '../../../harness/faults/job-ledger.ts';
import { testEnv } from '../../support/env.ts';

let redis: Redis;
before(() => {
  redis = new Redis(testEnv().redisUrl);
});
after(() => {
  redis.disconnect();
});

const job = (requestId: string, uid = randomBytes(4).toString('hex')): LedgerJob => ({
  uid,
  name: `j-${uid}`,
  requestId,
  firstSeenMs: 0,
});

test('census: done, dead, queued, lost, duplicate, result missing', async () => {
  const p = `c${randomBytes(3).toString('hex')}`;
  const key = `${p}:queue`;
  const stream = `${p}:stream`;
  const results = { stream: `${p}:results`, hashPrefix: `${p}:result:` };
  const writeResult = async (id: string) => {
    await redis.hset(`${results.hashPrefix}${id}`, 'requestId', id, 'status', 'Succeeded');
    await redis.xadd(results.stream, '*', 'requestId', id, 'status', 'Succeeded');
  };
  await writeResult('done');
  await writeResult('twice');
  await writeResult('scoped');
  await redis.lpush(`${key}:dead`, JSON.stringify({ requestId: 'dead', code: 'X', reason: 'bad' }));
  await redis.lpush(key, JSON.stringify({ id: 'queued' }));
  await redis.lpush(
    `${key}:processing:r1`,
    JSON.stringify({ kjd: 1, id: 'held', payload: '{}', attempts: 1 }),
  );
  await redis.xgroup('CREATE', stream, 'kjd', '$', 'MKSTREAM');
  const pendingId = (await redis.xadd(stream, '*', 'payload', '{}')) ?? '';
  await redis.xreadgroup('GROUP', 'kjd', 'c1', 'COUNT', 1, 'STREAMS', stream, '>');
  const newId = (await redis.xadd(stream, '*', 'payload', '{}')) ?? '';
  const sent = ['done', 'twice', 'scoped', 'dead', 'queued', 'held', 'lost', 'nores'].map((requestId) => ({
    requestId,
  }));
  sent.push({ requestId: `${stream}/${pendingId}` }, { requestId: `${stream}/${newId}` });
  const jobs = [
    job('done'),
    job('twice'),
    job('twice'),
    job('route-a/scoped'),
    job('nores'),
    job('stranger'),
  ];

  const c = await takeCensus(redis, sent, jobs, { lists: [{ key }], streams: [{ stream }], results });
  assert.equal(c.items, 10);
  assert.equal(c.jobs, 6);
  assert.equal(c.done, 3, 'done, twice (one result), scoped (route-prefixed id)');
  assert.equal(c.deadLettered, 1);
  assert.deepEqual(c.deadReasons, { 'X: bad': 1 });
  assert.equal(c.queued, 4, 'list, processing list, pending entry, undelivered entry');
  assert.equal(c.lost, 1);
  assert.deepEqual(c.examples.lost, ['lost']);
  assert.equal(c.resultsMissing, 1);
  assert.equal(c.duplicates, 2, 'a second Job for "twice", a Job for an id never sent');
  assert.equal(settled(c), false);
  await redis.del(key, `${key}:dead`, `${key}:processing:r1`, stream, results.stream);
  await redis.del(...['done', 'twice', 'scoped'].map((id) => `${results.hashPrefix}${id}`));
});
