// A Redis list as a reliable queue (seed 001's case: a producer LPUSHes JSON).
//
// - BLMOVE takes an item from the queue's right end into this replica's own
//   processing list, atomically: a crash after that loses nothing.
// - Before any Job is made, the item is rewritten in the processing list as an
//   envelope carrying a request id (the producer's `id` field, or one made
//   now) and the delivery count, so a redelivery keeps the same id and can
//   never make a second Job.
// - Each replica heartbeats a key with a TTL; a replica whose key expired is
//   dead, and any live replica moves its processing list back to the queue.
// - ack() and deadLetter() are the only ways an item leaves Redis.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isAborted } from '../time/sleep.ts';
import type { DeadLetter, WorkItem, WorkSource } from './source.ts';

export interface RedisListSourceOptions {
  /** For ordinary commands; not closed by the source. */
  readonly redis: Redis;
  /** A dedicated connection for BLMOVE (it blocks); not closed by the source. */
  readonly blockingRedis: Redis;
  /** The list producers LPUSH to. */
  readonly key: string;
  /** Unique per process. */
  readonly replicaId: string;
  /** BLMOVE timeout; also bounds how long stop() waits for next(). Default 1000 ms. */
  readonly blockMs?: number;
  /** A replica silent this long is dead and its items are recovered. Default 15 000 ms. */
  readonly heartbeatTtlMs?: number;
  /** Default `${key}:dead`. */
  readonly deadLetterKey?: string;
}

interface Envelope {
  readonly kjd: 1;
  readonly id: string;
  readonly payload: string;
  readonly attempts: number;
  readonly takenAtMs: number;
}

// Replace elements of a list atomically (LSET needs an index we do not know);
// ARGV: old, new, old, new...; returns 1 or 0 per pair.
const REPLACE_MANY = `local r = {} for i = 1, #ARGV, 2 do if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call('LPUSH', KEYS[1], ARGV[i + 1]) r[#r + 1] = 1 else r[#r + 1] = 0 end end return r`;
// BLMOVE's move, up to ARGV[1] times, without blocking.
const TAKE_MANY = `local r = {} for i = 1, tonumber(ARGV[1]) do local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') if not v then break end r[#r + 1] = v end return r`;
// Items taken while stopping go back to the queue's consumer end, oldest last (it is taken first).
const PUT_BACK = `for i = #ARGV, 1, -1 do if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]) end end`;
// Move every element of a dead replica's processing list back to the queue's
// consumer end. KEYS[4], its heartbeat, is checked inside the script: a
// replica that came back between our check and this move keeps its items.
const RECOVER = `if KEYS[4] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end local n = 0 while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end redis.call('SREM', KEYS[3], ARGV[1]) return n`;

