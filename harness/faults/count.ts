// The fault suite's census: how every item sent ended, counted from the
// cluster (the Job ledger) and from Redis only, never from kjd's metrics.
// Invariant: each item is exactly one of
//   - done: one Job and one result;
//   - dead-lettered, with a reason;
//   - still queued (source list/stream, a processing list, a pending entry).
import type { Redis } from 'ioredis';
import type { LedgerJob } from './job-ledger.ts';

export interface SentItem {
  /** The request id kjd gives the item: the producer's `id`, or `<stream>/<entry id>` for a stream entry. */
  readonly requestId: string;
  /** Set for an HTTP item kjd refused with an error the caller must not retry (its dead letter). */
  readonly rejected?: string;
}

export interface CensusSources {
  readonly lists?: readonly { key: string; deadKey?: string }[];
  readonly streams?: readonly { stream: string; group?: string; deadStream?: string }[];
  readonly results: { stream: string; hashPrefix: string };
}

export interface Census {
  readonly items: number;
  /** Distinct Jobs kjd created for the items (from the ledger). */
  readonly jobs: number;
  /** Extra Jobs, extra result records, extra dead letters, items both done and dead, and Jobs for no item sent. */
  readonly duplicates: number;
  /** Neither a Job, nor a dead letter, nor queued. */
  readonly lost: number;
  /** A Job and no result. */
  readonly resultsMissing: number;
  readonly deadLettered: number;
  readonly queued: number;
  /** Items with one Job and one result. */
  readonly done: number;
  /** Dead-letter reasons, each with how many items. */
  readonly deadReasons: Readonly<Record<string, number>>;
  /** A few request ids per problem, for the failure message. */
  readonly examples: Readonly<Record<string, readonly string[]>>;
}

/** How a request id in the cluster or Redis maps to a sent id: exact, or scoped by a route prefix (`route/id`). */
export function matcher(sent: readonly SentItem[]): (seen: string) => string | undefined {
  const ids = new Set(sent.map((s) => s.requestId));
  return (seen) => {
    if (ids.has(seen)) return seen;
    for (let i = seen.indexOf('/'); i >= 0; i = seen.indexOf('/', i + 1)) {
      const tail = seen.slice(i + 1);
      if (ids.has(tail)) return tail;
    }
    return undefined;
  };
}

export async function takeCensus(
  redis: Redis,
  sent: readonly SentItem[],
  jobs: readonly LedgerJob[],
  sources: CensusSources,
): Promise<Census> {
  const match = matcher(sent);
  const jobCount = new Map<string, number>();
  let unknownJobs = 0;
  for (const j of jobs) {
    const id = match(j.requestId);
    if (id === undefined) unknownJobs++;
    else jobCount.set(id, (jobCount.get(id) ?? 0) + 1);
  }
  const results = await resultsById(redis, sources.results, match);
  const dead = await deadById(redis, sources, match);
  for (const s of sent) if (s.rejected !== undefined) add(dead, s.requestId, s.rejected);
  const queued = await queuedIds(redis, sources, match);

  const examples: Record<string, string[]> = {};
  const note = (what: string, id: string) => {
    const list = (examples[what] ??= []);
    if (list.length < 5) list.push(id);
  };
  let duplicates = unknownJobs;
  if (unknownJobs > 0)
    note('jobForUnknownId', jobs.find((j) => match(j.requestId) === undefined)?.requestId ?? '');
  let lost = 0;
  let resultsMissing = 0;
  let deadLettered = 0;
  let queuedN = 0;
  let done = 0;
  const deadReasons: Record<string, number> = {};
  for (const { requestId: id } of sent) {
    const nJobs = jobCount.get(id) ?? 0;
    const r = results.hashes.has(id);
    const nRecords = results.records.get(id) ?? 0;
    const d = dead.get(id) ?? [];
    const q = queued.has(id);
    const extra =
      Math.max(0, nJobs - 1) +
      Math.max(0, nRecords - 1) +
      Math.max(0, d.length - 1) +
      (nJobs > 0 && d.length > 0 ? 1 : 0);
    if (extra > 0) note('duplicate', id);
    duplicates += extra;
    if (d.length > 0) {
      deadLettered++;
      const reason = d[0] ?? '';
      deadReasons[reason] = (deadReasons[reason] ?? 0) + 1;
    } else if (nJobs > 0 && r) done++;
    else if (q) queuedN++;
    if (nJobs > 0 && !r) {
      resultsMissing++;
      note('resultMissing', id);
    }
    if (nJobs === 0 && d.length === 0 && !q) {
      lost++;
      note('lost', id);
    }
  }
  return {
    items: sent.length,
    jobs: jobs.length,
    duplicates,
    lost,
    resultsMissing,
    deadLettered,
    queued: queuedN,
    done,
    deadReasons,
    examples,
  };
}

