// Kueue's queueing objects for a test: a ResourceFlavor, a ClusterQueue with a
// CPU quota that preempts lower-priority workloads, a LocalQueue in one
// namespace, and WorkloadPriorityClasses. All cluster-scoped names carry a
// prefix, so runs on a shared cluster do not meet.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

const group = 'kueue.x-k8s.io';
const version = 'v1beta2';
/** The label that gives a Job a WorkloadPriorityClass. */
export const PRIORITY_CLASS_LABEL = 'kueue.x-k8s.io/priority-class';

export interface KueueQueueSpec {
  /** Prefix of every cluster-scoped name. */
  readonly prefix: string;
  readonly namespace: string;
  /** The ClusterQueue's nominal CPU quota, e.g. '2' (Pods requesting 1 CPU: 2 at once). */
  readonly cpuQuota: string;
  /** WorkloadPriorityClasses to create: name suffix -> value. */
  readonly priorities?: Readonly<Record<string, number>>;
}

export interface KueueQueues {
  readonly clusterQueue: string;
  /** The LocalQueue's name in `namespace`: what a kjd route's kueue.queueName names. */
  readonly localQueue: string;
  /** WorkloadPriorityClass names by the suffix asked for. */
  readonly priorityClass: Readonly<Record<string, string>>;
  delete(): Promise<void>;
}

export async function createKueueQueues(kc: KubeConfig, s: KueueQueueSpec): Promise<KueueQueues> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const flavor = `${s.prefix}-flavor`;
  const clusterQueue = `${s.prefix}-cq`;
  const localQueue = `${s.prefix}-lq`;
  const cluster = (plural: string, body: object) =>
    api.createClusterCustomObject({ group, version, plural, body });
  const priorityClass: Record<string, string> = {};
  for (const [suffix, value] of Object.entries(s.priorities ?? {})) {
    const name = `${s.prefix}-${suffix}`;
    priorityClass[suffix] = name;
    await cluster('workloadpriorityclasses', {
      apiVersion: `${group}/${version}`,
      kind: 'WorkloadPriorityClass',
      metadata: { name },
      value,
      description: `kjd test priority ${suffix}`,
    });
  }
  await cluster('resourceflavors', {
    apiVersion: `${group}/${version}`,
    kind: 'ResourceFlavor',
    metadata: { name: flavor },
  });
  await cluster('clusterqueues', {
    apiVersion: `${group}/${version}`,
    kind: 'ClusterQueue',
    metadata: { name: clusterQueue },
    spec: {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.namespace } },
      preemption: { withinClusterQueue: 'LowerPriority' },
      resourceGroups: [
        {
          coveredResources: ['cpu'],
          flavors: [{ name: flavor, resources: [{ name: 'cpu', nominalQuota: s.cpuQuota }] }],
        },
      ],
    },
  });
  await api.createNamespacedCustomObject({
    group,
    version,
    namespace: s.namespace,
    plural: 'localqueues',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'LocalQueue',
      metadata: { name: localQueue, namespace: s.namespace },
      spec: { clusterQueue },
    },
  });
  return {
    clusterQueue,
    localQueue,
    priorityClass,
    async delete(): Promise<void> {
      const ignore = () => undefined;
      await api
        .deleteNamespacedCustomObject({
          group,
          version,
          namespace: s.namespace,
          plural: 'localqueues',
          name: localQueue,
        })
        .catch(ignore);
      await api
        .deleteClusterCustomObject({ group, version, plural: 'clusterqueues', name: clusterQueue })
        .catch(ignore);
      await api
        .deleteClusterCustomObject({ group, version, plural: 'resourceflavors', name: flavor })
        .catch(ignore);
      for (const name of Object.values(priorityClass)) {
        await api
          .deleteClusterCustomObject({ group, version, plural: 'workloadpriorityclasses', name })
          .catch(ignore);
      }
    },
  };
}

/** The Workloads in a namespace (Kueue's record of each Job's admission and evictions). */
export async function listWorkloads(kc: KubeConfig, namespace: string): Promise<KueueWorkload[]> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listNamespacedCustomObject({ group, version, namespace, plural: 'workloads' })) as {
    items: KueueWorkload[];
  };
  return list.items;
}

export interface KueueWorkload {
  readonly metadata: {
    readonly name: string;
    readonly ownerReferences?: readonly { kind: string; name: string }[];
  };
  readonly status?: {
    readonly conditions?: readonly { type: string; status: string; reason?: string; message?: string }[];
  };
}
