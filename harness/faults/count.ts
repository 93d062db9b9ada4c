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
  const tally = new Tally(sent.length, jobs.length);
  for (const j of jobs) {
    const id = match(j.requestId);
    if (id === undefined) tally.unknownJob(j.requestId);
    else jobCount.set(id, (jobCount.get(id) ?? 0) + 1);
  }
  const results = await resultsById(redis, sources.results, match);
  const dead = await deadById(redis, sources, match);
  for (const s of sent) if (s.rejected !== undefined) add(dead, s.requestId, s.rejected);
  const queued = await queuedIds(redis, sources, match);
  for (const { requestId: id } of sent) {
    tally.item(id, {
      jobs: jobCount.get(id) ?? 0,
      result: results.hashes.has(id),
      records: results.records.get(id) ?? 0,
      dead: dead.get(id) ?? [],
      queued: queued.has(id),
    });
  }
  return tally.census();
}

interface ItemFacts {
  readonly jobs: number;
  readonly result: boolean;
  readonly records: number;
  readonly dead: readonly string[];
  readonly queued: boolean;
}

/** Adds up the items' fates. */
class Tally {
  #duplicates = 0;
  #lost = 0;
  #resultsMissing = 0;
  #deadLettered = 0;
  #queued = 0;
  #done = 0;
  readonly #deadReasons: Record<string, number> = {};
  readonly #examples: Record<string, string[]> = {};
  readonly #items: number;
  readonly #jobs: number;

  constructor(items: number, jobs: number) {
    this.#items = items;
    this.#jobs = jobs;
  }

  unknownJob(requestId: string): void {
    this.#duplicates++;
    this.#note('jobForUnknownId', requestId);
  }

  item(id: string, f: ItemFacts): void {
    const both = f.jobs > 0 && f.dead.length > 0 ? 1 : 0;
    const extra = excess(f.jobs) + excess(f.records) + excess(f.dead.length) + both;
    if (extra > 0) this.#note('duplicate', id);
    this.#duplicates += extra;
    if (f.dead.length > 0) this.#dead(f.dead[0] ?? '');
    else if (f.jobs > 0 && f.result) this.#done++;
    else if (f.queued) this.#queued++;
    if (f.jobs > 0 && !f.result) {
      this.#resultsMissing++;
      this.#note('resultMissing', id);
    }
    if (f.jobs === 0 && f.dead.length === 0 && !f.queued) {
      this.#lost++;
      this.#note('lost', id);
    }
  }

  census(): Census {
    return {
      items: this.#items,
      jobs: this.#jobs,
      duplicates: this.#duplicates,
      lost: this.#lost,
      resultsMissing: this.#resultsMissing,
      deadLettered: this.#deadLettered,
      queued: this.#queued,
      done: this.#done,
      deadReasons: this.#deadReasons,
      examples: this.#examples,
    };
  }

  #dead(reason: string): void {
    this.#deadLettered++;
    this.#deadReasons[reason] = (this.#deadReasons[reason] ?? 0) + 1;
  }

  #note(what: string, id: string): void {
    const list = (this.#examples[what] ??= []);
    if (list.length < 5) list.push(id);
  }
}

const excess = (n: number): number => Math.max(0, n - 1);

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
      const d = deadFromList(raw, match);
      if (d !== undefined) add(dead, d.id, d.reason);
    }
  }
  for (const s of o.streams ?? []) {
    for (const [, fields] of await redis.xrange(s.deadStream ?? `${s.stream}:dead`, '-', '+')) {
      const id = match(`${s.stream}/${field(fields, 'entryId') ?? ''}`);
      if (id !== undefined) add(dead, id, reasonOf(field(fields, 'code'), field(fields, 'reason')));
    }
  }
  return dead;
}

function deadFromList(
  raw: string,
  match: (s: string) => string | undefined,
): { id: string; reason: string } | undefined {
  const rec = parse(raw) as DeadRecord | undefined;
  const id = match(rec?.requestId ?? '') ?? producerId(rec);
  return id === undefined ? undefined : { id, reason: reasonOf(rec?.code, rec?.reason) };
}

interface DeadRecord {
  readonly requestId?: string;
  readonly reason?: string;
  readonly code?: string;
  readonly payload?: unknown;
}

const reasonOf = (code: string | undefined, reason: string | undefined): string =>
  `${code ?? '?'}: ${reason ?? ''}`;

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
        const found = queuedListId(raw, match);
        if (found !== undefined) out.add(found);
      }
    }
  }
  for (const s of o.streams ?? []) {
    for (const entry of await undoneEntries(redis, s.stream, s.group ?? 'kjd')) {
      const id = match(`${s.stream}/${entry}`);
      if (id !== undefined) out.add(id);
    }
  }
  return out;
}

/** The id of a list element: a kjd envelope's id, a producer's `id`, or the `id` inside an envelope's payload. */
function queuedListId(raw: string, match: (s: string) => string | undefined): string | undefined {
  const v = parse(raw) as { id?: unknown; payload?: unknown } | undefined;
  const id = typeof v?.id === 'string' ? match(v.id) : undefined;
  if (id !== undefined) return id;
  const inner = typeof v?.payload === 'string' ? producerId({ payload: v.payload }) : undefined;
  return inner !== undefined ? match(inner) : undefined;
}

/** Entry ids not yet delivered to the group, plus those delivered and not acknowledged. */
async function undoneEntries(redis: Redis, stream: string, group: string): Promise<string[]> {
  const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  const g = groups.map((row) => Object.fromEntries(pairs(row))).find((r) => r.name === group);
  const from = g === undefined ? '-' : `(${String(g['last-delivered-id'])}`;
  const undelivered = (await redis.xrange(stream, from, '+')).map(([entry]) => entry);
  if (g === undefined) return undelivered;
  const pending = (await redis.xpending(stream, group, '-', '+', 1_000_000)) as [string, ...unknown[]][];
  return [...undelivered, ...pending.map(([entry]) => entry)];
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
