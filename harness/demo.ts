// `npm run demo`: the local control plane and Redis, a few items pushed onto a
// Redis list the way seed 001's producer would (LPUSH from any language), each
// turned into a Job by kjd's library (template -> deterministic name -> create
// -> wait), a malformed item set aside with its reason, one summary line.
//
// The dispatcher service (issue 4) will replace the loop below with `kjd serve`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalCluster } from './cluster/local-cluster.ts';
import { repoRoot } from './paths.ts';
import { startLocalRedis } from './redis.ts';
import { isKjdError } from '../src/errors.ts';
import { KubeClient } from '../src/kube/client.ts';
import { JobOperations } from '../src/kube/jobs.ts';
import { waitForJob } from '../src/kube/wait.ts';
import { loadTemplate, type JobTemplate } from '../src/template/index.ts';

const QUEUE = 'kjd:demo:queue';
const DEAD = 'kjd:demo:dead-letter';
const ITEMS = [
  '{"id":"order-1","CUSTOM_ID":"1"}',
  '{"id":"order-2","CUSTOM_ID":"2"}',
  '{"id":"order-3","CUSTOM_ID":"3; rm -rf /","OUTCOME":"fail"}',
  '{"id":"order-4","CUSTOM_ID":', // malformed JSON
  '{"id":"order-5","OUTCOME":"sideways"}', // missing and invalid parameters
];

export async function runDemo(log: (m: string) => void): Promise<number> {
  const started = Date.now();
  const cluster = await startLocalCluster({ name: 'demo', log });
  const redisDir = await mkdtemp(join(tmpdir(), 'kjd-demo-redis-'));
  const redis = await startLocalRedis({ dir: redisDir });
  const queue = new Redis(redis.url);
  const client = KubeClient.connect({ kubeconfig: cluster.kubeconfigPath, namespace: 'default' });
  try {
    const template = await loadTemplate(join(repoRoot, 'examples', 'demo-job.yaml'));
    const jobs = new JobOperations(client);
    await queue.lpush(QUEUE, ...ITEMS);
    const launched: string[] = [];
    for (let raw = await queue.rpop(QUEUE); raw !== null; raw = await queue.rpop(QUEUE)) {
      const outcome = await dispatch(raw, template, jobs);
      if ('job' in outcome) {
        launched.push(outcome.job);
        log(`item -> Job ${outcome.job}`);
      } else {
        await queue.rpush(DEAD, JSON.stringify({ payload: raw, reason: outcome.reason }));
        log(`item set aside in ${DEAD}: ${outcome.reason}`);
      }
    }
    const results = await Promise.all(
      launched.map((name) =>
        waitForJob(jobs, client.transport, name, { namespace: 'default', timeoutMs: 60_000 }),
      ),
    );
    results.forEach(({ job, state }) => {
      log(
        `${job.metadata?.name ?? ''}: ${state.phase}${state.reason === undefined ? '' : ` (${state.reason})`}`,
      );
    });
    const count = (phase: string) => results.filter((r) => r.state.phase === phase).length;
    const dead = await queue.llen(DEAD);
    console.log(
      `demo: items sent ${ITEMS.length}, Jobs Complete ${count('Succeeded')}, Failed ${count('Failed')}, ` +
        `dead-lettered ${dead} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return count('Succeeded') + count('Failed') + dead === ITEMS.length ? 0 : 1;
  } finally {
    queue.disconnect();
    await client.close();
    await redis.stop();
    await cluster.stop();
    await rm(redisDir, { recursive: true, force: true });
  }
}

async function dispatch(
  raw: string,
  template: JobTemplate,
  jobs: JobOperations,
): Promise<{ job: string } | { reason: string }> {
  let item: Record<string, unknown>;
  try {
    item = JSON.parse(raw) as Record<string, unknown>;
  } catch (err) {
    return { reason: `not JSON: ${(err as Error).message}` };
  }
  const { id, ...values } = item;
  try {
    const job = template.render({
      values,
      payload: item,
      ...(typeof id === 'string' ? { requestId: id } : {}),
    });
    const { job: created } = await jobs.create(job, { namespace: 'default' });
    return { job: created.metadata?.name ?? '' };
  } catch (err) {
    if (isKjdError(err) && err.category === 'permanent') return { reason: err.message };
    throw err;
  }
}
