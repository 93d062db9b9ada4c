// `kjd serve` end to end on the real control plane and Redis, fed through a
// Redis list: one Job per item, results back in Redis, dead letters with
// reasons, nothing lost or doubled across SIGKILLs and between two replicas.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, type V1Job } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

describe('kjd serve with a Redis list', () => {
  const ns = useNamespace('serve');
  let dir: string;
  let redis: Redis;
  const running: ServeProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-serve-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  const prefix = () => `t${randomBytes(3).toString('hex')}`;
  const config = (p: string, extra: Record<string, unknown> = {}) =>
    writeServeConfig(dir, p, {
      limits: { maxInFlightCreates: 16 },
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
      routes: [
        {
          name: 'list',
          template,
          namespace: ns.name,
          source: { type: 'redis-list', key: `${p}:queue`, heartbeatTtlMs: 1000 },
        },
      ],
      ...extra,
    });
  const serve = async (file: string, replica: string) => {
    const p = await startServe(file, dir, replica);
    running.push(p);
    return p;
  };
  const jobsOf = async (p: string): Promise<V1Job[]> => {
    const all = await testEnv().admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns.name });
    return all.items.filter(
      (j) =>
        (j.metadata?.annotations?.['kjd.dev/request-id'] ?? '').startsWith(p) ||
        j.spec?.template.spec?.containers[0]?.env?.some(
          (e) => e.name === 'KJD_REQUEST_ID' && e.value?.startsWith(`${p}:`),
        ),
    );
  };
  const customIds = (jobs: V1Job[]) =>
    jobs.map(
      (j) => j.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'CUSTOM_ID')?.value ?? '?',
    );

  test(
    '200 items: 200 Jobs, results for each, dead letters for the bad ones',
    { timeout: 180_000 },
    async () => {
      const p = prefix();
      const items = Array.from({ length: 200 }, (_, i) =>
        JSON.stringify({
          id: `${p}-${i}`,
          CUSTOM_ID: String(i),
          ...(i % 10 === 0 ? { OUTCOME: 'fail' } : {}),
        }),
      );
      const bad = [
        '{not json',
        '[1,2]',
        JSON.stringify({ id: `${p}-bad-1`, OUTCOME: 'sideways' }),
        JSON.stringify({ id: `${p}-bad-2`, CUSTOM_ID: 1 }),
        JSON.stringify({ id: `${p}-bad-3`, CUSTOM_ID: 'x', EXTRA: 1 }),
      ];
      await redis.lpush(`${p}:queue`, ...items, ...bad);
      const kjd = await serve(await config(p), `${p}-a`);

      await eventually(
        'every result and dead letter',
        async () => {
          const done = await Promise.all(items.map((_, i) => redis.exists(`${p}:result:list/${p}-${i}`)));
          const finished = done.filter((d) => d === 1).length;
          return finished === 200 && (await redis.llen(`${p}:queue:dead`)) === 5 ? true : undefined;
        },
        150_000,
      );

      const jobs = await jobsOf(p);
      assert.equal(jobs.length, 200, 'exactly one Job per good item');
      assert.deepEqual(
        customIds(jobs)
          .map(Number)
          .sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i),
      );

      const failed = await redis.hgetall(`${p}:result:list/${p}-10`);
      assert.equal(failed.status, 'Failed');
      assert.equal(failed.reason, 'BackoffLimitExceeded');
      assert.equal(failed.exitCode, '1');
      assert.match(failed.jobName ?? '', /^demo-worker-[0-9a-f]{10}$/);
      const ok = await redis.hgetall(`${p}:result:list/${p}-11`);
      assert.equal(ok.status, 'Succeeded');
      assert.ok(ok.startTime && ok.completionTime);
      assert.ok((await redis.ttl(`${p}:result:list/${p}-11`)) > 0, 'result hashes expire');
      assert.equal(await redis.xlen(`${p}:results`), 200, 'one result record per Job');

      const dead = (await redis.lrange(`${p}:queue:dead`, 0, -1)).map(
        (d) => JSON.parse(d) as { code: string; reason: string; payload: string; attempts: number },
      );
      assert.deepEqual(dead.map((d) => d.code).sort(), [
        'ITEM_NOT_JSON',
        'ITEM_NOT_JSON',
        'PARAMETER_INVALID',
        'PARAMETER_INVALID',
        'PARAMETER_INVALID',
      ]);
      assert.ok(
        dead.some((d) => d.payload === '{not json'),
        'the original payload is kept',
      );
      assert.ok(
        dead.some((d) => /parameter OUTCOME: expected one of succeed, fail, got "sideways"/.test(d.reason)),
      );

      const metrics = await (await fetch(`${kjd.url}/metrics`)).text();
      assert.match(metrics, /kjd_jobs_created_total\{route="list",outcome="created"\} 200/);
      assert.match(metrics, /kjd_items_dead_lettered_total\{route="list",code="PARAMETER_INVALID"\} 3/);
      const ready = (await (await fetch(`${kjd.url}/readyz`)).json()) as {
        ready: boolean;
        checks: Record<string, { ok: boolean }>;
      };
      assert.equal(ready.ready, true);

      kjd.child.kill('SIGTERM');
      assert.equal(await kjd.exited, 0, 'a graceful stop exits 0');
    },
  );

  test(
    'SIGKILLed at random points and restarted: every item has exactly one Job',
    { timeout: 240_000 },
    async () => {
      const p = prefix();
      const n = 300;
      // No producer ids: kjd assigns them at first take, the hard case for exactly-once.
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: n }, (_, i) => JSON.stringify({ CUSTOM_ID: String(i) })),
      );
      const file = await config(p, { limits: { maxInFlightCreates: 8 } });
      for (let round = 0; round < 4; round++) {
        const victim = await serve(file, `${p}-k${round}`);
        await sleep(200 + Math.floor(Math.random() * 1200));
        victim.child.kill('SIGKILL');
        await victim.exited;
      }
      const last = await serve(file, `${p}-last`);
      await eventually(
        'the queue and every processing list to drain',
        async () => {
          const leftovers =
            (await redis.llen(`${p}:queue`)) + (await redis.keys(`${p}:queue:processing:*`)).length;
          return leftovers === 0 ? true : undefined;
        },
        120_000,
      );
      const jobs = await eventually(
        'all Jobs',
        async () => {
          const js = await jobsOf(p);
          return js.length >= n ? js : undefined;
        },
        60_000,
      );
      assert.equal(jobs.length, n, 'no item made two Jobs');
      assert.deepEqual(
        customIds(jobs)
          .map(Number)
          .sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
        'no item lost',
      );
      assert.equal(await redis.llen(`${p}:queue:dead`), 0);
      last.child.kill('SIGTERM');
      assert.equal(await last.exited, 0);
    },
  );

  test('two replicas share one queue with no duplicate Jobs', { timeout: 180_000 }, async () => {
    const p = prefix();
    await redis.lpush(
      `${p}:queue`,
      ...Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
    );
    const file = await config(p);
    const [a, b] = await Promise.all([serve(file, `${p}-a`), serve(file, `${p}-b`)]);
    const jobs = await eventually(
      '200 Jobs',
      async () => {
        const js = await jobsOf(p);
        return js.length >= 200 && (await redis.llen(`${p}:queue`)) === 0 ? js : undefined;
      },
      120_000,
    );
    await sleep(500);
    assert.equal((await jobsOf(p)).length, 200);
    assert.equal(new Set(customIds(jobs)).size, 200);
    const created = (proc: ServeProcess) => (proc.logs().match(/"msg":"Job created"/g) ?? []).length;
    assert.ok(created(a) > 0 && created(b) > 0, `both replicas worked (a ${created(a)}, b ${created(b)})`);
    assert.equal(created(a) + created(b), 200);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
  });
});
