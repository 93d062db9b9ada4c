// At maxActiveJobs kjd stops taking items: they wait in their queue, not in
// kjd. When Jobs finish (or are deleted), it takes more. SIGTERM at the cap
// exits promptly and leaves every untaken item queued.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig } from '../support/serve.ts';

describe('kjd serve backpressure', () => {
  const ns = useNamespace('backpressure');
  let dir: string;
  let redis: Redis;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-bp-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    'holds at maxActiveJobs, resumes as Jobs go, stops promptly leaving the rest queued',
    { timeout: 120_000 },
    async () => {
      // The demo template, with Pods that keep running until deleted.
      const doc = parse(await readFile(new URL('../../examples/demo-job.yaml', import.meta.url), 'utf8')) as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      };
      doc.spec.template.metadata.annotations['harness.kjd.dev/outcome'] = 'never';
      const template = join(dir, 'forever.yaml');
      await writeFile(template, stringify(doc));
      const p = `b${randomBytes(3).toString('hex')}`;
      const file = await writeServeConfig(dir, p, {
        limits: { maxActiveJobs: 5, maxInFlightCreates: 2 },
        routes: [
          { name: 'q', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:queue` } },
        ],
      });
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
      );
      const kjd = await startServe(file, dir, `${p}-a`);
      const batch = testEnv().admin.makeApiClient(BatchV1Api);
      const jobs = async () => (await batch.listNamespacedJob({ namespace: ns.name })).items;

      await eventually('5 Jobs', async () => ((await jobs()).length === 5 ? true : undefined));
      await sleep(1500); // time enough to overshoot, if it would
      assert.equal((await jobs()).length, 5, 'no more than maxActiveJobs');
      assert.equal(await redis.llen(`${p}:queue`), 15, 'the rest wait in the queue');
      const metrics = await (await fetch(`${kjd.url}/metrics`)).text();
      assert.match(metrics, /kjd_active_jobs 5/);

      // Two Jobs go: two more items are taken, no more.
      for (const j of (await jobs()).slice(0, 2))
        await batch.deleteNamespacedJob({
          name: j.metadata!.name!,
          namespace: ns.name,
          propagationPolicy: 'Background',
        });
      await eventually('2 more items taken', async () =>
        (await redis.llen(`${p}:queue`)) === 13 ? true : undefined,
      );
      await sleep(1000);
      assert.equal(await redis.llen(`${p}:queue`), 13);

      const t0 = Date.now();
      kjd.child.kill('SIGTERM');
      assert.equal(await kjd.exited, 0);
      assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
      assert.equal(await redis.llen(`${p}:queue`), 13, 'untaken items stay queued');
      assert.deepEqual(await redis.keys(`${p}:queue:processing:*`), [], 'nothing left half-taken');
    },
  );
});
