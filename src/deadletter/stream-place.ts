// The dead-letter stream of a Redis-stream route (`<stream>:dead`): one entry
// per item, written by the stream source with its fields. The entry id is the
// dead letter's id.
//
// Requeue XADDs the item to the route's stream with a `kjd-request-id` field:
// a new entry id, but the stream source reads the request id from that field,
// so the redriven item is the same request (its Job has the same name).
import type { RedisClient } from '../sources/redis-connection.ts';
import { REQUEST_ID_FIELD } from '../sources/redis-stream-replies.ts';
import type { DeadLetterEntry, DeadLetterPage, DeadLetterPlace } from './place.ts';

// KEYS: dead stream, stream. ARGV: dead entry id, payload field, payload, request id.
// XDEL first: only the caller that removed the entry adds it back.
const REQUEUE = `if redis.call('XDEL', KEYS[1], ARGV[1]) == 1 then redis.call('XADD', KEYS[2], '*', ARGV[2], ARGV[3], '${REQUEST_ID_FIELD}', ARGV[4]) return 1 end return 0`;

const ENTRY_ID = /^\d+-\d+$/;

export interface StreamPlaceOptions {
  readonly redis: RedisClient;
  readonly stream: string;
  /** Default `<stream>:dead`, as the stream source. */
  readonly deadLetterStream?: string;
  /** The field a stream entry's payload is in. Default `payload`. */
  readonly payloadField?: string;
}

type RawEntry = [id: string, fields: string[]];

export class StreamDeadLetters implements DeadLetterPlace {
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #stream: string;
  readonly #payloadField: string;

  constructor(options: StreamPlaceOptions) {
    this.#redis = options.redis;
    this.#stream = options.stream;
    this.key = options.deadLetterStream ?? `${options.stream}:dead`;
    this.#payloadField = options.payloadField ?? 'payload';
  }

  async list(limit: number): Promise<DeadLetterPage> {
    const [total, raw] = await Promise.all([
      this.count(),
      this.#redis.xrevrange(this.key, '+', '-', 'COUNT', Math.max(1, limit)) as Promise<RawEntry[]>,
    ]);
    return { total, items: limit <= 0 ? [] : raw.map(toEntry) };
  }

  count(): Promise<number> {
    return this.#redis.xlen(this.key);
  }

  async get(id: string): Promise<DeadLetterEntry | undefined> {
    if (!ENTRY_ID.test(id)) return undefined;
    const raw = (await this.#redis.xrange(this.key, id, id)) as RawEntry[];
    return raw[0] === undefined ? undefined : toEntry(raw[0]);
  }

  async remove(id: string): Promise<boolean> {
    if (!ENTRY_ID.test(id)) return false;
    return (await this.#redis.xdel(this.key, id)) === 1;
  }

  async requeue(id: string): Promise<boolean> {
    const entry = await this.get(id);
    if (entry === undefined) return false;
    const moved = await this.#redis.eval(
      REQUEUE,
      2,
      this.key,
      this.#stream,
      id,
      this.#payloadField,
      entry.payload ?? '',
      entry.requestId,
    );
    return Number(moved) === 1;
  }
}

function toEntry([id, fields]: RawEntry): DeadLetterEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] ?? '', fields[i + 1] ?? '');
  const source = f.get('source') ?? '';
  return {
    id,
    // Written by kjd ≥ 0.3; before, the request id was always `<stream>/<entry id>`.
    requestId: f.get('requestId') ?? `${source}/${f.get('entryId') ?? ''}`,
    payload: f.get('payload') ?? '',
    reason: f.get('reason') ?? '',
    code: f.get('code') ?? '',
    attempts: Number(f.get('attempts') ?? 0),
    source: `redis-stream:${source}`,
    failedAt: f.get('failedAt') ?? '',
  };
}