/** True when nothing is in flight any more: every item done, dead-lettered, or (when allowed) still queued. */
export function settled(c: Census, allowQueued = false): boolean {
  return (
    c.done + c.deadLettered + (allowQueued ? c.queued : 0) >= c.items &&
    c.lost === 0 &&
    c.resultsMissing === 0
  );
}

function add(m: Map<string, string[]>, id: string, reason: string): void {
  const l = m.get(id) ?? [];
  l.push(reason);
  m.set(id, l);
}

async function resultsById(
  redis: Redis,
  o: CensusSources['results'],
  match: (s: string) => string | undefined,
): Promise<{ hashes: Set<string>; records: Map<string, number> }> {
  const hashes = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(o.hashPrefix)}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const id = match((await redis.hget(k, 'requestId')) ?? k.slice(o.hashPrefix.length));
      if (id !== undefined) hashes.add(id);
    }
  } while (cursor !== '0');
  const records = new Map<string, number>();
  for (const [, fields] of await redis.xrange(o.stream, '-', '+')) {
    const id = match(field(fields, 'requestId') ?? '');
    if (id !== undefined) records.set(id, (records.get(id) ?? 0) + 1);
  }
  return { hashes, records };
}

async function deadById(
  redis: Redis,
  o: CensusSources,
  match: (s: string) => string | undefined,
): Promise<Map<string, string[]>> {
  const dead = new Map<string, string[]>();
  for (const l of o.lists ?? []) {
    for (const raw of await redis.lrange(l.deadKey ?? `${l.key}:dead`, 0, -1)) {
      const rec = parse(raw) as
        { requestId?: string; reason?: string; code?: string; payload?: unknown } | undefined;
      const id = match(rec?.requestId ?? '') ?? producerId(rec);
      if (id !== undefined) add(dead, id, `${rec?.code ?? '?'}: ${rec?.reason ?? ''}`);
    }
  }
  for (const s of o.streams ?? []) {
    for (const [, fields] of await redis.xrange(s.deadStream ?? `${s.stream}:dead`, '-', '+')) {
      const id = match(`${s.stream}/${field(fields, 'entryId') ?? ''}`);
      if (id !== undefined)
        add(dead, id, `${field(fields, 'code') ?? '?'}: ${field(fields, 'reason') ?? ''}`);
    }
  }
  return dead;
}

/** A dead letter of an item with no producer id: the id inside its kept payload. */
function producerId(rec: { payload?: unknown } | undefined): string | undefined {
  const p =
    typeof rec?.payload === 'string' ? (parse(rec.payload) as { id?: unknown } | undefined) : undefined;
  return typeof p?.id === 'string' ? p.id : undefined;
}

async function queuedIds(
  redis: Redis,
  o: CensusSources,
  match: (s: string) => string | undefined,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const l of o.lists ?? []) {
    const keys = [l.key, ...(await redis.keys(`${escapeGlob(l.key)}:processing:*`))];
    for (const k of keys) {
      for (const raw of await redis.lrange(k, 0, -1)) {
        const v = parse(raw) as { id?: unknown; payload?: unknown } | undefined;
        const id = typeof v?.id === 'string' ? match(v.id) : undefined;
        const inner = typeof v?.payload === 'string' ? producerId({ payload: v.payload }) : undefined;
        const found = id ?? (inner !== undefined ? match(inner) : undefined);
        if (found !== undefined) out.add(found);
      }
    }
  }
  for (const s of o.streams ?? []) {
    const group = s.group ?? 'kjd';
    const groups = (await redis.xinfo('GROUPS', s.stream).catch(() => [])) as unknown[][];
    const g = groups.map((row) => Object.fromEntries(pairs(row))).find((r) => r.name === group);
    const from = g === undefined ? '-' : `(${String(g['last-delivered-id'])}`;
    for (const [entry] of await redis.xrange(s.stream, from, '+')) {
      const id = match(`${s.stream}/${entry}`);
      if (id !== undefined) out.add(id);
    }
    if (g !== undefined) {
      const pending = (await redis.xpending(s.stream, group, '-', '+', 1_000_000)) as [
        string,
        ...unknown[],
      ][];
      for (const [entry] of pending) {
        const id = match(`${s.stream}/${entry}`);
        if (id !== undefined) out.add(id);
      }
    }
  }
  return out;
}

function pairs(row: unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i + 1 < row.length; i += 2) out.push([String(row[i]), row[i + 1]]);
  return out;
}

function field(fields: string[], name: string): string | undefined {
  const i = fields.indexOf(name);
  return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
}

function parse(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');
