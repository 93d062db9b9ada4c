// The acceptance run: one `kjd serve` with a Redis-list route, a
// Redis-stream route and an HTTP route. 200 + 200 + 50 good items -> exactly
// 450 Jobs, some failing on purpose; every result readable from Redis and over
// HTTP; the bad items dead-lettered with their reasons.
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

const item = (i: number, extra: Record<string, unknown> = {}) => ({
  CUSTOM_ID: String(i),
  ...(i % 25 === 0 ? { OUTCOME: 'fail' } : {}),
  ...extra,
});

describe('kjd serve: list, stream and HTTP in one process', () => {
  const ns = useNamespace('serve-all');
  let dir: string;
  let redis: Redis;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-serve-all-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    '200 list + 200 stream + 50 HTTP items: exactly 450 Jobs, results in Redis and over HTTP, dead letters',
    { timeout: 240_000 },
    async () => {
      const p = `a${randomBytes(3).toString('hex')}`;
      const file = await writeServeConfig(dir, p, {
        http: { auth: { mode: 'none' } },
        results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
        routes: [
          { name: 'list', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:queue` } },
          {
            name: 'events',
            template,
            namespace: ns.name,
            source: { type: 'redis-stream', stream: `${p}:stream`, group: 'kjd', claimIdleMs: 5000 },
          },
          { name: 'api', template, namespace: ns.name, source: { type: 'http' } },
        ],
      });
      const kjd = await startServe(file, dir, `${p}-a`);

      // Redis list: producer ids; plus two bad items.
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: 200 }, (_, i) => JSON.stringify(item(i, { id: `${p}-l${i}` }))),
        '{oops',
        JSON.stringify({ id: `${p}-l-bad`, CUSTOM_ID: 3 }),
      );
      // Redis stream: the entry id is the request id; plus one bad entry.
      const entryIds: string[] = [];
      for (let i = 0; i < 200; i++)
        entryIds.push(
          (await redis.xadd(`${p}:stream`, '*', 'payload', JSON.stringify(item(1000 + i)))) ?? '',
        );
      await redis.xadd(`${p}:stream`, '*', 'payload', JSON.stringify({ OUTCOME: 'sideways' }));
      // HTTP: 50 items.
      const posts = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${kjd.url}/v1/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(item(2000 + i, { id: `${p}-h${i}` })),
          }),
        ),
      );
      assert.deepEqual(new Set(posts.map((r) => r.status)), new Set([202]));

      // Result keys: <route's idScope (its name)>/<request id>.
      const requestIds = [
        ...Array.from({ length: 200 }, (_, i) => `list/${p}-l${i}`),
        ...entryIds.map((id) => `events/${p}:stream/${id}`),
        ...Array.from({ length: 50 }, (_, i) => `api/${p}-h${i}`),
      ];
      await eventually(
        '450 results',
        async () => {
          const present = await Promise.all(requestIds.map((id) => redis.exists(`${p}:result:${id}`)));
          return present.every((x) => x === 1) ? true : undefined;
        },
        200_000,
      );

      const jobs = (await testEnv().admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns.name }))
        .items;
      assert.equal(jobs.length, 450, 'exactly one Job per good item');
      const results = await Promise.all(requestIds.map((id) => redis.hgetall(`${p}:result:${id}`)));
      const failed = results.filter((r) => r.status === 'Failed');
      assert.equal(failed.length, 8 + 8 + 2, 'the items made to fail, and only those');
      assert.ok(failed.every((r) => r.reason === 'BackoffLimitExceeded' && r.exitCode === '1'));
      assert.equal(results.filter((r) => r.status === 'Succeeded').length, 450 - 18);

      // The same result over HTTP.
      const viaHttp = (await (
        await fetch(`${kjd.url}/v1/jobs/${results[0]?.jobName ?? ''}?namespace=${ns.name}`)
      ).json()) as { result?: { status: string } };
      assert.equal(viaHttp.result?.status, results[0]?.status);

      const deadList = (await redis.lrange(`${p}:queue:dead`, 0, -1)).map(
        (d) => JSON.parse(d) as { code: string; reason: string },
      );
      assert.deepEqual(deadList.map((d) => d.code).sort(), ['ITEM_NOT_JSON', 'PARAMETER_INVALID']);
      const deadStream = await redis.xrange(`${p}:stream:dead`, '-', '+');
      assert.equal(deadStream.length, 1);
      assert.match((deadStream[0]?.[1] ?? []).join(' '), /reason parameter CUSTOM_ID: a value is required/);
      const pending = (await redis.xpending(`${p}:stream`, 'kjd')) as [number, ...unknown[]];
      assert.equal(pending[0], 0, 'every stream entry acknowledged');

      kjd.child.kill('SIGTERM');
      assert.equal(await kjd.exited, 0);
    },
  );
});
