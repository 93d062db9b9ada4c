// Batch mode against the real control plane and Redis: items packed into
// Indexed Jobs, each item in exactly one Job and with exactly one result of
// its own, counted from the cluster (the Jobs' item lists) and from Redis.
// The crash cases are real: a claim left by a replica that died before its
// create, and kjd SIGKILLed again and again while it packs and creates.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import { BatchClaims } from '../../src/dispatch/batch-claims.ts';
import { batchJobName } from '../../src/dispatch/handle-batch.ts';
import { batchRequestIds } from '../../src/template/index.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { batch, results, useServeFixture } from '../support/serve-fixture.ts';

const template = new URL('../fixtures/batch-job.yaml', import.meta.url).pathname;

describe('kjd serve in batch mode', () => {
  const ns = useNamespace('batch');
  const { redis, serve, prefix, listRoute, stop, drained } = useServeFixture(ns, template);

  /** This test's batch Jobs in the namespace, with their items. */
  async function batchJobs(p: string): Promise<{ job: V1Job; ids: string[] }[]> {
    const jobs = await batch().listNamespacedJob({
      namespace: ns.name,
      labelSelector: `app.kubernetes.io/instance=${p}`,
    });
    return jobs.items.map((job) => ({ job, ids: batchRequestIds(job) ?? [] }));
  }

  /** How many Jobs each id is in, over all this test's Jobs. */
  async function placements(p: string): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (const { ids } of await batchJobs(p)) for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
    return seen;
  }

  async function resultsOf(p: string, route: string, ids: readonly string[]) {
    return Promise.all(ids.map((id) => redis.hgetall(`${results(p, route)}${id}`)));
  }

  const untilResults = (p: string, route: string, ids: readonly string[]) =>
    eventually(
      `${String(ids.length)} results`,
      async () => {
        const rs = await resultsOf(p, route, ids);
        return rs.every((r) => r.status !== undefined) ? rs : undefined;
      },
      120_000,
    );

  test('items become Indexed Jobs: one index each, a result each, a bad item dead-lettered alone', async () => {
    const p = prefix();
    const kjd = await serve(p, { routes: [listRoute(p, { batch: { maxItems: 10, windowMs: 300 } })] });
    const ids = Array.from({ length: 25 }, (_, i) => `${p}-${String(i)}`);
    await redis.lpush(
      `${p}:queue`,
      ...ids.map((id, i) => JSON.stringify({ id, CUSTOM_ID: `c${String(i)}` })),
      JSON.stringify({ id: `${p}-bad`, CUSTOM_ID: 'NOT VALID; rm -rf /' }),
    );
    const rs = await untilResults(p, 'list', ids);
    const jobs = await batchJobs(p);
    assert.ok(
      jobs.length <= 5 && jobs.length >= 3,
      `25 items in ${String(jobs.length)} Jobs (10 at most each)`,
    );
    for (const { job, ids: its } of jobs) {
      const { spec } = job;
      assert.ok(spec);
      assert.equal(spec.completionMode, 'Indexed');
      assert.equal(spec.completions, its.length);
    }
    const seen = await placements(p);
    assert.deepEqual(
      [...seen.keys()].sort(),
      [...ids].sort(),
      'every good item is in a Job, the bad one in none',
    );
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'no item in two Jobs',
    );
    for (const [i, r] of rs.entries()) {
      assert.equal(r.status, 'Succeeded', `item ${String(i)}`);
      const home = jobs.find((j) => j.job.metadata?.name === r.jobName);
      assert.ok(home, `the result of ${ids[i] ?? ''} names its Job`);
      assert.equal(home.ids[Number(r.index)], ids[i], 'and its index in it');
    }
    const dead = await redis.lrange(`${p}:queue:dead`, 0, -1);
    assert.equal(dead.length, 1);
    assert.match(dead[0] ?? '', /CUSTOM_ID/);
    assert.equal(await redis.xlen(`${p}:results`), 25, 'one result per good item, no more');
    await eventually('the claims to be let go', async () =>
      (await redis.keys('kjd:batch:list/*')).some((k) => k.includes(p)) ? undefined : true,
    );
    await stop(kjd);
  });

  test('a template batch mode cannot pack stops kjd serve at start, naming each problem', async () => {
    const p = prefix();
    const behaving = new URL('../fixtures/behaving-job.yaml', import.meta.url).pathname;
    const route = listRoute(p, { template: behaving, batch: { maxItems: 5, itemsPerPod: 2 } });
    const err = await serve(p, { routes: [route] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'kjd serve must not start');
    assert.match(err.message, /cannot run in batch mode/);
    // Its Pod annotations vary per item (kwok's run length and outcome).
    assert.match(err.message, /a placeholder in spec\.template\.metadata\.annotations/);
  });

  test('itemsPerPod: ten items in two Pods of one Job, a result each', async () => {
    const p = prefix();
    const kjd = await serve(p, {
      routes: [listRoute(p, { batch: { maxItems: 10, windowMs: 1000, itemsPerPod: 5 } })],
    });
    const ids = Array.from({ length: 10 }, (_, i) => `${p}-${String(i)}`);
    await redis.lpush(
      `${p}:queue`,
      ...ids.map((id, i) => JSON.stringify({ id, CUSTOM_ID: `c${String(i)}` })),
    );
    const rs = await untilResults(p, 'list', ids);
    const jobs = await batchJobs(p);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]?.job.spec?.completions, 2, 'two Pods of five items');
    assert.deepEqual(
      rs.map((r) => [r.status, r.index]),
      ids.map((_, i) => ['Succeeded', String(i)]),
    );
    await stop(kjd);
  });

  test('a replica that claimed a batch and died before creating it: the batch is made once, from any of its items', async () => {
    const p = prefix();
    const ids = ['a', 'b', 'c'].map((x) => `${p}-${x}`);
    const payloads = ids.map((id, i) => JSON.stringify({ id, CUSTOM_ID: `c${String(i)}` }));
    // What the dead replica left: its claims and the batch's items, but no Job.
    const claims = new BatchClaims({ redis, layout: 'plain', ttlSeconds: 600 });
    const name = batchJobName('batched', 'list', ids);
    const taken = await claims.claim(
      'list',
      name,
      ids.map((requestId, i) => ({ requestId, payload: payloads[i] ?? '' })),
    );
    assert.equal(taken.size, 0);
    const kjd = await serve(p, { routes: [listRoute(p, { batch: { maxItems: 10, windowMs: 50 } })] });
    await redis.lpush(`${p}:queue`, payloads[1] ?? ''); // b comes back alone
    const job = await eventually('the batch Job', async () => (await batchJobs(p))[0]);
    assert.equal(job.job.metadata?.name, name, 'the claimed Job, not a new one for b alone');
    assert.deepEqual(job.ids, ids, 'with all three items, in their order');
    await drained(`${p}:queue`);
    await redis.lpush(`${p}:queue`, payloads[0] ?? '', payloads[2] ?? ''); // then a and c
    const rs = await untilResults(p, 'list', ids);
    await drained(`${p}:queue`);
    await sleep(500);
    assert.equal((await batchJobs(p)).length, 1, 'still one Job');
    assert.deepEqual(
      rs.map((r) => [r.status, r.index]),
      [
        ['Succeeded', '0'],
        ['Succeeded', '1'],
        ['Succeeded', '2'],
      ],
    );
    await stop(kjd);
  });

  test('a claim whose batch is no longer stored (TTL) does not keep its item from a Job', async () => {
    const p = prefix();
    const id = `${p}-stale`;
    const claims = new BatchClaims({ redis, layout: 'plain', ttlSeconds: 600 });
    const stale = batchJobName('batched', 'list', [id, `${p}-gone`]);
    await claims.claim('list', stale, [{ requestId: id, payload: '{}' }]);
    await redis.del(`kjd:batch:list/job/${stale}`); // its stored items expired; the claim did not
    const kjd = await serve(p, { routes: [listRoute(p, { batch: { maxItems: 5, windowMs: 50 } })] });
    await redis.lpush(`${p}:queue`, JSON.stringify({ id, CUSTOM_ID: 'c1' }));
    const [r] = await untilResults(p, 'list', [id]);
    assert.equal(r?.status, 'Succeeded');
    assert.notEqual(r.jobName, stale, 'a Job of its own, not the stale claim’s');
    assert.equal((await batchJobs(p)).length, 1);
    await stop(kjd);
  });

  test('kjd SIGKILLed while it packs and creates: every item in exactly one Job, one result each', async () => {
    const p = prefix();
    const n = 300;
    const config = {
      routes: [
        {
          name: 'stream',
          template,
          namespace: ns.name,
          source: { type: 'redis-stream', stream: `${p}:stream`, group: 'kjd', claimIdleMs: 1000 },
          batch: { maxItems: 20, windowMs: 50 },
        },
      ],
    };
    let kjd = await serve(p, config);
    // A stream item's request id is `<stream>/<entry id>`.
    const ids: string[] = [];
    for (let i = 0; i < n; i += 50) {
      const pipe = redis.pipeline();
      for (let j = i; j < i + 50; j++)
        pipe.xadd(`${p}:stream`, '*', 'payload', JSON.stringify({ CUSTOM_ID: `c${String(j)}` }));
      for (const [, entry] of (await pipe.exec()) ?? []) ids.push(`${p}:stream/${String(entry)}`);
    }
    for (let kill = 0; kill < 3; kill++) {
      await sleep(300 + Math.floor(Math.random() * 700));
      kjd.child.kill('SIGKILL');
      await kjd.exited;
      kjd = await serve(p, config);
    }
    const rs = await untilResults(p, 'stream', ids).catch(async (err: unknown) => {
      const missing = (await resultsOf(p, 'stream', ids)).filter((r) => r.status === undefined).length;
      const jobs = await batchJobs(p);
      const states = jobs.map(
        (j) =>
          `${j.job.metadata?.name ?? ''}:${String(j.ids.length)}:${JSON.stringify(j.job.status?.conditions?.map((c) => c.type))}:${String(j.job.status?.completedIndexes)}`,
      );
      const log = kjd
        .logs()
        .split('\n')
        .filter((l) => /"level":(40|50)/.test(l))
        .slice(-15)
        .join('\n');
      throw new Error(
        `${String(missing)} results missing; Jobs ${states.join(' ')}; pending ${JSON.stringify(await redis.xpending(`${p}:stream`, 'kjd'))}\n${log}`,
        { cause: err },
      );
    });
    await sleep(1000); // a late duplicate would show up here
    const seen = await placements(p);
    const twice = [...seen].filter(([, c]) => c > 1).map(([id]) => id);
    assert.deepEqual(twice, [], 'no item in two Jobs');
    assert.equal(seen.size, n, 'every item in a Job');
    assert.ok(rs.every((r) => r.status === 'Succeeded'));
    assert.equal(await redis.xlen(`${p}:results`), n, 'one result each');
    await stop(kjd);
  });
});
