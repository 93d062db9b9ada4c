// One contender, one repetition: N items in, N Jobs out, every Job's
// appearance stamped by the same watch; throughput, latency, and the cost to
// the contender over exactly that window, and to the API server until the Job
// controller has written those Jobs' status too.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContenderContext, ContenderSpec, RunningContender } from './contenders.ts';
import { createNamespace, type BenchEnvironment, type BenchNamespace } from './environment.ts';
import { requestTotals } from './request-count.ts';
import { JobObserver, now } from './observer.ts';
import { cpuSeconds, memoryMB } from './proc.ts';
import type { ContenderRun } from './results.ts';
import { cdf, percentiles, round, throughput } from './stats.ts';

export async function measureContender(
  spec: ContenderSpec,
  ctx: ContenderContext,
  namespace: string,
  items: number,
  log: (m: string) => void,
): Promise<ContenderRun> {
  const staged = await stageContender(spec, ctx, namespace, items);
  try {
    const pid = staged.running.process.pid;
    const cpu0 = cpuSeconds(pid);
    const api0 = cpuSeconds(ctx.env.apiserverPid);
    const t0 = now();
    const sent = await staged.running.feed(staged.ids);
    await staged.awaitJobs(log);
    const t1 = now();
    const cpu = cpuSeconds(pid) - cpu0;
    const mem = memoryMB(pid);
    const api = (await apiserverCpuOnceStatusWritten(ctx.env)) - api0;
    await sleep(1000); // a late duplicate would show up here
    return summarize(spec, staged.ids, sent, staged.observer.created, {
      cpu,
      api,
      peakRss: mem.peak,
      wall: (t1 - t0) / 1000,
    });
  } finally {
    await staged.close();
  }
}

/**
 * The API server's CPU once the Job controller has stopped writing the run's
 * Jobs' status. Those writes (a `PUT jobs/status` per Job) trail the creates:
 * read at the last create, a faster contender left more of them out of its
 * window (0.5 against 0.8 per item, 2026-12-04), which made its API-server
 * CPU per Job look smaller. Polled from the server's request counts every
 * 500 ms until they stop rising; the CPU is read before each poll, so it
 * includes the earlier polls' scrapes (about as many for every contender).
 */
async function apiserverCpuOnceStatusWritten(env: BenchEnvironment, maxMs = 15_000): Promise<number> {
  const statusWrites = async () => {
    let n = 0;
    for (const [key, count] of await requestTotals(env))
      if (/^(PUT|PATCH) jobs\/status/.test(key)) n += count;
    return n;
  };
  let cpu = cpuSeconds(env.apiserverPid);
  let writes = await statusWrites();
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(500);
    const cpuNow = cpuSeconds(env.apiserverPid);
    const now = await statusWrites();
    if (now === writes) return cpu;
    [cpu, writes] = [cpuNow, now];
  }
  return cpu;
}

/** A contender started in a fresh namespace, a watch on it already open: ready to be fed its items. */
export interface StagedContender {
  readonly spec: ContenderSpec;
  readonly ns: BenchNamespace;
  readonly observer: JobObserver;
  readonly running: RunningContender;
  /** The items' ids (i0, i1, …). */
  readonly ids: readonly string[];
  /** Until every item's Job is seen, or a slow contender's time is up (logged, not thrown). */
  awaitJobs(log: (m: string) => void): Promise<void>;
  /** Stops the contender and the watch, and removes the namespace. */
  close(): Promise<void>;
}

export async function stageContender(
  spec: ContenderSpec,
  ctx: ContenderContext,
  namespace: string,
  items: number,
): Promise<StagedContender> {
  const ns = await createNamespace(ctx.env, namespace);
  const observer = new JobObserver(ctx.env.admin, ns.name);
  await observer.start();
  const running = await spec.start(ns, ctx, items).catch(async (err: unknown) => {
    await observer.stop();
    await ns.remove();
    throw err;
  });
  return {
    spec,
    ns,
    observer,
    running,
    ids: Array.from({ length: items }, (_, i) => `i${String(i)}`),
    async awaitJobs(log) {
      // A slow contender still gets 20 items/s worth of time before it is cut off.
      const limitMs = 30_000 + items * 50;
      await observer
        .until(() => observer.created.size >= items, limitMs, `${String(items)} Jobs`)
        .catch((err: unknown) => {
          log(`${spec.name}: ${(err as Error).message}; ${String(observer.created.size)} Jobs seen`);
        });
    },
    async close() {
      await running.stop();
      await observer.stop();
      await ns.remove();
    },
  };
}

function summarize(
  spec: ContenderSpec,
  ids: readonly string[],
  sent: ReadonlyMap<string, number>,
  seen: ReadonlyMap<string, number>,
  cost: { cpu: number; api: number; peakRss: number; wall: number },
): ContenderRun {
  const latencies: number[] = [];
  const createdAt: number[] = [];
  for (const id of ids) {
    const at = seen.get(spec.jobName(id));
    const from = sent.get(id);
    if (at === undefined || from === undefined) continue;
    createdAt.push(at);
    latencies.push(at - from);
  }
  const rate = throughput(createdAt);
  return {
    items: ids.length,
    created: createdAt.length,
    extra: seen.size - createdAt.length,
    jobsPerSecond: rate.overall,
    sustainedJobsPerSecond: rate.sustained,
    latencyMs: percentiles(latencies),
    latencyCdfMs: cdf(latencies),
    cpuSeconds: round(cost.cpu, 2),
    peakRssMB: round(cost.peakRss),
    apiserverCpuSeconds: round(cost.api, 2),
    wallSeconds: round(cost.wall, 2),
  };
}
