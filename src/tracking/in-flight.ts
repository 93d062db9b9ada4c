// What holds an item between leaving its queue and getting its result, when
// its Job carries no finalizer (ADR 0009). Once a Job exists its item is
// acknowledged (LREM, XACK, a 202), and from then on the Job alone would be
// the item's record: a Job deleted before kjd saw it finish, while kjd was
// down, would take the item with it. So each such Job gets a record here,
// written after its create and before its item's ack, and deleted once its
// result is written. A record whose Job is gone when kjd starts again is
// answered with a `Deleted` result (reconcile.ts).
//
// The order (create, record, ack) needs no transaction across keys, so it
// works as well on Redis Cluster: a crash between any two steps leaves the
// item in its queue, and its redelivery finds the Job (409) and writes the
// same record again. A record left behind (deleted after the result by a
// process that died in between) is harmless: its result is write-once. A
// redelivery's record that lands after its result's removal is dropped by
// the dispatcher, which asks for the result again after a 409 (ADR 0009).
import type { RedisClient } from '../sources/redis-connection.ts';
import { confirmReplicated, type ReplicaWait } from '../sources/redis-durability.ts';
import type { JobRef } from './job-tracker.ts';

/** A Job of one item, as its record keeps it: enough to write its result without the Job. */
export interface InFlightJob {
  readonly name: string;
  readonly namespace: string;
  readonly requestId: string;
  readonly idScope: string | undefined;
  readonly template: string;
}

/** The record of a Job of one item, from what the tracker keeps of it (jobRef). */
export function recordOf(ref: JobRef): InFlightJob {
  return {
    name: ref.name,
    namespace: ref.namespace,
    requestId: ref.requestId ?? '',
    idScope: ref.idScope,
    template: ref.template,
  };
}

export interface InFlightRecordsOptions {
  readonly redis: RedisClient;
  /** The release's instance: each release keeps its own records. */
  readonly instance: string;
  /** Default `kjd:inflight:`; the hash is prefix + instance. */
  readonly prefix?: string;
  /** A record counts only once this many replicas have it (it is the item's only copy). */
  readonly waitForReplicas?: ReplicaWait;
}

export class InFlightRecords {
  /** One hash per release: field `<namespace>/<job name>`, value the record as JSON. */
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #wait: ReplicaWait | undefined;

  constructor(options: InFlightRecordsOptions) {
    this.#redis = options.redis;
    this.key = `${options.prefix ?? 'kjd:inflight:'}${options.instance}`;
    this.#wait = options.waitForReplicas;
  }

  /** Records `job` (again: idempotent). Throws ReplicasBehindError when replicas were asked for and lag. */
  async add(job: InFlightJob): Promise<void> {
    await this.#redis.hset(this.key, fieldOf(job), valueOf(job));
    if (this.#wait !== undefined)
      await confirmReplicated(this.#redis, this.key, this.#wait, 'recording a Job in flight');
  }

  /** Records each Job that has no record yet (a Job made by a process that died before its record). */
  async adopt(jobs: readonly InFlightJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const pipeline = this.#redis.pipeline();
    for (const job of jobs) pipeline.hsetnx(this.key, fieldOf(job), valueOf(job));
    const replies = (await pipeline.exec()) ?? [];
    let added = 0;
    for (const [err, reply] of replies) {
      if (err !== null) throw err;
      if (reply === 1) added++;
    }
    if (this.#wait !== undefined && added > 0)
      await confirmReplicated(this.#redis, this.key, this.#wait, 'recording Jobs in flight');
    return added;
  }

  /** The Job's result is written: its record has done its work. */
  async remove(job: Pick<InFlightJob, 'name' | 'namespace'>): Promise<void> {
    await this.#redis.hdel(this.key, fieldOf(job));
  }

  /** Every record, read in pages (HSCAN): a release may hold maxActiveJobs of them. */
  async all(): Promise<InFlightJob[]> {
    const records: InFlightJob[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.#redis.hscan(this.key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const parsed = parse(flat[i] ?? '', flat[i + 1] ?? '');
        if (parsed !== undefined) records.push(parsed);
      }
    } while (cursor !== '0');
    return records;
  }
}

const fieldOf = (job: Pick<InFlightJob, 'name' | 'namespace'>) => `${job.namespace}/${job.name}`;

const valueOf = (job: InFlightJob) =>
  JSON.stringify({
    requestId: job.requestId,
    ...(job.idScope !== undefined ? { idScope: job.idScope } : {}),
    template: job.template,
  });

function parse(field: string, value: string): InFlightJob | undefined {
  const slash = field.indexOf('/');
  if (slash <= 0) return undefined;
  try {
    const v = JSON.parse(value) as { requestId?: unknown; idScope?: unknown; template?: unknown };
    if (typeof v.requestId !== 'string') return undefined;
    return {
      namespace: field.slice(0, slash),
      name: field.slice(slash + 1),
      requestId: v.requestId,
      idScope: typeof v.idScope === 'string' ? v.idScope : undefined,
      template: typeof v.template === 'string' ? v.template : '',
    };
  } catch {
    return undefined;
  }
}
