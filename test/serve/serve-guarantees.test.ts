// The promises that broke away from the happy path (issue 11 and 12 items),
// each against the real control plane and Redis, counted from the cluster and
// Redis: no second Job once the first is gone, a result for every Job however
// it ends, denials and missing room told apart, ids scoped per route, and a
// release that minds only its own Jobs.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { type V1Job, Watch } from '@kubernetes/client-node';
import { startLocalRedis } from '../../harness/redis.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { batch, results, useServeFixture } from '../support/serve-fixture.ts';

const template = new URL('../fixtures/behaving-job.yaml', import.meta.url).pathname;

describe('kjd serve keeps its promises off the happy path', () => {
  const ns = useNamespace('guarantee');
  const { redis, serve, prefix, listRoute, stop, jobsFor, drained, gone } = useServeFixture(ns, template);
  /** Each release's in-flight records (ADR 0009); the fixture's release is named after the prefix. */
  const inFlightKey = (p: string) => `kjd:inflight:${p}`;
  const finishedWhileDown = (name: string) =>
    eventually('the Job to finish while kjd is down', async () => {
      const j = await batch().readNamespacedJob({ name, namespace: ns.name });
      return (j.status?.succeeded ?? 0) > 0 ? true : undefined;
    });

  test('an item redelivered after its Job is gone gets no second Job (issue 11.1)', async () => {
    const p = prefix();
    const kjd = await serve(p, { routes: [listRoute(p)] });
    const item = JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1' });
    await redis.lpush(`${p}:queue`, item);
    await eventually('the result', async () =>
      (await redis.exists(`${results(p, 'list')}${p}-1`)) === 1 ? true : undefined,
    );
    const [job] = await jobsFor(ns.name, `${p}-1`);
    assert.ok(job?.metadata?.name);
    // Its TTL ran out, kjd's cleanup ran, or a person deleted it: the Job is gone.
    await batch().deleteNamespacedJob({ name: job.metadata.name, namespace: ns.name });
    await gone(ns.name, job.metadata.name);
    await redis.lpush(`${p}:queue`, item); // the producer, or a redelivery, sends it again
    await drained(`${p}:queue`);
    await sleep(1000);
    assert.equal((await jobsFor(ns.name, `${p}-1`)).length, 0, 'no second Job');
    assert.equal(await redis.xlen(`${p}:results`), 1, 'one result');
    assert.equal(await redis.llen(`${p}:queue:dead`), 0);
    await stop(kjd);
  });

  test('a Job deleted before it finished still ends in a result: Deleted (issue 11.7)', async () => {
    const p = prefix();
    const kjd = await serve(p, { routes: [listRoute(p)] });
    await redis.lpush(`${p}:queue`, JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1', OUTCOME: 'never' }));
    const job = await eventually('the Job', async () => (await jobsFor(ns.name, `${p}-1`))[0]);
    const name = job.metadata!.name!;
    assert.equal(job.metadata?.finalizers, undefined, 'no finalizer: Redis holds the item (ADR 0009)');
    await eventually('its in-flight record', async () =>
      (await redis.hexists(inFlightKey(p), `${ns.name}/${name}`)) === 1 ? true : undefined,
    );
    await batch().deleteNamespacedJob({ name, namespace: ns.name, propagationPolicy: 'Background' });
    const result = await eventually('the result', async () => {
      const r = await redis.hgetall(`${results(p, 'list')}${p}-1`);
      return r.status === undefined ? undefined : r;
    });
    assert.equal(result.status, 'Deleted');
    assert.equal(result.reason, 'JobDeleted');
    await eventually('the record gone', async () =>
      (await redis.hlen(inFlightKey(p))) === 0 ? true : undefined,
    );
    await stop(kjd);
  });

  test('finalizer mode: kjd down while its Job finishes and is deleted, the result is written when it returns (issue 11.7)', async () => {
    const p = prefix();
    const config = {
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:`, holdWith: 'finalizer' },
      routes: [listRoute(p)],
    };
    const first = await serve(p, config);
    await redis.lpush(`${p}:queue`, JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1', RUN: '1500ms' }));
    const job = await eventually('the Job', async () => (await jobsFor(ns.name, `${p}-1`))[0]);
    assert.deepEqual(job.metadata?.finalizers, ['kjd.dev/result'], "kjd's finalizer is on the Job");
    first.child.kill('SIGKILL');
    await first.exited;
    const name = job.metadata.name!;
    await finishedWhileDown(name);
    // Its TTL, or a person, deletes it while kjd is still down.
    await batch().deleteNamespacedJob({ name, namespace: ns.name, propagationPolicy: 'Background' });
    await sleep(500);
    const held = await batch().readNamespacedJob({ name, namespace: ns.name });
    assert.ok(held.metadata?.deletionTimestamp, 'the finalizer holds the Job for kjd');
    assert.equal(await redis.exists(`${results(p, 'list')}${p}-1`), 0);
    const second = await serve(p, config, { replica: `${p}-b` });
    const result = await eventually('the result', async () => {
      const r = await redis.hgetall(`${results(p, 'list')}${p}-1`);
      return r.status === undefined ? undefined : r;
    });
    assert.equal(result.status, 'Succeeded');
    await gone(ns.name, name);
    assert.equal(await redis.xlen(`${p}:results`), 1);
    await stop(second);
  });

  test('a Job deleted while kjd is down gets Deleted when it returns, and a redelivery no second Job (ADR 0009)', async () => {
    const p = prefix();
    const config = { routes: [listRoute(p)] };
    const first = await serve(p, config);
    const item = JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1', OUTCOME: 'never' });
    await redis.lpush(`${p}:queue`, item);
    const job = await eventually('the Job', async () => (await jobsFor(ns.name, `${p}-1`))[0]);
    const name = job.metadata!.name!;
    // The record, then the ack, follow the create: the kill comes after both.
    await eventually('its record, and the item acknowledged', async () => {
      const recorded = await redis.hexists(inFlightKey(p), `${ns.name}/${name}`);
      const processing = await redis.keys(`${p}:queue:processing:*`);
      let held = 0;
      for (const key of processing) held += await redis.llen(key);
      return recorded === 1 && held === 0 && (await redis.llen(`${p}:queue`)) === 0 ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(await redis.hexists(inFlightKey(p), `${ns.name}/${name}`), 1, 'the record holds the item');
    assert.equal(await redis.llen(`${p}:queue`), 0, 'the item has left its queue');
    await batch().deleteNamespacedJob({ name, namespace: ns.name, propagationPolicy: 'Background' });
    await gone(ns.name, name);
    const second = await serve(p, config, { replica: `${p}-b` });
    const result = await eventually('the result', async () => {
      const r = await redis.hgetall(`${results(p, 'list')}${p}-1`);
      return r.status === undefined ? undefined : r;
    });
    assert.equal(result.status, 'Deleted');
    assert.equal(await redis.hlen(inFlightKey(p)), 0, 'the record is gone with its result');
    await redis.lpush(`${p}:queue`, item); // the producer sends it again
    await drained(`${p}:queue`);
    await sleep(1000);
    assert.equal((await jobsFor(ns.name, `${p}-1`)).length, 0, 'no second Job');
    assert.equal(await redis.xlen(`${p}:results`), 1, 'one result');
    await stop(second);
  });

  test("a template's TTL passing while kjd is down deletes the Job only after its result (ADR 0009)", async () => {
    const p = prefix();
    const dir = await mkdtemp(join(tmpdir(), 'kjd-ttl-'));
    const withTtl = join(dir, 'ttl.yaml');
    await writeFile(
      withTtl,
      (await readFile(template, 'utf8')).replace('\nspec:\n', '\nspec:\n  ttlSecondsAfterFinished: 1\n'),
    );
    const config = { routes: [{ ...listRoute(p), template: withTtl }] };
    const first = await serve(p, config);
    await redis.lpush(`${p}:queue`, JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1', RUN: '1500ms' }));
    const job = await eventually('the Job', async () => (await jobsFor(ns.name, `${p}-1`))[0]);
    const name = job.metadata!.name!;
    assert.equal(job.spec?.ttlSecondsAfterFinished, undefined, 'kjd keeps the TTL, not the TTL controller');
    assert.equal(job.metadata?.annotations?.['kjd.dev/ttl-seconds-after-finished'], '1');
    first.child.kill('SIGKILL');
    await first.exited;
    await finishedWhileDown(name);
    await sleep(3000); // well past its TTL
    await batch().readNamespacedJob({ name, namespace: ns.name }); // still there: throws if gone
    assert.equal(await redis.exists(`${results(p, 'list')}${p}-1`), 0);
    // Every Job of that name from here on: a redelivery racing the TTL's delete would make a second.
    const uids = new Set<string>();
    const watching = await new Watch(testEnv().admin).watch(
      `/apis/batch/v1/namespaces/${ns.name}/jobs`,
      { fieldSelector: `metadata.name=${name}` },
      (_type: string, j: V1Job) => uids.add(j.metadata?.uid ?? ''),
      () => undefined,
    );
    const second = await serve(p, config, { replica: `${p}-b` });
    const result = await eventually('the result', async () => {
      const r = await redis.hgetall(`${results(p, 'list')}${p}-1`);
      return r.status === undefined ? undefined : r;
    });
    assert.equal(result.status, 'Succeeded', 'its real outcome, read before the Job went');
    assert.equal(result.exitCode, '0');
    await gone(ns.name, name);
    // The redelivered item may still be on its way (409, record, ack) when the Job goes.
    await drained(`${p}:queue`);
    await eventually('no in-flight record', async () =>
      (await redis.hlen(inFlightKey(p))) === 0 ? true : undefined,
    );
    await sleep(1000);
    watching.abort();
    assert.deepEqual([...uids], [job.metadata.uid], "one Job ever, the first delivery's");
    assert.equal(await redis.hlen(inFlightKey(p)), 0, 'no record outlives its result');
    await stop(second);
    await rm(dir, { recursive: true, force: true });
  });

  test('ids are scoped per route: an HTTP caller cannot pre-claim a stream item (issue 12.5)', async () => {
    const p = prefix();
    const stream = `${p}:stream`;
    const kjd = await serve(p, {
      http: { auth: { mode: 'none' } },
      routes: [
        { name: 'events', template, namespace: ns.name, source: { type: 'redis-stream', stream } },
        { name: 'api', template, namespace: ns.name, source: { type: 'http' } },
      ],
    });
    // Stream entry ids can be chosen by whoever XADDs, so the request id of a future entry is known.
    const entryId = `${Date.now() + 60_000}-0`;
    const claimed = await fetch(`${kjd.url}/v1/jobs?route=api`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `${stream}/${entryId}`, CUSTOM_ID: 'attacker' }),
    });
    assert.equal(claimed.status, 202, await claimed.text());
    await redis.xadd(stream, entryId, 'payload', JSON.stringify({ CUSTOM_ID: 'victim' }));
    const jobs = await eventually('two Jobs', async () => {
      const js = await jobsFor(ns.name, `${stream}/${entryId}`);
      return js.length === 2 ? js : undefined;
    });
    const ids = jobs.map(
      (j) => j.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'CUSTOM_ID')?.value,
    );
    assert.deepEqual(ids.sort(), ['attacker', 'victim'], 'the stream item got its own Job');
    await stop(kjd);
  });

  test("another release's Jobs neither count against maxActiveJobs nor get cleaned up (issue 12.8)", async () => {
    const p = prefix();
    // A Job of release "other": unfinished, and one finished.
    const foreign = (name: string, outcome: string): V1Job => ({
      metadata: {
        name,
        labels: { 'app.kubernetes.io/managed-by': 'kjd', 'app.kubernetes.io/instance': 'other' },
      },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations: { 'harness.kjd.dev/outcome': outcome } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'x' }] },
        },
      },
    });
    await batch().createNamespacedJob({ namespace: ns.name, body: foreign(`${p}-running`, 'never') });
    await batch().createNamespacedJob({ namespace: ns.name, body: foreign(`${p}-done`, 'succeed') });
    const kjd = await serve(p, {
      instance: `rel-${p}`,
      limits: { maxActiveJobs: 1 },
      cleanup: { afterSeconds: 0 },
      routes: [listRoute(p)],
    });
    await redis.lpush(`${p}:queue`, JSON.stringify({ id: `${p}-1`, CUSTOM_ID: '1' }));
    await eventually('its own item done', async () =>
      (await redis.exists(`${results(p, 'list')}${p}-1`)) === 1 ? true : undefined,
    );
    await sleep(1500);
    const names = (await batch().listNamespacedJob({ namespace: ns.name })).items.map(
      (j) => j.metadata?.name,
    );
    assert.ok(names.includes(`${p}-done`), "the other release's finished Job is not cleaned up");
    assert.ok(names.includes(`${p}-running`));
    await stop(kjd);
  });

  test(
    'SIGTERM while throttled stops at once instead of waiting out the rate limit (issue 11.10)',
    { timeout: 200_000 },
    async () => {
      const p = prefix();
      // A burst of 20 covers start-up and about ten creates; every later request waits ~100 s for a token.
      const kjd = await serve(p, {
        kubernetes: { kubeconfig: testEnv().kubeconfigPath, qps: 0.01, burst: 20 },
        shutdownGraceMs: 120_000,
        routes: [listRoute(p)],
      });
      const n = 30;
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
      );
      const ours = async () =>
        (await batch().listNamespacedJob({ namespace: ns.name })).items.filter((j) =>
          (j.metadata?.annotations?.['kjd.dev/request-id'] ?? '').startsWith(`${p}-`),
        ).length;
      await eventually('some Jobs', async () => ((await ours()) > 0 ? true : undefined));
      await sleep(2000); // the burst is spent; the rest wait for tokens
      const t0 = Date.now();
      kjd.child.kill('SIGTERM');
      assert.equal(await kjd.exited, 0);
      const took = Date.now() - t0;
      assert.ok(took < 30_000, `stopped after ${took} ms, not after the ~100 s throttle or the 120 s grace`);
      const created = await ours();
      assert.ok(created < n, 'the limit did bind');
      assert.equal(
        (await redis.llen(`${p}:queue`)) + (await redis.keys(`${p}:queue:processing:*`)).length === 0
          ? 0
          : await redis.llen(`${p}:queue`),
        n - created,
        'every item without a Job is back in the queue',
      );
    },
  );

  test(
    'Redis unreachable (SIGSTOPped): a status read answers and SIGTERM stops kjd, both within a bound (issue 11.10)',
    { timeout: 240_000 },
    async () => {
      const p = prefix();
      const redisDir = await mkdtemp(join(tmpdir(), 'kjd-frozen-redis-'));
      const own = await startLocalRedis({ dir: redisDir });
      try {
        const kjd = await serve(p, {
          redis: { url: own.url },
          http: { auth: { mode: 'none' } },
          routes: [listRoute(p), { name: 'api', template, namespace: ns.name, source: { type: 'http' } }],
        });
        const posted = await fetch(`${kjd.url}/v1/jobs?route=api`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: `${p}-h`, CUSTOM_ID: 'h' }),
        });
        const { jobName } = (await posted.json()) as { jobName: string };
        const pid = own.process().pid;
        process.kill(pid, 'SIGSTOP'); // no answer, no FIN: Redis is simply gone quiet
        try {
          const t0 = Date.now();
          const status = await fetch(`${kjd.url}/v1/jobs/${jobName}?namespace=${ns.name}`, {
            signal: AbortSignal.timeout(60_000),
          });
          assert.ok(Date.now() - t0 < 30_000, `the status read answered after ${Date.now() - t0} ms`);
          assert.equal(status.status, 200, 'the Job is there');
          const body = (await status.json()) as { resultError?: string };
          assert.match(
            body.resultError ?? '',
            /results store cannot be read/,
            'and says its result cannot be read now',
          );
          const t1 = Date.now();
          kjd.child.kill('SIGTERM');
          // Bounded: each Redis command gives up after its timeout; a hang would never end.
          const stopped = await Promise.race([kjd.exited.then(() => true), sleep(90_000).then(() => false)]);
          assert.ok(
            stopped,
            `kjd did not stop within 90 s of SIGTERM; its log ends:\n${kjd.logs().slice(-2000)}`,
          );
          assert.ok(Date.now() - t1 < 90_000, `stopped after ${Date.now() - t1} ms`);
        } finally {
          process.kill(pid, 'SIGCONT');
        }
      } finally {
        await own.stop();
        await rm(redisDir, { recursive: true, force: true });
      }
    },
  );
});
