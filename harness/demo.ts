// `npm run demo`: bring up the local control plane and Redis, run a few Jobs
// through the real scheduler, kwok Nodes and Job controller, print one
// summary line, and shut everything down.
//
// The dispatcher service does not exist yet (issue 4), so the Jobs are
// created directly with @kubernetes/client-node; the summary shape is the
// one `kjd serve` will report.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { startLocalCluster } from './cluster/local-cluster.ts';
import { podBehaviourAnnotations, type PodBehaviour } from './pod-behaviour.ts';
import { startLocalRedis } from './redis.ts';

const items: { id: string; behaviour: PodBehaviour }[] = [
  { id: '1', behaviour: { runMs: 500 } },
  { id: '2', behaviour: { runMs: 1000 } },
  { id: '3', behaviour: { outcome: 'fail', exitCode: 3 } },
];

function demoJob(id: string, behaviour: PodBehaviour): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `demo-worker-${id}`, labels: { 'app.kubernetes.io/managed-by': 'kjd-demo' } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { annotations: podBehaviourAnnotations(behaviour) },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'worker', image: 'worker:demo', args: ['--custom-id', id] }],
        },
      },
    },
  };
}

export async function runDemo(log: (m: string) => void): Promise<number> {
  const started = Date.now();
  const cluster = await startLocalCluster({ name: 'demo', log });
  const redisDir = await mkdtemp(join(tmpdir(), 'kjd-demo-redis-'));
  const redis = await startLocalRedis({ dir: redisDir });
  const client = new Redis(redis.url);
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = 'kjd-demo';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // Items arrive on a Redis list the way seed 001's producer would put them.
    await client.lpush('kjd:demo:queue', ...items.map((i) => JSON.stringify({ CUSTOM_ID: i.id })));
    for (;;) {
      const raw = await client.rpop('kjd:demo:queue');
      if (raw === null) break;
      const { CUSTOM_ID } = JSON.parse(raw) as { CUSTOM_ID: string };
      const item = items.find((i) => i.id === CUSTOM_ID);
      await batch.createNamespacedJob({ namespace, body: demoJob(CUSTOM_ID, item?.behaviour ?? {}) });
      log(`item ${CUSTOM_ID} -> Job demo-worker-${CUSTOM_ID}`);
    }
    const results = await waitForJobs(batch, namespace, items.length, 60_000);
    for (const [name, result] of results) log(`${name}: ${result}`);
    const complete = [...results.values()].filter((r) => r === 'Complete').length;
    const failed = [...results.values()].filter((r) => r === 'Failed').length;
    console.log(
      `demo: items sent ${items.length}, Jobs Complete ${complete}, Failed ${failed}, dead-lettered 0 ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    return complete + failed === items.length ? 0 : 1;
  } finally {
    client.disconnect();
    await redis.stop();
    await cluster.stop();
    await rm(redisDir, { recursive: true, force: true });
  }
}

async function waitForJobs(
  batch: BatchV1Api,
  namespace: string,
  count: number,
  timeoutMs: number,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await batch.listNamespacedJob({ namespace });
    const done = new Map<string, string>();
    for (const job of list.items) {
      const cond = job.status?.conditions?.find(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (cond) done.set(job.metadata?.name ?? '?', cond.type);
    }
    if (done.size >= count) return done;
    if (Date.now() > deadline) throw new Error(`only ${done.size}/${count} Jobs finished in ${timeoutMs} ms`);
    await sleep(250);
  }
}
