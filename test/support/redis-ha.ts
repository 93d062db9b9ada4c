// What the Redis Cluster and Sentinel tests share: a list, a stream and an
// HTTP route for one `kjd serve`, producers for each, and the count each test
// is judged by. The invariant: every item sent has exactly one Job and one
// result, or is dead-lettered with a reason; nothing is left queued once the
// run has settled. Jobs are counted from the API server (a ledger that
// remembers every Job ever seen), results from Redis.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { startJobLedger, type JobLedger } from '../../harness/faults/job-ledger.ts';
import { listKeys, streamDeadLetterKey, type KeyLayout } from '../../src/sources/redis-keys.ts';
import { RedisResults } from '../../src/tracking/results.ts';
import { saveRecord } from '../faults/lib/record.ts';
import { testEnv } from './env.ts';

export const demoTemplate = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

export interface HaRoutes {
  readonly list: { readonly name: string; readonly key: string };
  readonly stream: { readonly name: string; readonly stream: string };
  readonly http: { readonly name: string };
}

/** One item sent, and the request id kjd will know it by. */
export interface Sent {
  readonly scope: string;
  readonly requestId: string;
}

export interface HaCensus {
  readonly items: number;
  /** Jobs ever seen for the items (a second Job for one item counts twice). */
  readonly jobs: number;
  /** Items with a result hash. */
  readonly results: number;
  /** Items with more than one Job. */
  readonly duplicateJobs: number;
  /** Items with more than one record in their results stream. */
  readonly duplicateResults: number;
  readonly deadLettered: number;
  /** Items with neither a result nor a dead letter (yet). */
  readonly unsettled: readonly string[];
  /** Of those, items without a Job either. */
  readonly withoutJob: number;
}

export function serveConfigFor(
  p: string,
  namespace: string,
  redis: Record<string, unknown>,
  routes: HaRoutes,
  options: { readonly template?: string; readonly extra?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const template = options.template ?? demoTemplate;
  return {
    ...options.extra,
    instance: p,
    redis,
    http: { auth: { mode: 'none' } },
    results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
    routes: [
      {
        name: routes.list.name,
        template,
        namespace,
        source: { type: 'redis-list', key: routes.list.key, heartbeatTtlMs: 3000 },
      },
      {
        name: routes.stream.name,
        template,
        namespace,
        // startId 0: entries added before kjd made the group are work too.
        source: { type: 'redis-stream', stream: routes.stream.stream, startId: '0', claimIdleMs: 5000 },
      },
      { name: routes.http.name, template, namespace, source: { type: 'http' } },
    ],
  };
}

const item = (id: string, n: number) => JSON.stringify({ id, CUSTOM_ID: String(n) });

export async function pushList(redis: Redis | Cluster, routes: HaRoutes, p: string, from: number, n: number) {
  const ids = Array.from({ length: n }, (_, i) => `${p}-l${from + i}`);
  for (const [i, id] of ids.entries()) await retrying(() => redis.lpush(routes.list.key, item(id, from + i)));
  return ids.map((requestId) => ({ scope: routes.list.name, requestId }));
}

export async function addStream(redis: Redis | Cluster, routes: HaRoutes, from: number, n: number) {
  const sent: Sent[] = [];
  for (let i = 0; i < n; i++) {
    const payload = JSON.stringify({ CUSTOM_ID: String(from + i) });
    const entry = await retrying(() => redis.xadd(routes.stream.stream, '*', 'payload', payload));
    sent.push({ scope: routes.stream.name, requestId: `${routes.stream.stream}/${entry ?? ''}` });
  }
  return sent;
}

/** POSTs each item until kjd accepts it (202), as a producer that retries would. */
export async function postHttp(url: string, routes: HaRoutes, p: string, from: number, n: number) {
  const sent: Sent[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${p}-h${from + i}`;
    for (let attempt = 0; ; attempt++) {
      const status = await fetch(`${url}/v1/jobs?route=${routes.http.name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: item(id, from + i),
      }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202 || status === 200) break;
      if (attempt > 100) throw new Error(`POST ${id}: ${status}`);
      await sleep(200);
    }
    sent.push({ scope: routes.http.name, requestId: id });
  }
  return sent;
}

export interface Counter {
  readonly ledger: JobLedger;
  /** Until kjd has made at least `jobs` Jobs (a run is under way); fails after `timeoutMs`. */
  underWay(jobs: number, timeoutMs?: number): Promise<void>;
  census(sent: readonly Sent[]): Promise<HaCensus>;
  /** Polls the census until every item is settled or `timeoutMs` passed; the seconds it took. */
  settle(sent: readonly Sent[], timeoutMs: number): Promise<{ census: HaCensus; seconds: number }>;
}

