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
  };
  return cached;
}