export class RedisListSource implements WorkSource {
  readonly name: string;
  readonly #o: Required<RedisListSourceOptions>;
  readonly #processing: string;
  readonly #replicas: string;
  /** Each delivery (not each request id: a producer may send one id twice) -> its envelope as stored. */
  readonly #held = new Map<WorkItem, string>();
  #timers: NodeJS.Timeout[] = [];
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: RedisListSourceOptions) {
    if (options.key === '') throw new TypeError('key: must not be empty');
    if (options.replicaId === '' || options.replicaId.includes(':'))
      throw new TypeError('replicaId: non-empty, no ":"');
    this.#o = {
      blockMs: 1000,
      heartbeatTtlMs: 15_000,
      deadLetterKey: `${options.key}:dead`,
      ...options,
    };
    if (this.#o.blockMs < 10) throw new TypeError('blockMs: at least 10');
    if (this.#o.heartbeatTtlMs < 300) throw new TypeError('heartbeatTtlMs: at least 300');
    this.name = `redis-list:${options.key}`;
    this.#processing = processingKey(options.key, options.replicaId);
    this.#replicas = `${options.key}:replicas`;
  }

  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    // A restart under the same replica id: what the previous run held goes back first.
    await this.#handBackOwn();
    await this.#heartbeat();
    await this.recoverDeadReplicas();
    const beat = setInterval(() => void this.#heartbeat().catch(() => undefined), this.#o.heartbeatTtlMs / 3);
    const recover = setInterval(
      () => void this.recoverDeadReplicas().catch(() => undefined),
      this.#o.heartbeatTtlMs / 2,
    );
    beat.unref();
    recover.unref();
    this.#timers = [beat, recover];
  }

  /** Also re-registers: a replica once taken for dead (a Redis outage) must be findable again. */
  async #heartbeat(): Promise<void> {
    await this.#o.redis
      .multi()
      .set(heartbeatKey(this.#o.key, this.#o.replicaId), String(Date.now()), 'PX', this.#o.heartbeatTtlMs)
      .sadd(this.#replicas, this.#o.replicaId)
      .exec();
  }

  /** Moves the processing lists of replicas whose heartbeat expired back to the queue. Returns items moved. */
  async recoverDeadReplicas(): Promise<number> {
    const { redis, key } = this.#o;
    let moved = 0;
    for (const replica of await redis.smembers(this.#replicas)) {
      if (replica === this.#o.replicaId || (await redis.exists(heartbeatKey(key, replica))) === 1) continue;
      moved += Number(
        await redis.eval(
          RECOVER,
          4,
          processingKey(key, replica),
          key,
          this.#replicas,
          heartbeatKey(key, replica),
          replica,
        ),
      );
    }
    return moved;
  }

  async next(signal: AbortSignal): Promise<WorkItem | undefined> {
    if (signal.aborted || this.#stopped !== undefined) return undefined;
    const raw = await this.#o.blockingRedis.blmove(
      this.#o.key,
      this.#processing,
      'RIGHT',
      'LEFT',
      this.#o.blockMs / 1000,
    );
    if (raw === null) return undefined;
    return (await this.#own([raw], signal))[0];
  }

  /**
   * Up to `max` items in two round trips (one script moves them, one rewrites
   * them as envelopes) when the queue has them; else waits for one as next()
   * does. Under load this is what keeps Redis round trips per item well
   * below one.
   */
  async nextBatch(max: number, signal: AbortSignal): Promise<WorkItem[]> {
    if (signal.aborted || this.#stopped !== undefined) return [];
    if (max > 1) {
      const raws = (await this.#o.redis.eval(TAKE_MANY, 2, this.#o.key, this.#processing, max)) as string[];
      if (raws.length > 0) return this.#own(raws, signal);
    }
    const one = await this.next(signal);
    return one === undefined ? [] : [one];
  }

  /** Items just moved into the processing list: rewritten as envelopes and held, or put back when stopping. */
  async #own(raws: readonly string[], signal: AbortSignal): Promise<WorkItem[]> {
    if (isAborted(signal)) {
      // Taken while we were asked to stop: put them back where they were.
      await this.#o.redis.eval(PUT_BACK, 2, this.#processing, this.#o.key, ...raws);
      return [];
    }
    const wrapped = raws.map((raw) => this.#wrap(raw));
    const replaced = (await this.#o.redis.eval(
      REPLACE_MANY,
      1,
      this.#processing,
      ...wrapped.flatMap((w) => [w.raw, w.stored]),
    )) as number[];
    // 0: another replica took this list for dead and put the item back meanwhile; it is not ours.
    return wrapped.flatMap((w, i) => {
      if (replaced[i] !== 1) return [];
      this.#held.set(w.item, w.stored);
      return [w.item];
    });
  }

  #wrap(raw: string): { raw: string; stored: string; item: WorkItem } {
    const previous = parseEnvelope(raw);
    const envelope: Envelope = {
      kjd: 1,
      id: previous?.id ?? producerId(raw) ?? `${this.#o.key}/${randomUUID()}`,
      payload: previous?.payload ?? raw,
      attempts: (previous?.attempts ?? 0) + 1,
      takenAtMs: Date.now(),
    };
    const item: WorkItem = {
      requestId: envelope.id,
      payload: envelope.payload,
      attempts: envelope.attempts,
      receivedAtMs: envelope.takenAtMs,
    };
    return { raw, stored: JSON.stringify(envelope), item };
  }

  async ack(item: WorkItem): Promise<void> {
    const stored = this.#held.get(item);
    if (stored === undefined) return;
    await this.#o.redis.lrem(this.#processing, 1, stored);
    this.#held.delete(item);
  }

  async deadLetter(item: WorkItem, why: DeadLetter): Promise<void> {
    const stored = this.#held.get(item);
    const record = JSON.stringify({
      requestId: item.requestId,
      payload: item.payload,
      reason: why.reason,
      code: why.code,
      attempts: item.attempts,
      source: this.name,
      failedAt: new Date().toISOString(),
    });
    const tx = this.#o.redis.multi().lpush(this.#o.deadLetterKey, record);
    if (stored !== undefined) tx.lrem(this.#processing, 1, stored);
    await tx.exec();
    this.#held.delete(item);
  }

  depth(): Promise<number> {
    return this.#o.redis.llen(this.#o.key);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** Moves this replica's processing list back to the queue's consumer end (no heartbeat check: it is ours). */
  async #handBackOwn(): Promise<void> {
    await this.#o.redis.eval(
      RECOVER,
      4,
      this.#processing,
      this.#o.key,
      this.#replicas,
      '',
      this.#o.replicaId,
    );
  }

  async #stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    // Unacknowledged items go back to the queue's consumer end for the next taker.
    await this.#handBackOwn();
    await this.#o.redis.del(heartbeatKey(this.#o.key, this.#o.replicaId));
    this.#held.clear();
  }
}

const processingKey = (key: string, replica: string) => `${key}:processing:${replica}`;
const heartbeatKey = (key: string, replica: string) => `${key}:replica:${replica}`;

function parseEnvelope(raw: string): Envelope | undefined {
  if (!raw.startsWith('{"kjd":1,')) return undefined;
  try {
    const e = JSON.parse(raw) as Partial<Envelope>;
    return typeof e.id === 'string' && typeof e.payload === 'string' && typeof e.attempts === 'number'
      ? (e as Envelope)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The producer's own id: a string or integer `id` at the top of a JSON object. */
function producerId(raw: string): string | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const id = (v as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
    if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  } catch {
    // not JSON: the dispatcher dead-letters it; it still gets an id here
  }
  return undefined;
}
