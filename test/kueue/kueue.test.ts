// kjd's Kueue mode against a real Kueue (cmd/kueue of sigs.k8s.io/kueue,
// built by controlplane/build-kueue.sh): its CRDs, its manager and its
// admission webhooks, on the test control plane (issue 17).
//
// - A ClusterQueue whose CPU quota admits 2 Jobs at a time: 20 items give
//   exactly 20 Jobs, never more than 2 admitted or running, all finished with
//   results. Counted from a watch on the cluster's Jobs and Pods, not from kjd.
// - A higher-priority workload preempts a running kjd Job: Kueue suspends it
//   (its Pod goes), requeues it, and admits it again once room returns; kjd
//   does not fight over `suspend`, and the item ends with exactly one Job and
//   one Succeeded result.
//
// Skips, saying why, when Kueue has not been built (scripts/setup.sh builds it).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BatchV1Api,
  CoreV1Api,
  Watch,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { kueueArtifacts, KueueNotBuiltError, type KueueArtifacts } from '../../harness/kueue/artifacts.ts';
import { QUEUE_NAME_LABEL, startKueue, type KueueManager } from '../../harness/kueue/manager.ts';
import {
  createKueueQueues,
  listWorkloads,
  PRIORITY_CLASS_LABEL,
  type KueueQueues,
} from '../../harness/kueue/queues.ts';
import { podBehaviourAnnotations } from '../../harness/pod-behaviour.ts';
import { testEnv } from '../support/env.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

const built: KueueArtifacts | KueueNotBuiltError = await kueueArtifacts().catch((err: unknown) => {
  if (err instanceof KueueNotBuiltError) return err;
  throw err;
});
const skip = built instanceof KueueNotBuiltError ? built.message : false;

/** A kjd template whose Pods request 1 CPU, so a quota of N CPUs admits N at a time. */
function jobTemplate(runMs: number, jobLabels: Record<string, string> = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'kueue-worker',
      labels: jobLabels,
      annotations: { 'kjd.dev/parameters': 'CUSTOM_ID: { type: string, required: true }\n' },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: podBehaviourAnnotations({ runMs }) },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'worker',
              image: 'worker:demo',
              command: ['sh', '-c', 'work ${CUSTOM_ID}'],
              resources: { requests: { cpu: '1' } },
            },
          ],
        },
      },
    },
  };
}

