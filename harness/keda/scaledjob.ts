// A KEDA ScaledJob with one Redis list trigger (scaler `redis`, which reads
// LLEN), and the calls to create it and delete it.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  CustomObjectsApi,
  type KubeConfig,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';

const group = 'keda.sh';
const version = 'v1alpha1';
const plural = 'scaledjobs';

export interface RedisListScaledJob {
  readonly name: string;
  /** host:port of the Redis server, as the operator reaches it. */
  readonly redisAddress: string;
  readonly listName: string;
  /** Items per Job (the scaler's target); KEDA's default is 5. */
  readonly listLength?: number;
  /** Seconds between polls; KEDA's default is 30. */
  readonly pollingInterval?: number;
  readonly maxReplicaCount?: number;
  /** `default`, `custom`, `accurate` or `eager`. */
  readonly scalingStrategy?: string;
  /**
   * Pod conditions that must all be true for KEDA to stop counting a Job as
   * pending (e.g. ['PodScheduled', 'Ready']); unset, KEDA's own rule.
   */
  readonly pendingPodConditions?: readonly string[];
  readonly template: V1PodTemplateSpec;
}

export function redisListScaledJob(s: RedisListScaledJob): Record<string, unknown> {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'ScaledJob',
    metadata: { name: s.name },
    spec: {
      jobTargetRef: { backoffLimit: 0, template: s.template },
      pollingInterval: s.pollingInterval ?? 30,
      maxReplicaCount: s.maxReplicaCount ?? 100,
      ...(s.scalingStrategy === undefined && s.pendingPodConditions === undefined
        ? {}
        : {
            scalingStrategy: {
              ...(s.scalingStrategy === undefined ? {} : { strategy: s.scalingStrategy }),
              ...(s.pendingPodConditions === undefined
                ? {}
                : { pendingPodConditions: s.pendingPodConditions }),
            },
          }),
      triggers: [
        {
          type: 'redis',
          metadata: {
            address: s.redisAddress,
            listName: s.listName,
            listLength: String(s.listLength ?? 5),
          },
        },
      ],
    },
  };
}

export async function createScaledJob(
  kc: KubeConfig,
  namespace: string,
  body: Record<string, unknown>,
): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({ group, version, namespace, plural, body });
}

/**
 * Deletes the ScaledJob and waits until it is gone. KEDA puts a finalizer on
 * it, so the operator must still be running.
 */
export async function deleteScaledJob(
  kc: KubeConfig,
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = { group, version, namespace, plural, name };
  const deadline = Date.now() + timeoutMs;
  try {
    await api.deleteNamespacedCustomObject(ref);
    while (Date.now() < deadline) {
      await api.getNamespacedCustomObject(ref);
      await sleep(200);
    }
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return;
    throw err;
  }
  throw new Error(`ScaledJob ${namespace}/${name} still there after ${timeoutMs} ms`);
}
