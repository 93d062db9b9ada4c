// What the global setup started, for test files. A file run on its own
// (without test/global-setup.ts) fails here with a message saying why.
import { KubeConfig } from '@kubernetes/client-node';

export interface TestEnv {
  readonly kubeconfigPath: string;
  readonly admin: KubeConfig;
  readonly server: string;
  readonly caData: string;
  readonly nodeNames: readonly string[];
  readonly redisUrl: string;
  /** The real node (containerd + kubelet), when the cluster has one. */
  readonly realNode?: { readonly name: string };
  /** Why there is no real node (empty when there is one). */
  readonly realNodeReason: string;
  /** The host should have run a real node and it failed to start: its tests fail rather than skip. */
  readonly realNodeFailed: boolean;
}

let cached: TestEnv | undefined;

export function testEnv(): TestEnv {
  if (cached) return cached;
  const kubeconfigPath = process.env.KJD_TEST_KUBECONFIG;
  const redisUrl = process.env.KJD_TEST_REDIS_URL;
  if (kubeconfigPath === undefined || redisUrl === undefined) {
    throw new Error(
      'no test environment: run through `npm test` (which uses --test-global-setup=test/global-setup.ts)',
    );
  }
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData) throw new Error(`kubeconfig ${kubeconfigPath} has no cluster CA data`);
  cached = {
    kubeconfigPath,
    admin,
    server: cluster.server,
    caData: cluster.caData,
    nodeNames: (process.env.KJD_TEST_NODES ?? '').split(',').filter(Boolean),
    redisUrl,
    ...(process.env.KJD_TEST_REAL_NODE ? { realNode: { name: process.env.KJD_TEST_REAL_NODE } } : {}),
    realNodeReason: process.env.KJD_TEST_REAL_NODE_REASON ?? '',
    realNodeFailed: process.env.KJD_TEST_REAL_NODE_FAILED === '1',
  };
  return cached;
}
