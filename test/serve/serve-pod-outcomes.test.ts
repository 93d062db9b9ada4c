// A result's exit code comes from kjd's watch of ended Pods, not from a list
// of the Job's Pods per result: that list costs the API server in proportion
// to every Pod in the namespace (src/tracking/pod-outcomes.ts). Counted from
// the API server's own request metrics, not kjd's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

/** `LIST pods` requests the API server has served, by its own count. */
async function podLists(): Promise<number> {
  const env = testEnv();
  const options: RequestOptions = {};
  await env.admin.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${env.server}/metrics`, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve(text);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  return body
    .split('\n')
    .filter(
      (l) => l.startsWith('apiserver_request_total{') && /verb="LIST"/.test(l) && /resource="pods"/.test(l),
    )
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
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
      const lists0 = await podLists();
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
      const lists = (await podLists()) - lists0;

      for (const [i, r] of results.entries()) {
        const failing = i % 4 === 0;
        assert.equal(r.status, failing ? 'Failed' : 'Succeeded', `item ${String(i)}`);
        assert.equal(r.exitCode, failing ? '1' : '0', `item ${String(i)}'s exit code`);
      }
      // Before the watch: one list per result (60). A few may still be listed
      // (a Pod the watch had not delivered within its wait).
      assert.ok(lists <= n / 6, `${String(lists)} Pod lists for ${String(n)} results`);
      const metrics = await (await fetch(`${kjd.url}/metrics`)).text();
      const watched = Number(/kjd_container_outcomes_total\{source="watch"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      assert.ok(watched >= (n * 5) / 6, `${String(watched)} of ${String(n)} exit codes from the watch`);
    },
  );
});
