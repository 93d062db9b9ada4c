// The Redis stream source against a real redis-server: delivery, recovery of
// a dead consumer's entries, dead-lettering and lag are Redis's to decide, so
// nothing here is faked. Each test uses its own stream.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startLocalRedis, type LocalRedis } from '../../harness/redis.ts';
import { RedisStreamSource, type RedisStreamSourceOptions } from '../../src/sources/redis-stream.ts';
import type { WorkItem } from '../../src/sources/source.ts';

const GROUP = 'kjd';

describe('RedisStreamSource', () => {
  let server: LocalRedis;
  let dir: string;
  let redis: Redis;
  const connections: Redis[] = [];
  const sources: RedisStreamSource[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-redis-stream-'));
    server = await startLocalRedis({ dir });
    redis = connect();
  });
  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    for (const c of connections) c.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function connect(): Redis {
    const c = new Redis(server.url, { maxRetriesPerRequest: 1 });
    connections.push(c);
    return c;
  }

  const newStream = (): string => `kjd:test:${randomUUID()}`;

  /**
   * A source with its own blocking connection and short waits; stopped after
   * all tests. Its group starts at 0, so entries added before start() count
   * (kjd's default, `$`, is tested on its own).
   */
  function source(stream: string, options: Partial<RedisStreamSourceOptions> = {}): RedisStreamSource {
    const s = new RedisStreamSource({
      redis,
      blockingRedis: connect(),
      stream,
      group: GROUP,
      consumer: 'a',
      blockMs: 100,
      startId: '0',
      ...options,
    });
    sources.push(s);
    return s;
  }

  /** Calls next() until an item comes (next() resolves undefined after each empty block). */
  async function take(s: RedisStreamSource, timeoutMs = 5000): Promise<WorkItem> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (!signal.aborted) {
      const item = await s.next(signal);
      if (item !== undefined) return item;
    }
    throw new Error(`no item within ${timeoutMs} ms`);
  }

  const pendingCount = async (stream: string): Promise<number> => {
    const [count] = (await redis.xpending(stream, GROUP)) as [number, ...unknown[]];
    return count;
  };

  test('delivers XADDed entries in order with requestId, payload, attempts 1 and the enqueue time', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    const before = Date.now();
    const first = await redis.xadd(stream, '*', 'payload', '{"n":1}');
    const second = await redis.xadd(stream, '*', 'payload', '{"n":2}', 'other', 'ignored');
    assert.ok(first !== null && second !== null);

    const a = await take(s);
    const b = await take(s);
    assert.equal(a.requestId, `${stream}/${first}`);
    assert.equal(a.payload, '{"n":1}');
    assert.equal(a.attempts, 1);
    assert.equal(a.enqueuedAtMs, Number(first.split('-')[0]));
    assert.ok(a.receivedAtMs >= before);
    assert.equal(b.requestId, `${stream}/${second}`);
    assert.equal(b.payload, '{"n":2}');
    assert.equal(s.name, `redis-stream:${stream}`);
  });

  test('start() is idempotent and creates the group even before the stream exists', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    await s.start();
    await source(stream, { consumer: 'b' }).start();
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[];
    assert.equal(groups.length, 1);
  });

  test('ack removes the entry from the pending list', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    await redis.xadd(stream, '*', 'payload', 'x');
    const item = await take(s);
    assert.equal(await pendingCount(stream), 1);
    await s.ack(item);
    assert.equal(await pendingCount(stream), 0);
    assert.equal(
      await redis.xlen(stream),
      1,
      'the entry stays in the stream: trimming is not the source’s job',
    );
  });

  test('an unacked entry of a consumer that died is claimed by another after claimIdleMs, same requestId, attempts 2', async () => {
    const stream = newStream();
    const a = source(stream, { consumer: 'a', claimIdleMs: 200 });
    await a.start();
    await redis.xadd(stream, '*', 'payload', 'work');
    const taken = await take(a);
    await a.stop(); // "dies" without acking

    const b = source(stream, { consumer: 'b', claimIdleMs: 200 });
    const claimed = await take(b);
    assert.equal(claimed.requestId, taken.requestId);
    assert.equal(claimed.payload, 'work');
    assert.equal(claimed.attempts, 2);
    const [[, owner]] = (await redis.xpending(stream, GROUP, '-', '+', 10)) as [[string, string]];
    assert.equal(owner, 'b');
    await b.ack(claimed);
    assert.equal(await pendingCount(stream), 0);
  });

  test('does not claim back its own entry while it is still being worked on', async () => {
    const stream = newStream();
    const s = source(stream, { claimIdleMs: 200 });
    await s.start();
    await redis.xadd(stream, '*', 'payload', 'slow');
    const slow = await take(s);
    await delay(300); // longer than claimIdleMs: XAUTOCLAIM now sees it as idle
    const newer = await redis.xadd(stream, '*', 'payload', 'next');
    const item = await take(s);
    assert.equal(item.requestId, `${stream}/${newer}`);
    assert.notEqual(item.requestId, slow.requestId);
  });

  test('a restarted consumer gets its own pending entries back first, before new ones', async () => {
    const stream = newStream();
    const first = source(stream, { consumer: 'replica-1' });
    await first.start();
    await redis.xadd(stream, '*', 'payload', 'one');
    await redis.xadd(stream, '*', 'payload', 'two');
    const one = await take(first);
    const two = await take(first);
    await first.stop();
    await redis.xadd(stream, '*', 'payload', 'three');

    const restarted = source(stream, { consumer: 'replica-1' });
    const again = [await take(restarted), await take(restarted), await take(restarted)];
    assert.deepEqual(
      again.map((i) => [i.requestId, i.attempts]),
      [
        [one.requestId, 2],
        [two.requestId, 2],
        [again[2]?.requestId, 1],
      ],
    );
    assert.equal(again[2]?.payload, 'three');
  });

  test('dead-letters with reason, code and payload in the dead stream, and acks the entry', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    const id = await redis.xadd(stream, '*', 'payload', '{"image":""}');
    const item = await take(s);
    await s.deadLetter(item, { reason: 'parameter "image" is empty', code: 'PARAMETER_INVALID' });

    const dead = await redis.xrange(`${stream}:dead`, '-', '+');
    assert.equal(dead.length, 1);
    const fields = Object.fromEntries(pairs(dead[0]?.[1] ?? []));
    assert.equal(fields['payload'], '{"image":""}');
    assert.equal(fields['reason'], 'parameter "image" is empty');
    assert.equal(fields['code'], 'PARAMETER_INVALID');
    assert.equal(fields['attempts'], '1');
    assert.equal(fields['source'], stream);
    assert.equal(fields['entryId'], id);
    assert.ok(!Number.isNaN(Date.parse(fields['failedAt'] ?? '')));
    assert.equal(await pendingCount(stream), 0);
  });

  test('an entry without the payload field is delivered as JSON of all its fields, not lost', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    await redis.xadd(stream, '*', 'body', 'hello', 'kind', 'greeting');
    const item = await take(s);
    assert.deepEqual(JSON.parse(item.payload), { body: 'hello', kind: 'greeting' });
  });

  test('reads the item from the configured payloadField', async () => {
    const stream = newStream();
    const s = source(stream, { payloadField: 'job' });
    await s.start();
    await redis.xadd(stream, '*', 'payload', 'not this', 'job', 'this');
    assert.equal((await take(s)).payload, 'this');
  });

  test('depth counts the entries not yet delivered to the group', async () => {
    const stream = newStream();
    const s = source(stream);
    assert.equal(await s.depth(), 0, 'no stream yet');
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'payload', String(i));
    assert.equal(await s.depth(), 5, 'no group yet: nothing delivered');
    await s.start();
    assert.equal(await s.depth(), 5);
    const item = await take(s);
    await take(s);
    assert.equal(await s.depth(), 3);
    await s.ack(item);
    assert.equal(await s.depth(), 3, 'acking does not change what is undelivered');
  });

  test('next() resolves undefined soon after its signal aborts, well before blockMs', async () => {
    const blockMs = 3000;
    const s = source(newStream(), { blockMs });
    await s.start();
    const controller = new AbortController();
    const started = Date.now();
    const pending = s.next(controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 50);
    assert.equal(await pending, undefined);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < blockMs + 500, `resolved after ${elapsed} ms`);
    assert.ok(elapsed < 1000, `resolved after ${elapsed} ms, expected shortly after the abort at 50 ms`);
    assert.equal(await s.next(AbortSignal.abort()), undefined, 'an aborted signal takes nothing');
  });

  test('an entry taken by a read still blocked after an abort is returned by the next call', async () => {
    const stream = newStream();
    const s = source(stream, { blockMs: 1000 });
    await s.start();
    assert.equal(await s.next(AbortSignal.timeout(50)), undefined);
    const id = await redis.xadd(stream, '*', 'payload', 'late');
    const item = await take(s);
    assert.equal(item.requestId, `${stream}/${id}`);
    assert.equal(item.attempts, 1);
  });

  test('after stop() next() takes nothing; unacked entries stay pending and ack still works', async () => {
    const stream = newStream();
    const s = source(stream);
    await s.start();
    await redis.xadd(stream, '*', 'payload', 'in-flight');
    await redis.xadd(stream, '*', 'payload', 'waiting');
    const item = await take(s);
    await s.stop();
    await s.stop();
    assert.equal(await s.next(new AbortController().signal), undefined);
    assert.equal(await pendingCount(stream), 1);
    assert.equal(await s.depth(), 1);
    await s.ack(item);
    assert.equal(await pendingCount(stream), 0);
  });

  test('two consumers in one group never get the same entry', async () => {
    const stream = newStream();
    const total = 200;
    const pipeline = redis.pipeline();
    for (let i = 0; i < total; i++) pipeline.xadd(stream, '*', 'payload', String(i));
    await pipeline.exec();
    const a = source(stream, { consumer: 'a' });
    const b = source(stream, { consumer: 'b' });
    await Promise.all([a.start(), b.start()]);

    const signal = AbortSignal.timeout(20_000);
    const got = { a: [] as string[], b: [] as string[] };
    const count = (): number => got.a.length + got.b.length;
    const drain = async (s: RedisStreamSource, into: string[]): Promise<void> => {
      while (count() < total && !signal.aborted) {
        const item = await s.next(signal);
        if (item === undefined) continue;
        into.push(item.requestId);
        await s.ack(item);
      }
    };
    await Promise.all([drain(a, got.a), drain(b, got.b)]);

    const union = new Set([...got.a, ...got.b]);
    assert.equal(union.size, total);
    assert.equal(count(), total, 'no entry delivered twice');
    assert.deepEqual(
      got.a.filter((id) => got.b.includes(id)),
      [],
    );
    assert.equal(await pendingCount(stream), 0);
  });

  test('the constructor rejects bad options naming the field, and starts nothing', async () => {
    const stream = newStream();
    const base = { redis, blockingRedis: connect(), stream, group: GROUP, consumer: 'a' };
    assert.throws(() => new RedisStreamSource({ ...base, stream: '' }), {
      name: 'TypeError',
      message: /^stream:/,
    });
    assert.throws(() => new RedisStreamSource({ ...base, consumer: '' }), {
      name: 'TypeError',
      message: /^consumer:/,
    });
    assert.throws(() => new RedisStreamSource({ ...base, blockMs: 0 }), {
      name: 'TypeError',
      message: /^blockMs:/,
    });
    assert.throws(() => new RedisStreamSource({ ...base, claimIdleMs: 1.5 }), {
      name: 'TypeError',
      message: /^claimIdleMs:/,
    });
    assert.throws(() => new RedisStreamSource({ ...base, blockingRedis: redis }), {
      name: 'TypeError',
      message: /^blockingRedis:/,
    });
    assert.throws(() => new RedisStreamSource({ ...base, deadLetterStream: stream }), {
      name: 'TypeError',
      message: /^deadLetterStream:/,
    });
    const ok = new RedisStreamSource(base);
    assert.equal(ok.name, `redis-stream:${stream}`);
    assert.equal(await redis.exists(stream), 0, 'no group (and so no stream) made before start()');
  });

  test('ack rejects an item from another source', async () => {
    const s = source(newStream());
    const foreign: WorkItem = { requestId: 'other/1-0', payload: '', attempts: 1, receivedAtMs: 0 };
    await assert.rejects(s.ack(foreign), { name: 'TypeError' });
  });

  test('a missing group is made at $ by default: entries from before are not replayed (issue 11.2)', async () => {
    const stream = newStream();
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'payload', `old-${i}`);
    const s = source(stream, { startId: '$' });
    await s.start();
    const fresh = await redis.xadd(stream, '*', 'payload', 'new');
    const item = await take(s);
    assert.equal(item.requestId, `${stream}/${fresh ?? ''}`);
    assert.equal(await s.next(AbortSignal.timeout(5000)), undefined, 'none of the 5 old entries');
  });

  test('a group destroyed while reading is made again after the last entry seen, not at 0 (issue 11.2)', async () => {
    const stream = newStream();
    const recreated: string[] = [];
    const s = source(stream, { onGroupRecreated: (at) => recreated.push(at) });
    await s.start();
    for (let i = 0; i < 5; i++) await redis.xadd(stream, '*', 'payload', `old-${i}`);
    for (let i = 0; i < 5; i++) await s.ack(await take(s));
    await redis.xgroup('DESTROY', stream, GROUP);
    assert.equal(await s.next(AbortSignal.timeout(5000)), undefined);
    assert.equal(recreated.length, 1, 'said so');
    const fresh = await redis.xadd(stream, '*', 'payload', 'new');
    const item = await take(s);
    assert.equal(item.requestId, `${stream}/${fresh ?? ''}`, 'none of the 5 old entries ran again');
  });

  test('reclaiming idle entries hands each out once, and counts no delivery of an entry still held (issue 11.4)', async () => {
    const stream = newStream();
    for (let i = 0; i < 12; i++) await redis.xadd(stream, '*', 'payload', String(i));
    // Consumer "dead" took all 12 and died.
    await source(stream, { consumer: 'dead' }).start();
    await redis.xreadgroup('GROUP', GROUP, 'dead', 'COUNT', 12, 'STREAMS', stream, '>');
    const s = source(stream, { consumer: 'b', claimIdleMs: 50 });
    await s.start();
    await delay(100);
    const first = await take(s);
    await delay(100); // the first one, held and not acked, idles past claimIdleMs
    const rest: WorkItem[] = [];
    for (let i = 0; i < 11; i++) rest.push(await take(s));
    const ids = [first, ...rest].map((i) => i.requestId);
    assert.equal(new Set(ids).size, 12, 'each entry handed out once');
    // All 12 held, none acked, idling past claimIdleMs while claim passes go on.
    for (let i = 0; i < 5; i++) {
      await delay(60);
      assert.equal(await s.next(AbortSignal.timeout(1000)), undefined, 'nothing handed out again');
    }
    const pending = (await redis.xpending(stream, GROUP, '-', '+', 20)) as [string, string, number, number][];
    assert.ok(
      pending.every(([, consumer, , deliveries]) => consumer === 'b' && deliveries === 2),
      `delivered once to "dead" and once to "b": ${JSON.stringify(pending)}`,
    );
  });
});

function pairs(fields: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i] ?? '', fields[i + 1] ?? '']);
  return out;
}
