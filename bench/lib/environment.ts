// Where the benchmark runs: the local control plane and Redis (started here,
// or the ones `npm run cluster:up` left running), and per contender a fresh
// namespace with a ServiceAccount, as a Pod of it would see them.
import { releaseKjdFinalizers } from '../../harness/finalizers.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  clusterDir,
  startLocalCluster,
  type LocalClusterOptions,
} from '../../harness/cluster/local-cluster.ts';
import { isProcessOf } from '../../harness/process.ts';
import { stateDir } from '../../harness/paths.ts';
import { startLocalRedis } from '../../harness/redis.ts';
import type { AuthenticationV1TokenRequest, V1SubjectAccessReview } from '@kubernetes/client-node';
import { apiPath, KubeClient } from '../../src/kube/client.ts';

export interface BenchEnvironment {
  readonly kubeconfigPath: string;
  readonly server: URL;
  readonly caFile: string;
  readonly apiserverPid: number;
  /** Every control-plane process by name (kube-apiserver, kube-controller-manager, …): whose CPU a run costs. */
  readonly componentPids: Readonly<Record<string, number>>;
  readonly redisUrl: string;
  /** The Redis server's process, where known (for --placement). */
  readonly redisPid?: number;
  /** Admin (system:masters), no client-side rate limit: set-up and observation only. */
  readonly admin: KubeClient;
  readonly redis: Redis;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  /** Reuse `npm run cluster:up`'s cluster and Redis when both run. */
  readonly reuse: boolean;
  /** A cluster of its own (never reused): its name, and kube-controller-manager's tuning. */
  readonly cluster?: Pick<LocalClusterOptions, 'name' | 'controllerManager'>;
}

/** Reuses `npm run cluster:up`'s cluster and Redis when asked and both run; else starts its own. */
export async function startEnvironment(
  options: EnvironmentOptions,
  log: (m: string) => void,
): Promise<BenchEnvironment> {
  const running = options.reuse && options.cluster === undefined ? await runningLocal() : undefined;
  let stopAll = (): Promise<void> => Promise.resolve();
  let found = running;
  if (found === undefined) {
    log('starting a local control plane and Redis');
    const cluster = await startLocalCluster({ name: 'bench', ...options.cluster, log });
    const redisDir = await mkdtemp(join(tmpdir(), 'kjd-bench-redis-'));
    // everysec: every contender reads the same Redis; fsync per write would measure the disk.
    const redis = await startLocalRedis({ dir: redisDir, appendfsync: 'everysec' });
    const apiserver = cluster.processes.find((p) => p.name === 'kube-apiserver');
    found = {
      kubeconfigPath: cluster.kubeconfigPath,
      server: cluster.server,
      caFile: cluster.caFile,
      apiserverPid: apiserver?.pid ?? 0,
      componentPids: Object.fromEntries(cluster.processes.map((p) => [p.name, p.pid])),
      redisUrl: redis.url,
      redisPid: redis.process().pid,
    };
    stopAll = async () => {
      await redis.stop();
      await cluster.stop();
      await rm(redisDir, { recursive: true, force: true });
    };
  } else {
    log(`reusing the local cluster at ${found.server} and Redis at ${found.redisUrl}`);
  }
  const admin = KubeClient.connect({
    kubeconfig: found.kubeconfigPath,
    mode: 'kubeconfig',
    transport: { rateLimit: { qps: 1e6, burst: 1e6 } },
  });
  const redis = new Redis(found.redisUrl);
  return {
    ...found,
    server: new URL(found.server),
    admin,
    redis,
    async stop() {
      redis.disconnect();
      await admin.close();
      await stopAll();
    },
  };
}

