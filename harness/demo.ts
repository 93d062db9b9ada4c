// `npm run demo`: kjd's main job on a machine of its own. The local control
// plane and Redis start; `kjd serve` runs with a Redis-list route and an HTTP
// route; items arrive the way seed 001's producer (LPUSH) and seed 000's
// caller (an HTTP request) send them; each becomes one Job, followed to the
// end; results come back in Redis; bad items land in the dead-letter list
// with their reason. One summary line, then everything stops.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { startLocalCluster } from './cluster/local-cluster.ts';
import { freePorts } from './net.ts';
import { repoRoot } from './paths.ts';
import { startLocalRedis } from './redis.ts';

const QUEUE = 'kjd:demo:queue';
const LIST_ITEMS = [
  '{"id":"order-1","CUSTOM_ID":"1"}',
  '{"id":"order-2","CUSTOM_ID":"2"}',
  '{"id":"order-3","CUSTOM_ID":"3; rm -rf /","OUTCOME":"fail"}', // fails on purpose; the id stays one harmless argument
  '{"id":"order-4","CUSTOM_ID":', // malformed JSON -> dead letter
  '{"id":"order-5","OUTCOME":"sideways"}', // missing and invalid parameters -> dead letter
];
const HTTP_ITEM = { id: 'order-6', CUSTOM_ID: '6' };
const GOOD = ['order-1', 'order-2', 'order-3', 'order-6'];

export async function runDemo(log: (m: string) => void): Promise<number> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'kjd-demo-'));
  const cluster = await startLocalCluster({ name: 'demo', log });
  const redis = await startLocalRedis({ dir: join(dir, 'redis') });
  const client = new Redis(redis.url);
  const [port = 0] = await freePorts(1);
  const config = join(dir, 'kjd.yaml');
  await writeFile(
    config,
    stringify({
      kubernetes: { kubeconfig: cluster.kubeconfigPath, namespace: 'default' },
      redis: { url: redis.url },
      http: { listen: `127.0.0.1:${port}`, auth: { mode: 'none' } },
      routes: [
        {
          name: 'orders',
          template: join(repoRoot, 'examples', 'demo-job.yaml'),
          source: { type: 'redis-list', key: QUEUE },
          idScope: 'orders',
        },
        {
          name: 'api',
          template: join(repoRoot, 'examples', 'demo-job.yaml'),
          source: { type: 'http' },
          // One id space with the list: order-6 sent either way makes one Job.
          idScope: 'orders',
        },
      ],
    }),
  );
  const serve = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'kjd.mjs'), 'serve', '--config', config, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, 30_000);
    log(`kjd serve ready at ${url}`);
    await client.lpush(QUEUE, ...LIST_ITEMS);
    log(`LPUSH ${QUEUE}: ${LIST_ITEMS.length} items`);
    const res = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      body: JSON.stringify(HTTP_ITEM),
      headers: { 'content-type': 'application/json' },
    });
    log(`POST /v1/jobs -> ${res.status} ${await res.text()}`);
    const results = await waitResults(client, 60_000);
    for (const [id, r] of results)
      log(`${id}: Job ${r.jobName ?? ''} ${r.status ?? ''}${r.reason ? ` (${r.reason})` : ''}`);
    const dead = (await client.lrange(`${QUEUE}:dead`, 0, -1)).map(
      (d) => JSON.parse(d) as { reason: string },
    );
    for (const d of dead) log(`dead letter: ${d.reason}`);
    const count = (s: string) => [...results.values()].filter((r) => r.status === s).length;
    console.log(
      `demo: items sent ${LIST_ITEMS.length + 1}, Jobs Complete ${count('Succeeded')}, Failed ${count('Failed')}, ` +
        `dead-lettered ${dead.length} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return count('Succeeded') + count('Failed') + dead.length === LIST_ITEMS.length + 1 ? 0 : 1;
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
    client.disconnect();
    await redis.stop();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error(`kjd serve not ready after ${timeoutMs} ms`);
}

async function waitResults(redis: Redis, timeoutMs: number): Promise<Map<string, Record<string, string>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = new Map<string, Record<string, string>>();
    for (const id of GOOD) {
      const r = await redis.hgetall(`kjd:result:orders/${id}`);
      if (Object.keys(r).length > 0) results.set(id, r);
    }
    if (results.size === GOOD.length) return results;
    if (Date.now() > deadline)
      throw new Error(`only ${results.size}/${GOOD.length} results after ${timeoutMs} ms`);
    await sleep(200);
  }
}
