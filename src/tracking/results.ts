// How each item ended, written back for the producer: a record in a results
// stream and a hash per request id (with a TTL) — exactly once, even with
// several replicas each seeing the Job finish (the hash is the guard).
//
// The hash doubles as the request's tombstone: while it exists (results.ttlSeconds,
// 7 days by default) an item redelivered with the same request id is
// acknowledged without a second Job, even after the Job itself is gone.
import type { JobState } from '../kube/job-status.ts';
import type { RedisClient } from '../sources/redis-connection.ts';
import { confirmReplicated, type ReplicaWait } from '../sources/redis-durability.ts';
import { resultKeys, type KeyLayout, type ResultKeys } from '../sources/redis-keys.ts';

/**
 * Succeeded/Failed: the Job's own outcome. Deleted: the Job was deleted (by a
 * person, or by anything but kjd's cleanup) before it finished.
 */
export type ResultStatus = 'Succeeded' | 'Failed' | 'Deleted';

export interface JobResult {
  readonly requestId: string;
  /** The route's idScope the request id belongs to (absent for Jobs kjd made before 0.2). */
  readonly idScope?: string;
  readonly jobName: string;
  readonly namespace: string;
  readonly template: string;
  readonly status: ResultStatus;
  readonly reason?: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  /**
   * Exit code of the container that decided the outcome (the failed one, or
   * the one that succeeded), when its Pod could still be read.
   */
  readonly exitCode?: number;
  /** That container's termination message (/dev/termination-log), when it wrote one. */
  readonly terminationMessage?: string;
  /** Batch mode: the item's index in its Indexed Job (jobName), whose Pods ran it. */
  readonly index?: number;
}

export interface ResultsOptions {
  readonly redis: RedisClient;
  /** Default `kjd:results`; in the slotted layout one stream per idScope, `<stream>:{<idScope>}`. */
  readonly stream?: string;
  /** Default `kjd:result:`; the key is prefix + `<idScope>/<id>` (slotted: prefix + `{<idScope>}/<id>`). */
  readonly hashPrefix?: string;
  /** Default `plain`; `slotted` on Redis Cluster (see redis-keys.ts). */
  readonly layout?: KeyLayout;
  /**
   * A write counts only once this many replicas have it (WAIT): a result lost
   * in a failover after kjd deleted the Job's in-flight record (or finalizer) is lost for good.
   * Default: no waiting (redis-durability.ts).
   */
  readonly waitForReplicas?: ReplicaWait;
  /** Default 604 800 (7 days). */
  readonly ttlSeconds?: number;
  /** Approximate cap on the stream's length. Default 100 000. */
  readonly maxStreamLength?: number;
}

// KEYS[1] hash, KEYS[2] stream; ARGV[1] ttl, ARGV[2] maxlen, ARGV[3..] field/value pairs.
const WRITE_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
return 1`;

export class RedisResults {
  readonly stream: string;
  readonly hashPrefix: string;
  readonly layout: KeyLayout;
  readonly #redis: RedisClient;
  readonly #ttl: number;
  readonly #maxLen: number;
  readonly #wait: ReplicaWait | undefined;

  constructor(options: ResultsOptions) {
    this.#redis = options.redis;
    this.stream = options.stream ?? 'kjd:results';
    this.hashPrefix = options.hashPrefix ?? 'kjd:result:';
    this.layout = options.layout ?? 'plain';
    this.#ttl = options.ttlSeconds ?? 7 * 86_400;
    this.#maxLen = options.maxStreamLength ?? 100_000;
    this.#wait = options.waitForReplicas;
  }

  /**
   * True when this call recorded the result, false when it was already there.
   * Throws ReplicasBehindError (retryable) when replicas were asked for and
   * too few confirmed.
   */
  async write(result: JobResult): Promise<boolean> {
    const fields = Object.entries(result).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    const keys = this.keys(result.requestId, result.idScope);
    const written = await this.#redis.eval(
      WRITE_ONCE,
      2,
      keys.hash,
      keys.stream,
      this.#ttl,
      this.#maxLen,
      ...fields,
    );
    // Also when it was already there: a retry after ReplicasBehindError lands here.
    if (this.#wait !== undefined)
      await confirmReplicated(this.#redis, keys.hash, this.#wait, 'writing a result');
    return written === 1;
  }

  /** The hash of one request: prefix + `<idScope>/<request id>` (prefix + request id without a scope). */
  key(requestId: string, idScope: string | undefined): string {
    return this.keys(requestId, idScope).hash;
  }

  /** The hash of one request and the stream its result is added to: one slot on Redis Cluster. */
  keys(requestId: string, idScope: string | undefined): ResultKeys {
    return resultKeys(this.layout, this, requestId, idScope);
  }

  async read(requestId: string, idScope?: string): Promise<Record<string, string> | undefined> {
    const h = await this.#redis.hgetall(this.key(requestId, idScope));
    return Object.keys(h).length === 0 ? undefined : h;
  }

  /** The request already has a result (its tombstone): it must not get another Job. */
  async exists(requestId: string, idScope: string | undefined): Promise<boolean> {
    return (await this.#redis.exists(this.key(requestId, idScope))) === 1;
  }
}

export function resultFrom(
  state: JobState,
  base: Omit<JobResult, 'status' | 'reason' | 'startTime' | 'completionTime'>,
): JobResult {
  return {
    ...base,
    status: !state.finished ? 'Deleted' : state.phase === 'Failed' ? 'Failed' : 'Succeeded',
    ...(!state.finished
      ? { reason: 'JobDeleted' }
      : state.reason !== undefined
        ? { reason: state.reason }
        : {}),
    ...(state.startTime !== undefined ? { startTime: state.startTime } : {}),
    ...(state.completionTime !== undefined ? { completionTime: state.completionTime } : {}),
  };
}
