// Optional behaviours of `kjd serve`: deleting finished Jobs after a delay,
// and Kueue mode (Jobs created suspended with the queue-name label, counted as
// queued rather than active). Kueue itself is not installed here: the test
// shows what kjd does, not Kueue's admission.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

describe('kjd serve cleanup and Kueue mode', () => {
  let dir: string;
  let redis: Redis;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-opt-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  const batch = () => testEnv().admin.makeApiClient(BatchV1Api);

  describe('cleanup', () => {
    const ns = useNamespace('cleanup');
    test(
      'finished Jobs are deleted after cleanup.afterSeconds, results kept',
      { timeout: 90_000 },
      async () => {
        const p = `c${randomBytes(3).toString('hex')}`;
        const file = await writeServeConfig(dir, p, {
          cleanup: { afterSeconds: 1, propagation: 'Foreground' },
          results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
          routes: [
            { name: 'q', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:queue` } },
          ],
        });
        await redis.lpush(
          `${p}:queue`,
          ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
        );
        const kjd = await startServe(file, dir, `${p}-a`);
        await eventually(
          '10 results',
          async () => ((await redis.keys(`${p}:result:*`)).length === 10 ? true : undefined),
          60_000,
        );
        await eventually(
          'every Job cleaned up',
          async () =>
            (await batch().listNamespacedJob({ namespace: ns.name })).items.length === 0 ? true : undefined,
          30_000,
        );
        assert.equal(
          (await redis.hgetall(`${p}:result:q/${p}-0`)).status,
          'Succeeded',
          'the result outlives the Job',
        );
        kjd.child.kill('SIGTERM');
        assert.equal(await kjd.exited, 0);
      },
    );
  });

  describe('Kueue mode', () => {
    const ns = useNamespace('kueue');
    test(
      'Jobs start suspended with the queue label and count as queued, not active',
      { timeout: 90_000 },
      async () => {
        const p = `k${randomBytes(3).toString('hex')}`;
        const file = await writeServeConfig(dir, p, {
          limits: { maxActiveJobs: 3 },
          routes: [
            {
              name: 'q',
              template,
              namespace: ns.name,
              kueue: { queueName: 'team-a' },
              source: { type: 'redis-list', key: `${p}:queue` },
            },
          ],
        });
        await redis.lpush(
          `${p}:queue`,
          ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
        );
        const kjd = await startServe(file, dir, `${p}-a`);
        // maxActiveJobs 3 does not hold them back: suspended Jobs wait in Kueue, not on the cluster.
        const jobs = await eventually(
          '10 Jobs',
          async () => {
            const items = (await batch().listNamespacedJob({ namespace: ns.name })).items;
            return items.length === 10 ? items : undefined;
          },
          60_000,
        );
        assert.ok(
          jobs.every(
            (j) => j.spec?.suspend === true && j.metadata?.labels?.['kueue.x-k8s.io/queue-name'] === 'team-a',
          ),
        );
        await sleep(500);
        const metrics = await (await fetch(`${kjd.url}/metrics`)).text();
        assert.match(metrics, /kjd_active_jobs 0/);
        assert.match(metrics, /kjd_jobs_queued 10/);
        kjd.child.kill('SIGTERM');
        assert.equal(await kjd.exited, 0);
      },
    );
  });
});