const finished = (j: V1Job) =>
  (j.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

/** Watches a namespace's Jobs and Pods, and keeps the peaks a test asserts on. */
class AdmissionWatch {
  readonly jobs = new Map<string, V1Job>();
  readonly pods = new Map<string, V1Pod>();
  maxAdmitted = 0;
  maxRunningPods = 0;
  maxQueued = 0;
  /** Why a watch ended early, if one did (the peaks would then be incomplete). */
  ended: unknown;
  readonly #aborts: AbortController[] = [];

  async start(kc: KubeConfig, namespace: string): Promise<void> {
    const watch = new Watch(kc);
    const onJob = (type: string, job: V1Job) => {
      const name = job.metadata?.name ?? '';
      if (type === 'DELETED') this.jobs.delete(name);
      else this.jobs.set(name, job);
      const open = [...this.jobs.values()].filter((j) => !finished(j));
      this.maxAdmitted = Math.max(this.maxAdmitted, open.filter((j) => j.spec?.suspend !== true).length);
      this.maxQueued = Math.max(this.maxQueued, open.filter((j) => j.spec?.suspend === true).length);
    };
    const onPod = (type: string, pod: V1Pod) => {
      const name = pod.metadata?.name ?? '';
      if (type === 'DELETED') this.pods.delete(name);
      else this.pods.set(name, pod);
      const running = [...this.pods.values()].filter((p) => p.status?.phase === 'Running').length;
      this.maxRunningPods = Math.max(this.maxRunningPods, running);
    };
    const fail = (err: unknown) => {
      if (err !== null && err !== undefined) this.ended = err;
    };
    this.#aborts.push(await watch.watch(`/apis/batch/v1/namespaces/${namespace}/jobs`, {}, onJob, fail));
    this.#aborts.push(await watch.watch(`/api/v1/namespaces/${namespace}/pods`, {}, onPod, fail));
  }

  stop(): void {
    for (const a of this.#aborts) a.abort();
  }
}

describe('Kueue mode against a real Kueue (sigs.k8s.io/kueue)', { skip }, () => {
  const ns = useNamespace('kueue-real');
  let dir: string;
  let kueue: KueueManager | undefined;
  let redis: Redis;
  const batch = () => testEnv().admin.makeApiClient(BatchV1Api);

  before(async () => {
    if (built instanceof KueueNotBuiltError) return;
    dir = await mkdtemp(join(tmpdir(), 'kjd-kueue-'));
    redis = new Redis(testEnv().redisUrl);
    kueue = await startKueue({
      artifacts: built,
      kubeconfigPath: testEnv().kubeconfigPath,
      admin: testEnv().admin,
      dir,
    });
    const { key, value } = kueue.namespaceLabel;
    await testEnv()
      .admin.makeApiClient(CoreV1Api)
      .patchNamespace({
        name: ns.name,
        body: [{ op: 'add', path: `/metadata/labels/${key.replace('/', '~1')}`, value }],
      });
  });

  after(async () => {
    await kueue?.stop();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts kjd serve on one list route into the LocalQueue; returns what the test needs. */
  async function serveInto(queues: KueueQueues, p: string, template: object) {
    const templateFile = join(dir, `${p}-template.yaml`);
    await writeFile(templateFile, stringify(template));
    const file = await writeServeConfig(dir, p, {
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
      routes: [
        {
          name: 'q',
          template: templateFile,
          namespace: ns.name,
          kueue: { queueName: queues.localQueue },
          source: { type: 'redis-list', key: `${p}:queue` },
        },
      ],
    });
    return startServe(file, dir, `${p}-a`);
  }

  const resultsOf = async (p: string, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => redis.hgetall(`${p}:result:q/${p}-${String(i)}`)));

  test(
    'a quota of 2 CPUs: 20 items give 20 Jobs, never more than 2 admitted or running, all with results',
    { timeout: 240_000 },
    async (t) => {
      const p = `kq${randomBytes(3).toString('hex')}`;
      const queues = await createKueueQueues(testEnv().admin, {
        prefix: p,
        namespace: ns.name,
        cpuQuota: '2',
      });
      const watch = new AdmissionWatch();
      await watch.start(testEnv().admin, ns.name);
      let kjd: ServeProcess | undefined;
      try {
        kjd = await serveInto(queues, p, jobTemplate(1_000));
        const items = Array.from({ length: 20 }, (_, i) =>
          JSON.stringify({ id: `${p}-${String(i)}`, CUSTOM_ID: String(i) }),
        );
        await redis.lpush(`${p}:queue`, ...items);
        const started = Date.now();
        await eventually(
          '20 results',
          async () => ((await redis.keys(`${p}:result:*`)).length >= 20 ? true : undefined),
          180_000,
        );
        const seconds = (Date.now() - started) / 1000;
        const jobs = (await batch().listNamespacedJob({ namespace: ns.name })).items;
        const results = await resultsOf(p, 20);
        const workloads = await listWorkloads(testEnv().admin, ns.name);
        t.diagnostic(
          `kueue quota 2: ${String(jobs.length)} Jobs, ${String(workloads.length)} Workloads, max admitted ${String(watch.maxAdmitted)}, ` +
            `max running Pods ${String(watch.maxRunningPods)}, max queued ${String(watch.maxQueued)}, ${seconds.toFixed(1)} s`,
        );
        assert.equal(watch.ended, undefined, 'the watches ran to the end');
        assert.equal(jobs.length, 20, 'exactly one Job per item');
        assert.ok(
          jobs.every((j) => j.metadata?.labels?.[QUEUE_NAME_LABEL] === queues.localQueue),
          'every Job names the LocalQueue',
        );
        assert.deepEqual(
          results.map((r) => r.status),
          Array.from({ length: 20 }, () => 'Succeeded'),
          'every item has a Succeeded result',
        );
        assert.equal(workloads.length, 20, 'Kueue made a Workload for each Job');
        assert.ok(
          watch.maxAdmitted <= 2,
          `at most 2 Jobs admitted at once (saw ${String(watch.maxAdmitted)})`,
        );
        assert.ok(
          watch.maxRunningPods <= 2,
          `at most 2 Pods running at once (saw ${String(watch.maxRunningPods)})`,
        );
        assert.equal(watch.maxAdmitted, 2, 'the quota was used');
        assert.ok(watch.maxQueued >= 10, `Jobs waited in Kueue, suspended (saw ${String(watch.maxQueued)})`);
        assert.equal(await redis.llen(`${p}:queue`), 0, 'nothing left in the queue');
      } finally {
        watch.stop();
        kjd?.child.kill('SIGTERM');
        if (kjd) assert.equal(await kjd.exited, 0);
        await queues.delete();
      }
    },
  );

  test(
    'a higher-priority workload preempts a running kjd Job: Kueue requeues it, and the item still ends with one Job and one result',
    { timeout: 240_000 },
    async (t) => {
      const p = `kp${randomBytes(3).toString('hex')}`;
      const queues = await createKueueQueues(testEnv().admin, {
        prefix: p,
        namespace: ns.name,
        cpuQuota: '1',
        priorities: { low: 100, high: 1000 },
      });
      const low = queues.priorityClass.low ?? '';
      const high = queues.priorityClass.high ?? '';
      let kjd: ServeProcess | undefined;
      try {
        kjd = await serveInto(queues, p, jobTemplate(8_000, { [PRIORITY_CLASS_LABEL]: low }));
        await redis.lpush(`${p}:queue`, JSON.stringify({ id: `${p}-0`, CUSTOM_ID: '0' }));
        const kjdJob = await eventually(
          "kjd's Job admitted and its Pod running",
          async () => {
            const jobs = (await batch().listNamespacedJob({ namespace: ns.name })).items;
            const job = jobs.find((j) => j.metadata?.labels?.[PRIORITY_CLASS_LABEL] === low);
            return job?.spec?.suspend === false &&
              (job.status?.active ?? 0) >= 1 &&
              (job.status?.ready ?? 0) >= 1
              ? job
              : undefined;
          },
          60_000,
        );
        const name = kjdJob.metadata?.name ?? '';

        // Another team's urgent Job, straight to the API server: same LocalQueue, higher priority,
        // and no `suspend`: Kueue's mutating webhook must add it, or the Job would start outside the quota.
        const urgentCreated = await batch().createNamespacedJob({
          namespace: ns.name,
          body: {
            metadata: {
              name: `${p}-urgent`,
              labels: { [QUEUE_NAME_LABEL]: queues.localQueue, [PRIORITY_CLASS_LABEL]: high },
            },
            spec: {
              backoffLimit: 0,
              template: {
                metadata: { annotations: podBehaviourAnnotations({ runMs: 2_000 }) },
                spec: {
                  restartPolicy: 'Never',
                  containers: [
                    { name: 'urgent', image: 'worker:demo', resources: { requests: { cpu: '1' } } },
                  ],
                },
              },
            },
          },
        });

        assert.equal(urgentCreated.spec?.suspend, true, "Kueue's webhook suspended the Job at create");
        const evicted = await eventually(
          "kjd's Job preempted (suspended again, its Workload Evicted)",
          async () => {
            const job = await batch().readNamespacedJob({ name, namespace: ns.name });
            const wl = (await listWorkloads(testEnv().admin, ns.name)).find((w) =>
              w.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.name === name),
            );
            const cond = wl?.status?.conditions?.find((c) => c.type === 'Evicted' || c.type === 'Preempted');
            return job.spec?.suspend === true && cond !== undefined ? cond : undefined;
          },
          60_000,
        );
        t.diagnostic(`kueue preemption: ${evicted.type} ${evicted.reason ?? ''}: ${evicted.message ?? ''}`);

        const result = await eventually(
          "the preempted item's result",
          async () => {
            const r = await redis.hgetall(`${p}:result:q/${p}-0`);
            return r.status !== undefined ? r : undefined;
          },
          120_000,
        );
        const urgent = await batch().readNamespacedJob({ name: `${p}-urgent`, namespace: ns.name });
        const kjdJobs = (await batch().listNamespacedJob({ namespace: ns.name })).items.filter(
          (j) => j.metadata?.labels?.[PRIORITY_CLASS_LABEL] === low,
        );
        assert.equal(
          result.status,
          'Succeeded',
          `the requeued Job ran again and finished: ${JSON.stringify(result)}`,
        );
        assert.ok(finished(urgent), 'the urgent Job ran first and finished');
        assert.equal(kjdJobs.length, 1, 'still exactly one Job for the item');
        assert.equal(kjdJobs[0]?.metadata?.name, name, 'the same Job, requeued, not a replacement');
      } finally {
        kjd?.child.kill('SIGTERM');
        if (kjd) assert.equal(await kjd.exited, 0);
        await queues.delete();
      }
    },
  );
});
