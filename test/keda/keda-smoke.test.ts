// Smoke test of the KEDA operator built by `npm run keda:build` (issue 14):
// its CRDs install, it runs against the test control plane, and a ScaledJob
// with a Redis list trigger turns items into Jobs. Skips when not built; npm
// test never builds it.
//
// kwok Pods run no code, so the test plays KEDA's worker: when a Job's Pod is
// Running it pops one item (RPOP), as a real worker would. A Job whose Pod
// finds the list empty is a duplicate. The figures are printed; the assertions
// only check that KEDA works (Jobs are created, the list drains).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { kedaArtifacts, KedaNotBuiltError, type KedaArtifacts } from '../../harness/keda/artifacts.ts';
import { installCrds } from '../../harness/crds.ts';
import { startKedaOperator, type KedaOperator } from '../../harness/keda/operator.ts';
import { createScaledJob, deleteScaledJob, redisListScaledJob } from '../../harness/keda/scaledjob.ts';
import { podBehaviourAnnotations } from '../../harness/pod-behaviour.ts';
import { testEnv } from '../support/env.ts';
import { useNamespace } from '../support/kube.ts';

const built: KedaArtifacts | KedaNotBuiltError = await kedaArtifacts().catch((err: unknown) => {
  if (err instanceof KedaNotBuiltError) return err;
  throw err;
});
const skip = built instanceof KedaNotBuiltError ? built.message : false;
const ITEMS = 3;
/** How long the emulated worker "works" on an item. */
const RUN_MS = 3_000;

describe('KEDA operator (built from github.com/kedacore/keda/v2)', { skip }, () => {
  const ns = useNamespace('keda-smoke');
  const listName = `keda-smoke-${String(process.pid)}`;
  let dir: string;
  let operator: KedaOperator | undefined;
  let redis: Redis;

  before(async () => {
    if (built instanceof KedaNotBuiltError) return;
    dir = await mkdtemp(join(tmpdir(), 'kjd-keda-'));
    redis = new Redis(testEnv().redisUrl);
    await installCrds(testEnv().admin, built.crdDir);
    operator = await startKedaOperator({
      binary: built.operator,
      kubeconfigPath: testEnv().kubeconfigPath,
      watchNamespace: ns.name,
      objectNamespace: ns.name,
      dir,
    });
  });

  after(async () => {
    await deleteScaledJob(testEnv().admin, ns.name, 'smoke').catch(() => undefined);
    await operator?.stop();
    await redis.del(listName).catch(() => undefined);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  test('a ScaledJob on a Redis list creates Jobs for the items', { timeout: 180_000 }, async () => {
    const { redisUrl, admin } = testEnv();
    const url = new URL(redisUrl);
    await createScaledJob(
      admin,
      ns.name,
      redisListScaledJob({
        name: 'smoke',
        redisAddress: `${url.hostname}:${url.port}`,
        listName,
        listLength: 1,
        pollingInterval: 1,
        maxReplicaCount: 10,
        template: {
          metadata: { annotations: podBehaviourAnnotations({ runMs: RUN_MS }) },
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'worker', image: 'worker:test', command: ['true'] }],
          },
        },
      }),
    );
    await sleep(2_000); // a few polls of the empty list: no Job yet
    await redis.lpush(listName, ...Array.from({ length: ITEMS }, (_, i) => `item-${i}`));

    const tally = await playWorker(ns.name, listName, redis, 60_000);
    const batch = admin.makeApiClient(BatchV1Api);
    const jobs = (await batch.listNamespacedJob({ namespace: ns.name })).items.length;
    const left = await redis.llen(listName);
    process.stdout.write(
      `# KEDA smoke: ${ITEMS} items -> ${jobs} Jobs (${(jobs / ITEMS).toFixed(2)} per item); ` +
        `${tally.worked} items worked, ${tally.empty} Jobs found the list empty, ${left} left; ` +
        `first Pod seen ${tally.firstJobMs ?? -1} ms after the LPUSH (pollingInterval 1 s, listLength 1)\n`,
    );
    assert.ok(
      jobs >= 1,
      `KEDA created no Job for ${ITEMS} items; operator log: ${operator?.process.logFile ?? ''}`,
    );
    assert.equal(left, 0, 'the emulated workers drained the list');
  });
});

/** Pods that started since the last call (Running or already finished), marked as seen. */
function newlyStarted(pods: readonly V1Pod[], seen: Set<string>): string[] {
  const started = pods
    .filter((p) => ['Running', 'Succeeded', 'Failed'].includes(p.status?.phase ?? ''))
    .map((p) => p.metadata?.name ?? '')
    .filter((name) => !seen.has(name));
  for (const name of started) seen.add(name);
  return started;
}

interface Tally {
  worked: number;
  empty: number;
  firstJobMs?: number;
}

/**
 * Pops one item for each Pod that reaches Running, until the list has been
 * empty for 5 s (five more polls, to see late duplicates) or the timeout.
 */
async function playWorker(
  namespace: string,
  listName: string,
  redis: Redis,
  timeoutMs: number,
): Promise<Tally> {
  const core = testEnv().admin.makeApiClient(CoreV1Api);
  const started = Date.now();
  const seen = new Set<string>();
  const tally: Tally = { worked: 0, empty: 0 };
  let emptySince: number | undefined;
  while (Date.now() - started < timeoutMs) {
    const pods = (await core.listNamespacedPod({ namespace })).items;
    if (pods.length > 0) tally.firstJobMs ??= Date.now() - started;
    for (const _pod of newlyStarted(pods, seen)) {
      if ((await redis.rpop(listName)) === null) tally.empty++;
      else tally.worked++;
    }
    const empty = (await redis.llen(listName)) === 0;
    emptySince = empty ? (emptySince ?? Date.now()) : undefined;
    if (emptySince !== undefined && Date.now() - emptySince > 5_000) break;
    await sleep(100);
  }
  return tally;
}
