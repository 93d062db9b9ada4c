// `kjd serve` fed through a Redis stream with a consumer group, next to a
// list route in the same process: one Job per entry, the entry id as the
// request id, results and dead letters.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

describe('kjd serve with a Redis stream and a list in one process', () => {
  const ns = useNamespace('serve-stream');
  let dir: string;
  let redis: Redis;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-serve-stream-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    '200 stream entries and 20 list items: a Job each, results by entry id',
    { timeout: 180_000 },
    async () => {
      const p = `s${randomBytes(3).toString('hex')}`;
      const file = await writeServeConfig(dir, p, {
        results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
        routes: [
          {
            name: 'events',
            template,
            namespace: ns.name,
            source: { type: 'redis-stream', stream: `${p}:stream`, group: 'kjd', claimIdleMs: 5000 },
          },
          { name: 'queue', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:queue` } },
        ],
      });
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const payload = JSON.stringify({
          CUSTOM_ID: String(i),
          ...(i % 50 === 0 ? { OUTCOME: 'fail' } : {}),
        });
        ids.push((await redis.xadd(`${p}:stream`, '*', 'payload', payload)) ?? '');
      }
      await redis.xadd(`${p}:stream`, '*', 'payload', '{"CUSTOM_ID": 7}'); // an integer where a string is declared
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `${p}-l${i}`, CUSTOM_ID: `l${i}` })),
      );
      const kjd = await startServe(file, dir, `${p}-a`);

      await eventually(
        'a result for every entry and list item',
        async () => {
          const keys = [
            ...ids.map((id) => `${p}:result:${p}:stream/${id}`),
            ...Array.from({ length: 20 }, (_, i) => `${p}:result:${p}-l${i}`),
          ];
          const present = await Promise.all(keys.map((k) => redis.exists(k)));
          return present.every((x) => x === 1) ? true : undefined;
        },
        150_000,
      );
      const jobs = await testEnv().admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns.name });
      assert.equal(jobs.items.length, 220);
      const failed = await redis.hgetall(`${p}:result:${p}:stream/${ids[50] ?? ''}`);
      assert.equal(failed.status, 'Failed');
      const dead = await redis.xrange(`${p}:stream:dead`, '-', '+');
      assert.equal(dead.length, 1);
      const fields = Object.fromEntries(
        (dead[0]?.[1] ?? []).reduce<string[][]>(
          (acc, v, i) => (i % 2 === 0 ? [...acc, [v]] : (acc.at(-1)?.push(v), acc)),
          [],
        ),
      ) as Record<string, string>;
      assert.equal(fields.code, 'PARAMETER_INVALID');
      assert.match(fields.reason ?? '', /CUSTOM_ID/);
      const pending = (await redis.xpending(`${p}:stream`, 'kjd')) as [number, ...unknown[]];
      assert.equal(pending[0], 0, 'every entry acknowledged');

      kjd.child.kill('SIGTERM');
      assert.equal(await kjd.exited, 0);
    },
  );
});
