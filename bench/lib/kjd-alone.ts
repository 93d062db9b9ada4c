// kjd by itself: start to ready, the latency at a steady arrival rate (open
// loop), the cost of tracking many Jobs, and enqueue -> Complete -> result
// for Jobs that really run.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  itemPayload,
  kjdJobName,
  startKjd,
  templates,
  type ContenderContext,
  type KjdSettings,
} from './contenders.ts';
import { createNamespace } from './environment.ts';
import { JobObserver, now } from './observer.ts';
import type { BenchResults } from './results.ts';
import { cdf, median, percentiles, round } from './stats.ts';

/** Process start to /readyz 200 with an empty namespace, `tries` times. */
export async function startToReady(ctx: ContenderContext, settings: KjdSettings, tries: number) {
  const ns = await createNamespace(ctx.env, `bench-ready-${suffix()}`);
  const runs: number[] = [];
  try {
    for (let i = 0; i < tries; i++) {
      const kjd = await startKjd(ns, ctx, settings, `bench:${ns.name}:queue`);
      runs.push(round(kjd.readyAt - kjd.spawnedAt));
      await kjd.process.stop();
    }
  } finally {
    await ns.remove();
  }
  return { startToReadyMs: round(median(runs)), startToReadyRunsMs: runs };
}

/** Items arrive every 1000/rate ms whatever kjd does (open loop); enqueue -> Job seen. */
export async function steady(
  ctx: ContenderContext,
  settings: KjdSettings,
  rate: number,
  seconds: number,
): Promise<BenchResults['steady20']> {
  const ns = await createNamespace(ctx.env, `bench-steady-${suffix()}`);
  const observer = new JobObserver(ctx.env.admin, ns.name);
  await observer.start();
  const queue = `bench:${ns.name}:queue`;
  const kjd = await startKjd(ns, ctx, settings, queue);
  const items = Math.round(rate * seconds);
  const sent = new Map<string, number>();
  try {
    await sleep(1000); // let start-up work (JIT, first list) settle, as in a service that has been up
    const t0 = now();
    for (let i = 0; i < items; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      const id = `s${String(i)}`;
      sent.set(id, now());
      await ctx.env.redis.lpush(queue, itemPayload(id));
    }
    await observer.until(() => observer.created.size >= items, 60_000, `${String(items)} Jobs`);
  } finally {
    await kjd.process.stop();
    await observer.stop();
    await ns.remove();
  }
  const latencies = [...sent].map(([id, t]) => (observer.created.get(kjdJobName(id)) ?? Number.NaN) - t);
  const p = percentiles(latencies);
  return {
    ratePerSecond: rate,
    items,
    p50CreateMs: p.p50,
    p95CreateMs: p.p95,
    p99CreateMs: p.p99,
    maxCreateMs: p.max,
    latencyCdfMs: cdf(latencies),
  };
}

/** Jobs whose kwok Pods succeed: enqueue -> created -> Complete -> result in Redis. */
export async function complete(
  ctx: ContenderContext,
  settings: KjdSettings,
  items: number,
): Promise<BenchResults['complete']> {
  const ns = await createNamespace(ctx.env, `bench-complete-${suffix()}`);
  const observer = new JobObserver(ctx.env.admin, ns.name);
  await observer.start();
  const queue = `bench:${ns.name}:queue`;
  const kjd = await startKjd(ns, ctx, settings, queue, templates.runs);
  const results = new Map<string, number>();
  const reader = ctx.env.redis.duplicate();
  const sent = new Map<string, number>();
  try {
    const reading = stampResults(reader, kjd.resultsStream, results, items);
    for (let i = 0; i < items; i++) {
      const id = `c${String(i)}`;
      sent.set(id, now());
      await ctx.env.redis.lpush(queue, itemPayload(id));
      await sleep(20); // 50 items/s: well under the Job controller's pace, so its own time shows
    }
    await observer.until(() => observer.finished.size >= items, 120_000, `${String(items)} Jobs finished`);
    await reading;
  } finally {
    reader.disconnect();
    await kjd.process.stop();
    await observer.stop();
    await ns.remove();
  }
  const span = (from: (id: string) => number | undefined, to: (id: string) => number | undefined) =>
    percentiles([...sent.keys()].map((id) => (to(id) ?? Number.NaN) - (from(id) ?? Number.NaN)));
  const name = kjdJobName;
  return {
    items,
    enqueueToCreatedMs: span(
      (id) => sent.get(id),
      (id) => observer.created.get(name(id)),
    ),
    createdToCompleteMs: span(
      (id) => observer.created.get(name(id)),
      (id) => observer.finished.get(name(id)),
    ),
    enqueueToCompleteMs: span(
      (id) => sent.get(id),
      (id) => observer.finished.get(name(id)),
    ),
    enqueueToResultMs: span(
      (id) => sent.get(id),
      (id) => results.get(id),
    ),
  };
}

/** Stamps each result record (field requestId) as the producer would see it: XREAD BLOCK. */
export async function stampResults(
  redis: ContenderContext['env']['redis'],
  stream: string,
  into: Map<string, number>,
  items: number,
  timeoutMs = 180_000,
): Promise<void> {
  let last = '0-0';
  const deadline = now() + timeoutMs;
  while (into.size < items && now() < deadline) {
    const reply = await redis.xread('BLOCK', 1000, 'STREAMS', stream, last);
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        last = id;
        const at = fields.indexOf('requestId');
        const requestId = at >= 0 ? fields[at + 1] : undefined;
        if (requestId !== undefined && !into.has(requestId)) into.set(requestId, now());
      }
    }
  }
}

export const suffix = (): string => Math.random().toString(36).slice(2, 7);
