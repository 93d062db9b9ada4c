// kjd watching many Jobs of its own: half unfinished (suspended), half
// finished (Complete). They are made here, as kjd would render them, at the
// API server's pace; the finished ones are handed to a fictitious controller
// (spec.managedBy) so their status can be written directly, which is much
// faster than having the Job controller run thousands of Pods.
import { loadTemplate } from '../../src/template/index.ts';
import { apiPath, type KubeClient } from '../../src/kube/client.ts';
import { startKjd, templates, type ContenderContext, type KjdSettings } from './contenders.ts';
import { createNamespace } from './environment.ts';
import { now } from './observer.ts';
import { cpuSeconds, memoryMB } from './proc.ts';
import type { BenchResults } from './results.ts';
import { round } from './stats.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const MANAGED_BY = 'bench.kjd.dev/finished-elsewhere';

export async function tracked(
  ctx: ContenderContext,
  settings: KjdSettings,
  jobs: number,
  log: (m: string) => void,
): Promise<BenchResults['tracked10k']> {
  const ns = await createNamespace(ctx.env, `bench-tracked-${Math.random().toString(36).slice(2, 7)}`);
  try {
    const finished = Math.floor(jobs / 2);
    const t0 = now();
    await makeJobs(ctx.env.admin, ns.name, jobs, finished);
    log(`tracked: ${String(jobs)} Jobs made in ${((now() - t0) / 1000).toFixed(1)} s`);
    const kjd = await startKjd(ns, ctx, settings, `bench:${ns.name}:queue`);
    try {
      const pid = kjd.process.pid;
      // Settled: the results of the finished Jobs written and the CPU quiet for a second.
      await waitQuiet(pid, 60_000);
      const mem = memoryMB(pid);
      const cpu = cpuSeconds(pid);
      const heap = await heapMB(kjd.url);
      await sleep(10_000);
      return {
        jobs,
        finished,
        unfinished: jobs - finished,
        syncMs: round(kjd.readyAt - kjd.spawnedAt),
        rssMB: round(memoryMB(pid).current),
        peakRssMB: round(Math.max(mem.peak, memoryMB(pid).peak)),
        cpuSeconds: round(cpu, 2),
        idleCpuSecondsPer10s: round(cpuSeconds(pid) - cpu, 2),
        ...heap,
      };
    } finally {
      await kjd.process.stop();
    }
  } finally {
    await ns.remove();
  }
}

/** What the RSS is made of, from kjd's own /metrics (prom-client's default metrics). */
async function heapMB(url: string): Promise<{ heapUsedMB: number; heapTotalMB: number; externalMB: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMB: round(value('nodejs_heap_size_used_bytes') / 2 ** 20),
    heapTotalMB: round(value('nodejs_heap_size_total_bytes') / 2 ** 20),
    externalMB: round(value('nodejs_external_memory_bytes') / 2 ** 20),
  };
}

async function waitQuiet(pid: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  let last = cpuSeconds(pid);
  let quiet = 0;
  while (quiet < 2 && now() < deadline) {
    await sleep(500);
    const cpu = cpuSeconds(pid);
    quiet = cpu - last < 0.05 ? quiet + 1 : 0;
    last = cpu;
  }
}

async function makeJobs(kube: KubeClient, namespace: string, jobs: number, finished: number): Promise<void> {
  const template = await loadTemplate(templates.suspended);
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < jobs; i = next++) {
      const id = `t${String(i)}`;
      const job = template.render({
        values: { CUSTOM_ID: id },
        payload: { CUSTOM_ID: id },
        requestId: id,
        namespace,
      });
      const done = i < finished;
      if (done && job.spec !== undefined) {
        job.spec.suspend = false;
        job.spec.managedBy = MANAGED_BY;
      }
      await kube.call('POST', apiPath('batch/v1', namespace, 'jobs'), { body: job });
      if (done) await markComplete(kube, namespace, job.metadata?.name ?? '', stamp);
    }
  };
  await Promise.all(Array.from({ length: 48 }, worker));
}

function markComplete(kube: KubeClient, namespace: string, name: string, t: string) {
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: t, lastProbeTime: t });
  return kube.transport.request({
    method: 'PATCH',
    url: `/apis/batch/v1/namespaces/${namespace}/jobs/${name}/status`,
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({
      status: {
        startTime: t,
        completionTime: t,
        succeeded: 1,
        conditions: [condition('SuccessCriteriaMet'), condition('Complete')],
      },
    }),
  });
}