async function runningLocal() {
  try {
    const dir = clusterDir('local');
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as {
      pids: { name: string; pid: number }[];
      server: string;
      kubeconfigPath: string;
    };
    const { url, pid } = JSON.parse(await readFile(join(stateDir(), 'redis', 'state.json'), 'utf8')) as {
      url: string;
      pid?: number;
    };
    const apiserver = state.pids.find((p) => p.name === 'kube-apiserver');
    if (apiserver === undefined || !isProcessOf(apiserver.pid, 'kube-apiserver')) return undefined;
    return {
      kubeconfigPath: state.kubeconfigPath,
      server: state.server,
      caFile: join(dir, 'pki', 'ca.crt'),
      apiserverPid: apiserver.pid,
      componentPids: Object.fromEntries(state.pids.map((p) => [p.name, p.pid])),
      redisUrl: url,
      ...(pid !== undefined ? { redisPid: pid } : {}),
    };
  } catch {
    return undefined;
  }
}

export interface BenchNamespace {
  readonly name: string;
  /** token, ca.crt, namespace: what the kubelet mounts. */
  readonly serviceAccountDir: string;
  /** KUBERNETES_SERVICE_HOST/PORT and KJD_SERVICE_ACCOUNT_DIR. */
  readonly podEnv: Readonly<Record<string, string>>;
  /** Deletes every Job (one DeleteCollection), then the namespace. */
  remove(): Promise<void>;
}

const SERVICE_ACCOUNT = 'bench-runner';

/** A namespace whose ServiceAccount holds the `admin` ClusterRole there, and its mounted token. */
export async function createNamespace(env: BenchEnvironment, name: string): Promise<BenchNamespace> {
  const { admin } = env;
  await admin.call('POST', '/api/v1/namespaces', {
    body: { metadata: { name, labels: { 'kjd.dev/bench': 'true' } } },
  });
  await admin.call('POST', apiPath('v1', name, 'serviceaccounts'), {
    body: { metadata: { name: SERVICE_ACCOUNT } },
  });
  await admin.call('POST', apiPath('rbac.authorization.k8s.io/v1', name, 'rolebindings'), {
    body: {
      metadata: { name: SERVICE_ACCOUNT },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: name }],
    },
  });
  const token = await admin.call<AuthenticationV1TokenRequest>(
    'POST',
    apiPath('v1', name, 'serviceaccounts', SERVICE_ACCOUNT, 'token'),
    { body: { spec: { audiences: [], expirationSeconds: 7200 } } },
  );
  const dir = await mkdtemp(join(tmpdir(), 'kjd-bench-sa-'));
  await writeFile(join(dir, 'token'), token.status?.token ?? '');
  await writeFile(join(dir, 'ca.crt'), await readFile(env.caFile));
  await writeFile(join(dir, 'namespace'), name);
  await waitForAccess(env, name);
  return {
    name,
    serviceAccountDir: dir,
    podEnv: {
      KUBERNETES_SERVICE_HOST: env.server.hostname,
      KUBERNETES_SERVICE_PORT: env.server.port,
      KJD_SERVICE_ACCOUNT_DIR: dir,
    },
    async remove() {
      // kjd's Jobs keep its result finalizer once kjd has stopped.
      await releaseKjdFinalizers(env.kubeconfigPath, name).catch(() => undefined);
      await admin.call('DELETE', apiPath('batch/v1', name, 'jobs'), {
        query: { propagationPolicy: 'Background' },
      });
      await admin.call('DELETE', apiPath('v1', undefined, 'namespaces', name)).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** RBAC takes effect through the authorizer's cache: wait until the ServiceAccount may create Jobs. */
async function waitForAccess(env: BenchEnvironment, namespace: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const review = await env.admin.call<V1SubjectAccessReview>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          spec: {
            user: `system:serviceaccount:${namespace}:${SERVICE_ACCOUNT}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
            resourceAttributes: { namespace, verb: 'create', group: 'batch', resource: 'jobs' },
          },
        },
      },
    );
    if (review.status?.allowed === true) return;
    await sleep(50);
  }
  throw new Error(`the ServiceAccount in ${namespace} still may not create Jobs after 10 s`);
}
