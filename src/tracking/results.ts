// How each item ended, written back for the producer: a record in a results
// stream and a hash per request id (with a TTL) — exactly once, even with
// several replicas each seeing the Job finish (the hash is the guard).
import type { Redis } from 'ioredis';
import type { JobState } from '../kube/job-status.ts';

export interface JobResult {
  readonly requestId: string;
  readonly jobName: string;
  readonly namespace: string;
  readonly template: string;
  readonly status: 'Succeeded' | 'Failed';
  readonly reason?: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  /** Exit code of the failed container, when one is known. */
  readonly exitCode?: number;
}

export interface ResultsOptions {
  readonly redis: Redis;
  /** Default `kjd:results`. */
  readonly stream?: string;
  /** Default `kjd:result:`; the key is prefix + request id. */
  readonly hashPrefix?: string;
  /** Default 86 400 (a day). */
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
  readonly #redis: Redis;
  readonly #ttl: number;
  readonly #maxLen: number;

  constructor(options: ResultsOptions) {
    this.#redis = options.redis;
    this.stream = options.stream ?? 'kjd:results';
    this.hashPrefix = options.hashPrefix ?? 'kjd:result:';
    this.#ttl = options.ttlSeconds ?? 86_400;
    this.#maxLen = options.maxStreamLength ?? 100_000;
  }

  /** True when this call recorded the result, false when it was already there. */
  async write(result: JobResult): Promise<boolean> {
    const fields = Object.entries(result).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    const written = await this.#redis.eval(
      WRITE_ONCE,
      2,
      this.hashPrefix + result.requestId,
      this.stream,
      this.#ttl,
      this.#maxLen,
      ...fields,
    );
    return written === 1;
  }

  async read(requestId: string): Promise<Record<string, string> | undefined> {
    const h = await this.#redis.hgetall(this.hashPrefix + requestId);
    return Object.keys(h).length === 0 ? undefined : h;
  }
}

export function resultFrom(
  state: JobState,
  base: Omit<JobResult, 'status' | 'reason' | 'startTime' | 'completionTime'>,
): JobResult {
  return {
    ...base,
    status: state.phase === 'Failed' ? 'Failed' : 'Succeeded',
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
    ...(state.startTime !== undefined ? { startTime: state.startTime } : {}),
    ...(state.completionTime !== undefined ? { completionTime: state.completionTime } : {}),
  };
}