export function startCounter(
  redis: Redis | Cluster,
  namespace: string,
  p: string,
  layout: KeyLayout,
  routes: HaRoutes,
): Counter {
  const ledger = startJobLedger(testEnv().admin, namespace, 500);
  const results = new RedisResults({ redis, layout, stream: `${p}:results`, hashPrefix: `${p}:result:` });
  const census = async (sent: readonly Sent[]): Promise<HaCensus> => {
    await ledger.sync();
    const jobsByRequest = new Map<string, number>();
    for (const j of ledger.jobs()) jobsByRequest.set(j.requestId, (jobsByRequest.get(j.requestId) ?? 0) + 1);
    const scopes = [routes.list.name, routes.stream.name, routes.http.name];
    const records = await resultRecords(redis, scopes, (scope) => results.keys('x', scope).stream);
    const dead = await deadLettered(redis, layout, routes);
    const hasResult = await Promise.all(sent.map((s) => results.exists(s.requestId, s.scope)));
    return tally(sent, { jobsByRequest, records, dead, hasResult });
  };
  return {
    ledger,
    async underWay(jobs, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (ledger.jobs().length < jobs) {
        if (Date.now() > deadline)
          throw new Error(`only ${ledger.jobs().length} of ${jobs} Jobs after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    census,
    async settle(sent, timeoutMs) {
      const started = Date.now();
      let last = await census(sent);
      while (last.unsettled.length > 0 && Date.now() - started < timeoutMs) {
        await sleep(1000);
        last = await census(sent);
      }
      return { census: last, seconds: (Date.now() - started) / 1000 };
    },
  };
}

/** How many records each `<scope>/<request id>` has in its results stream. */
async function resultRecords(
  redis: Redis | Cluster,
  scopes: readonly string[],
  streamOf: (scope: string) => string,
): Promise<Map<string, number>> {
  const records = new Map<string, number>();
  for (const scope of scopes) {
    for (const [, fields] of await redis.xrange(streamOf(scope), '-', '+')) {
      const key = `${scope}/${fields[fields.indexOf('requestId') + 1] ?? ''}`;
      records.set(key, (records.get(key) ?? 0) + 1);
    }
  }
  return records;
}

function tally(
  sent: readonly Sent[],
  seen: {
    readonly jobsByRequest: ReadonlyMap<string, number>;
    readonly records: ReadonlyMap<string, number>;
    readonly dead: ReadonlySet<string>;
    readonly hasResult: readonly boolean[];
  },
): HaCensus {
  const c = { jobs: 0, results: 0, duplicateJobs: 0, duplicateResults: 0, deadLettered: 0, withoutJob: 0 };
  const unsettled: string[] = [];
  sent.forEach((s, i) => {
    const count = seen.jobsByRequest.get(s.requestId) ?? 0;
    c.jobs += count;
    if (count > 1) c.duplicateJobs++;
    if ((seen.records.get(`${s.scope}/${s.requestId}`) ?? 0) > 1) c.duplicateResults++;
    const hasResult = seen.hasResult[i] === true;
    if (hasResult) c.results++;
    if (seen.dead.has(s.requestId)) c.deadLettered++;
    else if (!hasResult) {
      unsettled.push(`${s.scope}/${s.requestId}`);
      if (count === 0) c.withoutJob++;
    }
  });
  return { items: sent.length, ...c, unsettled };
}

/** Request ids in the list's and the stream's dead-letter places. */
async function deadLettered(
  redis: Redis | Cluster,
  layout: KeyLayout,
  routes: HaRoutes,
): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const record of await redis.lrange(listKeys(layout, routes.list.key).deadLetter, 0, -1)) {
    ids.add((JSON.parse(record) as { requestId: string }).requestId);
  }
  const deadStream = streamDeadLetterKey(layout, routes.stream.stream);
  for (const [, fields] of await redis.xrange(deadStream, '-', '+')) {
    ids.add(`${routes.stream.stream}/${fields[fields.indexOf('entryId') + 1] ?? ''}`);
  }
  return ids;
}

/** Calls `fn` until it resolves (a producer riding out a failover), at most `timeoutMs`. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** The figures as a row of docs/reliability.md's table (written under `npm run faults` only). */
export async function recordScenario(
  name: string,
  c: HaCensus,
  o: { readonly recoverySeconds: number; readonly seconds: number; readonly notes: string },
): Promise<void> {
  await saveRecord({
    name,
    items: c.items,
    jobs: c.jobs,
    duplicates: c.duplicateJobs,
    lost: c.withoutJob,
    resultsMissing: c.unsettled.length - c.withoutJob,
    deadLettered: c.deadLettered,
    recoverySeconds: c.unsettled.length === 0 ? Math.round(o.recoverySeconds * 10) / 10 : null,
    queued: 0,
    passed: c.unsettled.length === 0 && c.duplicateJobs === 0 && c.duplicateResults === 0,
    seconds: Math.round(o.seconds * 10) / 10,
    notes: o.notes,
  });
}

/** One line per figure, for the test's diagnostics and docs/reliability.md. */
export function describeCensus(c: HaCensus): string {
  return `items ${c.items}, Jobs ${c.jobs}, results ${c.results}, duplicate Jobs ${c.duplicateJobs}, duplicate result records ${c.duplicateResults}, dead-lettered ${c.deadLettered}, unsettled ${c.unsettled.length}`;
}
