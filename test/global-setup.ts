// Starts one local control plane and one Redis for the whole test run; every
// test file reads their coordinates from the environment (test/support/env.ts)
// and works in its own namespace / key prefix. Set KJD_TEST_KUBECONFIG (and
// KJD_TEST_REDIS_URL) to reuse a cluster from `npm run cluster:up` instead.
//
// The real node (harness/node/) joins the test cluster when the host can run
// it (KJD_TEST_NO_REAL_NODE=1 turns it off). Test files learn whether there is
// one from KJD_TEST_REAL_NODE (its name) or KJD_TEST_REAL_NODE_REASON (why
// not; with KJD_TEST_REAL_NODE_FAILED=1 when it should have started and did
// not, which fails those tests instead of skipping them).
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster } from '../harness/cluster/local-cluster.ts';
import { REAL_NODE_KEY } from '../harness/node/real-node.ts';
import { realNodeName, type RealNodeStatus } from '../harness/node/start.ts';
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
    const realNode = process.env.KJD_TEST_NO_REAL_NODE !== '1';
    cluster = await startLocalCluster({ name: `test-${process.pid}`, log, realNode });
    process.env.KJD_TEST_KUBECONFIG = cluster.kubeconfigPath;
    process.env.KJD_TEST_NODES = cluster.nodeNames.join(',');
    process.env.KJD_TEST_LOGS = cluster.logsDir;
    log(`control plane ready in ${Date.now() - started} ms; component logs in ${cluster.logsDir}`);
    exposeRealNode(realNode ? cluster.realNode : { state: 'off', reason: 'KJD_TEST_NO_REAL_NODE=1' });
  } else {
    // A cluster given by KJD_TEST_KUBECONFIG (e.g. `npm run cluster:up`'s): its kwok Nodes are read from it.
    process.env.KJD_TEST_NODES ??= (await kwokNodes(process.env.KJD_TEST_KUBECONFIG)).join(',');
    if (process.env.KJD_TEST_REAL_NODE === undefined)
      exposeRealNode(await findRealNode(process.env.KJD_TEST_KUBECONFIG));
  }
  if (process.env.KJD_TEST_REDIS_URL === undefined) {
    redisDir = await mkdtemp(join(tmpdir(), 'kjd-test-redis-'));
    redis = await startLocalRedis({ dir: redisDir });
    process.env.KJD_TEST_REDIS_URL = redis.url;
  }
}

function exposeRealNode(status: RealNodeStatus): void {
  const name = realNodeName(status);
  if (name !== undefined) {
    process.env.KJD_TEST_REAL_NODE = name;
    log(`real node ${name} is Ready: test/realnode/ runs real containers`);
    return;
  }
  // The reason says what to do (RealNodeBusyError names the owner and how to free it or use it).
  process.env.KJD_TEST_REAL_NODE_REASON = 'reason' in status ? status.reason : status.state;
  if (status.state === 'failed') process.env.KJD_TEST_REAL_NODE_FAILED = '1';
  log(`no real node (${status.state}): ${process.env.KJD_TEST_REAL_NODE_REASON}`);
}

/** On a cluster the tests did not start: a Ready Node labelled as the real node. */
/** The names of the cluster's kwok Nodes (labelled type=kwok, as harness/cluster/bootstrap.ts makes them). */
async function kwokNodes(kubeconfigPath: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const list = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: 'type=kwok' });
  return list.items.flatMap((n) => (n.metadata?.name !== undefined ? [n.metadata.name] : []));
}

async function findRealNode(kubeconfigPath: string): Promise<RealNodeStatus> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const list = await kc.makeApiClient(CoreV1Api).listNode({ labelSelector: `${REAL_NODE_KEY}=true` });
  const ready = list.items.find((n) =>
    n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  const name = ready?.metadata?.name;
  return name !== undefined
    ? { state: 'reused', name }
    : {
        state: 'unsupported',
        reason: `the cluster at KJD_TEST_KUBECONFIG=${kubeconfigPath} has no Ready Node labelled ${REAL_NODE_KEY}=true (start one with \`npm run cluster:up\` as root)`,
      };
}

export async function globalTeardown(): Promise<void> {
  await redis?.stop();
  if (redisDir !== undefined) await rm(redisDir, { recursive: true, force: true });
  if (cluster !== undefined) {
    await cluster.stop();
    // Keep the component logs for debugging; drop etcd data and keys.
    await rm(join(cluster.dir, 'etcd'), { recursive: true, force: true });
    await rm(join(cluster.dir, 'pki'), { recursive: true, force: true });
    // The real node's image store and volumes; its logs stay.
    await rm(join(cluster.dir, 'node', 'containerd'), { recursive: true, force: true });
    await rm(join(cluster.dir, 'node', 'kubelet'), { recursive: true, force: true });
  }
}
