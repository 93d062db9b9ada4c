// A result's exit code comes from kjd's watch of ended Pods, not from a list
// of the Job's Pods per result: that list costs the API server in proportion
// to every Pod in the namespace (src/tracking/pod-outcomes.ts). The outcome
// (every result and its exit code) is read from Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

/** Requests kjd's own transport sent for Pods (lists, and the watch's start): from kjd's /metrics. */
async function podRequests(kjd: ServeProcess): Promise<number> {
  const text = await (await fetch(`${kjd.url}/metrics`)).text();
  return Number(/kjd_api_requests_total\{client="main",resource="pods"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe('kjd serve reads exit codes from a watch of ended Pods', () => {
  const ns = useNamespace('podout');
  let dir: string;
  let redis: Redis;
  let kjd: ServeProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-podout-'));
    redis = new Redis(testEnv().redisUrl);
  });
  after(async () => {
    kjd?.child.kill('SIGKILL');
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test(
    '60 items, every 4th failing: each result has its exit code, and Pods are not listed per result',
    {
      timeout: 180_000,
    },
    async () => {
      const p = `t${randomBytes(3).toString('hex')}`;
      const config = await writeServeConfig(dir, p, {
        results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
        routes: [
          { name: 'r', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:queue` } },
        ],
      });
      kjd = await startServe(config, dir, `${p}-a`);
      const requests0 = await podRequests(kjd);
      const n = 60;
      const items = Array.from({ length: n }, (_, i) =>
        JSON.stringify({
          id: `${p}-${i}`,
          CUSTOM_ID: String(i),
          ...(i % 4 === 0 ? { OUTCOME: 'fail' } : {}),
        }),
      );
      await redis.lpush(`${p}:queue`, ...items);
      const results = await eventually(
        `${String(n)} results`,
        async () => {
          const all = await Promise.all(items.map((_, i) => redis.hgetall(`${p}:result:r/${p}-${i}`)));
          return all.every((r) => r.status !== undefined) ? all : undefined;
        },
        150_000,
      );
      // Counted on kjd's side of the wire: the API server's own count
      // (apiserver_request_total) has no namespace or user, and other test
      // files list Pods on the same cluster at the same time.
      const lists = (await podRequests(kjd)) - requests0;

      for (const [i, r] of results.entries()) {
        const failing = i % 4 === 0;
        assert.equal(r.status, failing ? 'Failed' : 'Succeeded', `item ${String(i)}`);
        assert.equal(r.exitCode, failing ? '1' : '0', `item ${String(i)}'s exit code`);
      }
      // Before the watch: one list per result (60). A few may still be listed
      // (a Pod the watch had not delivered within its wait).
      assert.ok(lists <= n / 6, `${String(lists)} Pod requests for ${String(n)} results`);
      const metrics = await (await fetch(`${kjd.url}/metrics`)).text();
      const watched = Number(/kjd_container_outcomes_total\{source="watch"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      assert.ok(watched >= (n * 5) / 6, `${String(watched)} of ${String(n)} exit codes from the watch`);
    },
  );
});
