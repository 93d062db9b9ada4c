// The Redis list source against a real redis-server: nothing is lost or
// delivered under two ids, whatever happens between take and ack.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../../harness/redis.ts';
import { redisOptions } from '../../src/sources/redis-connection.ts';
import { RedisListSource } from '../../src/sources/redis-list.ts';
import type { WorkItem } from '../../src/sources/source.ts';

describe('RedisListSource', () => {
  let redis: LocalRedis;
  let dir: string;
  const clients: Redis[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-list-'));
    redis = await startLocalRedis({ dir });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // As kjd serve connects (auto-pipelining, timeouts): what the source meets in production.
  const conn = () => {
    const c = new Redis(redis.url, redisOptions('commands'));
    clients.push(c);
    return c;
  };
  const queue = () => `q:${randomBytes(4).toString('hex')}`;
  const source = (key: string, replicaId: string, heartbeatTtlMs = 15_000) =>
    new RedisListSource({
      redis: conn(),
      blockingRedis: conn(),
      key,
      replicaId,
      blockMs: 100,
      heartbeatTtlMs,
    });
  const signal = () => new AbortController().signal;

  test('takes items in FIFO order; the producer id becomes the request id, or one is made', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"id":"order-1","CUSTOM_ID":1}', '{"CUSTOM_ID":2}', 'not json');
    const s = source(key, 'a');
    await s.start();
    const items = [await s.next(signal()), await s.next(signal()), await s.next(signal())];
    assert.equal(items[0]?.requestId, 'order-1');
    assert.equal(items[0].payload, '{"id":"order-1","CUSTOM_ID":1}');
    // Made by the take script itself, atomically with the move: <queue>/<redis time>.<counter>.
    assert.match(items[1]?.requestId ?? '', new RegExp(`^${key}/\\d+\\.\\d+\\.\\d+$`));
    assert.equal(items[2]?.payload, 'not json');
    assert.ok(items.every((i) => i?.attempts === 1));
    assert.equal(await s.next(signal()), undefined, 'empty queue: undefined after blockMs');
    assert.equal(await r.llen(`${key}:processing:a`), 3, 'held until acked');
    for (const i of items) await s.ack(i!);
    assert.equal(await r.llen(`${key}:processing:a`), 0);
    await s.stop();
  });

  test('stop() hands unacknowledged items back with their id; the next taker sees attempt 2', async () => {
    const key = queue();
    await conn().lpush(key, '{"x":1}');
    const a = source(key, 'a');
    await a.start();
    const first = await a.next(signal());
    await a.stop();
    const b = source(key, 'b');
    await b.start();
    const again = await b.next(signal());
    assert.ok(again);
    assert.equal(again.requestId, first?.requestId);
    assert.equal(again.payload, '{"x":1}');
    assert.equal(again.attempts, 2);
    await b.stop();
  });

  test("a dead replica's items are recovered with the same ids once its heartbeat expires", async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"n":1}', '{"n":2}');
    // A replica that registered, took two items and died (no heartbeat, no ack, no stop).
    const dying = source(key, 'dying', 400);
    await r.sadd(`${key}:replicas`, 'dying');
    const taken = [await dying.next(signal()), await dying.next(signal())];
    const survivor = source(key, 'survivor', 400);
    await survivor.start(); // start() already recovers what dead replicas hold
    assert.equal(await r.llen(`${key}:processing:dying`), 0);
    const got = [await survivor.next(signal()), await survivor.next(signal())];
    assert.deepEqual(got.map((i) => i?.requestId).sort(), taken.map((i) => i?.requestId).sort());
    assert.equal(await r.llen(`${key}:processing:dying`), 0);
    await survivor.stop();
  });

  test('dead-letter keeps the payload, the reason and the attempt count', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"bad":true}');
    const s = source(key, 'a');
    await s.start();
    const item = (await s.next(signal()))!;
    await s.deadLetter(item, {
      reason: 'parameter CUSTOM_ID: a value is required',
      code: 'PARAMETER_INVALID',
    });
    const [record] = await r.lrange(`${key}:dead`, 0, -1);
    const dead = JSON.parse(record ?? '{}') as Record<string, unknown>;
    assert.equal(dead.payload, '{"bad":true}');
    assert.equal(dead.code, 'PARAMETER_INVALID');
    assert.equal(dead.attempts, 1);
    assert.equal(await r.llen(`${key}:processing:a`), 0);
    assert.equal(await s.depth(), 0);
    await s.stop();
  });

  test('two replicas never take the same item', async () => {
    const key = queue();
    await conn().lpush(key, ...Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `i-${i}` })));
    const drain = async (s: RedisListSource) => {
      await s.start();
      const ids: string[] = [];
      for (let item: WorkItem | undefined; (item = await s.next(signal())) !== undefined;) {
        ids.push(item.requestId);
        await s.ack(item);
      }
      await s.stop();
      return ids;
    };
    const [a, b] = await Promise.all([drain(source(key, 'a')), drain(source(key, 'b'))]);
    assert.equal(new Set([...a, ...b]).size, 200);
    assert.equal(a.length + b.length, 200);
  });

  test('the same producer id sent twice: each delivery is acknowledged on its own', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"id":"dup","n":1}', '{"id":"dup","n":1}');
    const s = source(key, 'a');
    await s.start();
    const first = await s.next(signal());
    const second = await s.next(signal());
    assert.ok(first && second);
    await s.ack(first);
    await s.ack(second);
    assert.equal(await r.llen(`${key}:processing:a`), 0, 'no envelope left behind');
    await s.stop();
  });

  test('a replica restarted under the same id takes back what its last run held', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"n":1}');
    const crashed = source(key, 'same');
    const held = await crashed.next(signal()); // taken, never acknowledged: the process "dies"
    const restarted = source(key, 'same');
    await restarted.start();
    const again = await restarted.next(signal());
    assert.equal(again?.requestId, held?.requestId);
    await restarted.stop();
  });

  test('an aborted signal takes nothing', async () => {
    const key = queue();
    await conn().lpush(key, '{}');
    const s = source(key, 'a');
    await s.start();
    const ac = new AbortController();
    ac.abort();
    assert.equal(await s.next(ac.signal), undefined);
    assert.equal(await s.depth(), 1);
    await s.stop();
  });

  test('nextBatch takes up to max waiting items in FIFO order; stop() puts them back in that order', async () => {
    const key = queue();
    const r = conn();
    const sent = [0, 1, 2, 3, 4].map((i) => `{"id":"b${String(i)}"}`);
    await r.lpush(key, ...sent);
    const s = source(key, 'a');
    await s.start();
    const first = await s.nextBatch(3, signal());
    const second = await s.nextBatch(10, signal());
    assert.deepEqual(
      [...first, ...second].map((i) => i.requestId),
      ['b0', 'b1', 'b2', 'b3', 'b4'],
    );
    assert.equal(await r.llen(`${key}:processing:a`), 5, 'every taken item is held in Redis');
    assert.deepEqual(await s.nextBatch(5, signal()), [], 'empty: waits blockMs like next(), then nothing');
    await s.stop();
    const again = source(key, 'b');
    await again.start();
    const redelivered = await again.nextBatch(10, signal());
    assert.deepEqual(
      redelivered.map((i) => [i.requestId, i.attempts]),
      sent.map((_, i) => [`b${String(i)}`, 2]),
    );
    await again.stop();
  });

  test('a batch taken while the signal aborts goes back to the queue, in order, with the ids it was given', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"id":"x0"}', '{"CUSTOM_ID":1}', '{"id":"x2"}');
    const s = source(key, 'a');
    await s.start();
    const ac = new AbortController();
    const taking = s.nextBatch(3, ac.signal);
    ac.abort(); // after the take was sent, before its answer
    assert.deepEqual(await taking, []);
    assert.equal(await r.llen(key), 3);
    assert.equal(await r.llen(`${key}:processing:a`), 0);
    const again = await s.nextBatch(3, new AbortController().signal);
    assert.deepEqual(
      again.map((i) => i.payload),
      ['{"id":"x0"}', '{"CUSTOM_ID":1}', '{"id":"x2"}'],
    );
    await s.stop();
  });

  test('an item without an id gets its id in the same atomic step as the move: one EVAL, no second write (issue 11.3)', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"CUSTOM_ID":1}');
    const s = source(key, 'a');
    await s.start();
    const monitor = await conn().monitor();
    const commands: string[][] = [];
    // Commands a script runs show up too, from source "lua": only the client's own count.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(args);
    });
    const [item] = await s.nextBatch(1, signal());
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    const writes = commands.filter((c) => /^(eval|lset|lrem|lpush|rpush|lmove|blmove)$/i.test(c[0] ?? ''));
    assert.equal(writes.length, 1, `one write takes and names the item: ${JSON.stringify(writes)}`);
    const [stored] = await r.lrange(`${key}:processing:a`, 0, -1);
    assert.ok(stored?.includes(item?.requestId ?? '?'), 'the id is in Redis with the move');
    await s.stop();
  });

  test('an element that is not UTF-8 is dead-lettered with its bytes and leaves no orphan (issue 11.8)', async () => {
    const key = queue();
    const r = conn();
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"\xff\xfe"}
    await r.lpush(key, bytes);
    const s = source(key, 'a');
    await s.start();
    for (const item of await s.nextBatch(1, signal()))
      await s.deadLetter(item, { reason: 'not JSON', code: 'ITEM_NOT_JSON' });
    assert.equal(await r.llen(`${key}:processing:a`), 0, 'nothing left behind in processing');
    const [record] = await r.lrange(`${key}:dead`, 0, -1);
    const dead = JSON.parse(record ?? '{}') as { payloadBase64?: string; code?: string };
    assert.equal(dead.code, 'ITEM_NOT_UTF8');
    assert.equal(dead.payloadBase64, bytes.toString('base64'), 'the exact bytes are kept');
    await s.stop();
  });

  test('an element orphaned in the processing list (an error between move and hand-out) goes back to the queue (issue 11.8)', async () => {
    const key = queue();
    const r = conn();
    const s = source(key, 'a');
    await s.start();
    await r.lpush(`${key}:processing:a`, '{"id":"orphan"}');
    assert.equal(await s.reconcile(), 0, 'first sighting: it may be mid-take');
    assert.equal(await s.reconcile(), 1, 'second: it is an orphan');
    assert.equal(await r.llen(`${key}:processing:a`), 0);
    const [item] = await s.nextBatch(1, signal());
    assert.equal(item?.requestId, 'orphan');
    await s.stop();
  });

  test('release() puts an item back at the consumer end with its id; it is taken next (issue 11.8)', async () => {
    const key = queue();
    const r = conn();
    await r.lpush(key, '{"CUSTOM_ID":1}', '{"CUSTOM_ID":2}');
    const s = source(key, 'a');
    await s.start();
    const [first] = await s.nextBatch(1, signal());
    assert.ok(first);
    await s.release(first);
    assert.equal(await r.llen(`${key}:processing:a`), 0);
    const [again] = await s.nextBatch(1, signal());
    assert.equal(again?.requestId, first.requestId);
    assert.equal(again.payload, first.payload);
    assert.equal(again.attempts, 2);
    await s.stop();
  });
});
