// Where a fault scenario runs. Scenarios confined to one namespace (and their
// own Redis key prefix) use the shared test cluster and Redis. Scenarios whose
// fault hits everyone on a cluster (an API server restart, an etcd compaction,
// cluster-wide APF or admission objects) start a private cluster: only one at
// a time (the machine has 2 cores), stopped when the scenario ends.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster } from '../../../harness/cluster/local-cluster.ts';
import { testEnv } from '../../support/env.ts';

export interface FaultCluster {
  readonly kubeconfigPath: string;
  readonly admin: KubeConfig;
  readonly server: string;
  readonly caData: string;
  /** Set for a private cluster: the handle faults act on. */
  readonly local?: LocalCluster;
  stop(): Promise<void>;
}

export function sharedCluster(): Promise<FaultCluster> {
  const env = testEnv();
  return Promise.resolve({
    kubeconfigPath: env.kubeconfigPath,
    admin: env.admin,
    server: env.server,
    caData: env.caData,
    stop: () => Promise.resolve(),
  });
}

export async function privateCluster(label: string): Promise<FaultCluster> {
  const name = `faults-${label}-${randomBytes(2).toString('hex')}`;
  const local = await startLocalCluster({
    name,
    nodes: 1,
    log: (m) => process.stderr.write(`[${name}] ${m}\n`),
  });
  const admin = new KubeConfig();
  admin.loadFromFile(local.kubeconfigPath);
  const caData = admin.getCurrentCluster()?.caData ?? '';
  return {
    kubeconfigPath: local.kubeconfigPath,
    admin,
    server: local.server,
    caData,
    local,
    async stop() {
      await local.stop();
      // Keep the component logs for debugging; drop etcd's data and the keys.
      await rm(join(local.dir, 'etcd'), { recursive: true, force: true });
      await rm(join(local.dir, 'pki'), { recursive: true, force: true });
    },
  };
}

export async function createNamespace(c: FaultCluster, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await c.admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function deleteNamespace(c: FaultCluster, name: string): Promise<void> {
  await c.admin
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}
