// The dead-letter list of a Redis-list route (`<key>:dead`): JSON records
// LPUSHed by the list source. An element has no id of its own, so an entry's
// id is a hash of its bytes: the same element always has the same id, and
// LREM by value removes exactly it.
//
// Requeue pushes the item back in the envelope the list source's take script
// writes itself (`kjd2\n<attempts>\n<request id>\n<payload>`), with 0
// attempts: the script keeps the request id it finds there (it counts the
// delivery and keeps the rest), so the redriven item is the same request.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../sources/redis-connection.ts';
import type { DeadLetterEntry, DeadLetterPage, DeadLetterPlace } from './place.ts';

/** Entries looked through to find one by id; a dead-letter list longer than this is an incident of its own. */
const MAX_SCAN = 10_000;

// KEYS: dead list, queue. ARGV: element, what to push. LREM first: only the caller that removed it pushes.
const REQUEUE = `if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then redis.call('LPUSH', KEYS[2], ARGV[2]) return 1 end return 0`;

export interface ListPlaceOptions {
  readonly redis: RedisClient;
  /** The route's queue: where a redriven item goes. */
  readonly queueKey: string;
  /** Default `<queueKey>:dead`, as the list source. */
  readonly deadLetterKey?: string;
}

export class ListDeadLetters implements DeadLetterPlace {
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #queue: string;

  constructor(options: ListPlaceOptions) {
    this.#redis = options.redis;
    this.#queue = options.queueKey;
    this.key = options.deadLetterKey ?? `${options.queueKey}:dead`;
  }

  async list(limit: number): Promise<DeadLetterPage> {
    const [total, elements] = await Promise.all([
      this.count(),
      this.#redis.lrangeBuffer(this.key, 0, Math.max(0, limit - 1)),
    ]);
    return { total, items: elements.map(toEntry) };
  }

  count(): Promise<number> {
    return this.#redis.llen(this.key);
  }

  async get(id: string): Promise<DeadLetterEntry | undefined> {
    const element = await this.#find(id);
    return element === undefined ? undefined : toEntry(element);
  }

  async remove(id: string): Promise<boolean> {
    const element = await this.#find(id);
    if (element === undefined) return false;
    return (await this.#redis.lrem(this.key, 1, element)) === 1;
  }

  async requeue(id: string): Promise<boolean> {
    const element = await this.#find(id);
    if (element === undefined) return false;
    const entry = toEntry(element);
    const payload =
      entry.payloadBase64 !== undefined
        ? Buffer.from(entry.payloadBase64, 'base64')
        : Buffer.from(entry.payload ?? '', 'utf8');
    const envelope = Buffer.concat([Buffer.from(`kjd2\n0\n${entry.requestId}\n`, 'utf8'), payload]);
    return Number(await this.#redis.eval(REQUEUE, 2, this.key, this.#queue, element, envelope)) === 1;
  }

  async #find(id: string): Promise<Buffer | undefined> {
    const elements = await this.#redis.lrangeBuffer(this.key, 0, MAX_SCAN - 1);
    return elements.find((e) => elementId(e) === id);
  }
}

const elementId = (element: Buffer): string =>
  createHash('sha256').update(element).digest('hex').slice(0, 16);

/** A record as the list source wrote it; one that cannot be read is shown as such, never dropped. */
function toEntry(element: Buffer): DeadLetterEntry {
  const id = elementId(element);
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(element.toString('utf8')) as Record<string, unknown>;
  } catch {
    r = { reason: 'this dead-letter record is not JSON', code: 'RECORD_UNREADABLE' };
  }
  const text = (k: string) => (typeof r[k] === 'string' ? r[k] : undefined);
  const payload = text('payload');
  const payloadBase64 = text('payloadBase64');
  return {
    id,
    requestId: text('requestId') ?? '',
    ...(payload !== undefined ? { payload } : {}),
    ...(payloadBase64 !== undefined ? { payloadBase64 } : {}),
    reason: text('reason') ?? '',
    code: text('code') ?? '',
    attempts: typeof r.attempts === 'number' ? r.attempts : 0,
    source: text('source') ?? '',
    failedAt: text('failedAt') ?? '',
  };
}
