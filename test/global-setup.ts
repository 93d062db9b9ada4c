// Starts one local control plane and one Redis for the whole test run; every
// test file reads their coordinates from the environment (test/support/env.ts)
// and works in its own namespace / key prefix. Set KJD_TEST_KUBECONFIG (and
// KJD_TEST_REDIS_URL) to reuse a cluster from `npm run cluster:up` instead.
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster, type LocalCluster } from '../harness/cluster/local-cluster.ts';
import { stateDir } from '../harness/paths.ts';
import { startLocalRedis, type LocalRedis } from '../harness/redis.ts';

let cluster: LocalCluster | undefined;
let redis: LocalRedis | undefined;
let redisDir: string | undefined;

const log = (m: string) => {
  process.stderr.write(`[test-env] ${m}\n`);
};

/** Logs of earlier test clusters are kept for debugging, until the next run: drop those no longer running. */
async function pruneOldTestClusters(): Promise<void> {
  const root = join(stateDir(), 'clusters');
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith('test-'))) {
    const running = await access(join(root, name, 'state.json')).then(
      () => true,
      () => false,
    );
    if (!running) await rm(join(root, name), { recursive: true, force: true });
  }
}

export async function globalSetup(): Promise<void> {
  await pruneOldTestClusters();
  if (process.env.KJD_TEST_KUBECONFIG === undefined) {
    const started = Date.now();
    cluster = await startLocalCluster({ name: `test-${process.pid}`, log });
    process.env.KJD_TEST_KUBECONFIG = cluster.kubeconfigPath;
    process.env.KJD_TEST_NODES = cluster.nodeNames.join(',');
    process.env.KJD_TEST_LOGS = cluster.logsDir;
    log(`control plane ready in ${Date.now() - started} ms; component logs in ${cluster.logsDir}`);
  }
  if (process.env.KJD_TEST_REDIS_URL === undefined) {
    redisDir = await mkdtemp(join(tmpdir(), 'kjd-test-redis-'));
    redis = await startLocalRedis({ dir: redisDir });
    process.env.KJD_TEST_REDIS_URL = redis.url;
  }
}

export async function globalTeardown(): Promise<void> {
  await redis?.stop();
  if (redisDir !== undefined) await rm(redisDir, { recursive: true, force: true });
  if (cluster !== undefined) {
    await cluster.stop();
    // Keep the component logs for debugging; drop etcd data and keys.
    await rm(join(cluster.dir, 'etcd'), { recursive: true, force: true });
    await rm(join(cluster.dir, 'pki'), { recursive: true, force: true });
  }
}
