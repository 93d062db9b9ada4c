// A Redis list as a reliable queue (seed 001's case: a producer LPUSHes JSON).
//
// - One Lua script moves an item from the queue's right end into this
//   replica's own processing list AND gives it its envelope there, in the
//   same atomic step: the delivery count, and for an item without a producer
//   id a request id (the queue's key, Redis's clock and a counter). A crash,
//   a failover or a rollback can never separate the move from the id, so a
//   redelivery keeps the same id and can never make a second Job. (An item
//   with an `id` field keeps it: the producer's id is its request id.)
// - Waiting for an item is a BLMOVE of the queue onto itself (it moves
//   nothing), then the script: a blocking command that a reconnecting client
//   resends can therefore never take an item nobody reads.
// - Items are handled as bytes: an element that is not UTF-8 still matches
//   itself in LREM, and is dead-lettered (base64) with its reason.
// - Each replica heartbeats a key with a TTL; a replica whose key expired is
//   dead, and any live replica moves its processing list back to the queue.
//   A replica also puts back what sits in its own processing list without
//   being held in memory (an error between move and hand-out): orphans.
// - ack() and deadLetter() are the only ways an item leaves Redis; release()
//   puts one back at the queue's consumer end.
import { isAborted } from '../time/sleep.ts';
import { evalBuffer, type RedisClient } from './redis-connection.ts';
import { confirmReplicated, type ReplicaWait } from './redis-durability.ts';
import { listKeys, slotName, slottedKeyProblem, type KeyLayout, type ListKeys } from './redis-keys.ts';
import { DEFAULT_PRODUCER_ID_BYTES, parseStored, type Stored } from './list-envelope.ts';
import type { DeadLetter, WorkItem, WorkSource } from './source.ts';

export interface RedisListSourceOptions {
  /** For ordinary commands; not closed by the source. */
  readonly redis: RedisClient;
  /** A dedicated connection for the blocking wait; not closed by the source. */
  readonly blockingRedis: RedisClient;
  /** The list producers LPUSH to. */
  readonly key: string;
  /** Unique per process; stable across restarts of one Pod (its name). */
  readonly replicaId: string;
  /** How long one wait for an item blocks; also bounds how long stop() waits for next(). Default 1000 ms. */
  readonly blockMs?: number;
  /** A replica silent this long is dead and its items are recovered. Default 15 000 ms. */
  readonly heartbeatTtlMs?: number;
  /** Default `${key}:dead` (slotted layout, a key without a hash tag: `{${key}}:dead`). */
  readonly deadLetterKey?: string;
  /**
   * How kjd's own keys are named beside `key` (redis-keys.ts): `plain` as
   * always, `slotted` for Redis Cluster. Default `plain`.
   */
  readonly layout?: KeyLayout;
  /**
   * A take counts only once this many replicas have it (WAIT): a take lost
   * in a failover would give an item without a producer id a new request id,
   * and a second Job. Default: no waiting (redis-durability.ts).
   */
  readonly waitForReplicas?: ReplicaWait;
}

// KEYS: queue, processing, sequence. ARGV: how many. Moves up to ARGV[1]
// items and writes each one's envelope in place (LSET 0: LMOVE ... LEFT put
// it at the head): `kjd2\n<attempts>\n<request id>\n<payload>`. A v1 (JSON)
// envelope from an older kjd is left as it is; the source reads it.
const TAKE = `
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not v then break end
  local attempts, id, payload = string.match(v, '^kjd2\\n(%d+)\\n([^\\n]*)\\n(.*)$')
  if attempts then
    v = 'kjd2\\n' .. (tonumber(attempts) + 1) .. '\\n' .. id .. '\\n' .. payload
    redis.call('LSET', KEYS[2], 0, v)
  elseif string.sub(v, 1, 9) ~= '{"kjd":1,' then
    local t = redis.call('TIME')
    local n = redis.call('INCR', KEYS[3])
    v = 'kjd2\\n1\\n' .. KEYS[1] .. '/' .. t[1] .. '.' .. t[2] .. '.' .. n .. '\\n' .. v
    redis.call('LSET', KEYS[2], 0, v)
  end
  out[#out + 1] = v
end
return out`;
// KEYS: processing, queue. ARGV: elements to put back at the consumer end (taken first).
const PUT_BACK = `local n = 0 for i = #ARGV, 1, -1 do if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]) n = n + 1 end end return n`;
// KEYS: processing, queue, replicas. ARGV: replica. Moves every element of a
// processing list back to the queue's consumer end and unregisters the replica.
const HAND_BACK = `local n = 0 while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end redis.call('SREM', KEYS[3], ARGV[1]) return n`;
// HAND_BACK for a dead replica, KEYS[4] its heartbeat, checked inside the
// script: a replica that came back between our check and this move keeps its
// items. (A separate script, not KEYS[4] = '' for "no check": every key a
// script names must be a real one in the script's slot on Redis Cluster.)
const RECOVER = `if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end ${HAND_BACK}`;

export class RedisListSource implements WorkSource {
  readonly name: string;
  readonly #o: Required<Omit<RedisListSourceOptions, 'deadLetterKey' | 'layout' | 'waitForReplicas'>>;
  readonly #wait: ReplicaWait | undefined;
  readonly #keys: ListKeys;
  readonly #processing: string;
  /** Each delivery (not each request id: a producer may send one id twice) -> its element as stored. */
  readonly #held = new Map<WorkItem, Buffer>();
  /** Elements of our processing list not held in memory at the last reconcile pass (hex). */
  #suspects = new Set<string>();
  #timers: NodeJS.Timeout[] = [];
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: RedisListSourceOptions) {
    if (options.key === '') throw new TypeError('key: must not be empty');
    if (options.replicaId === '' || options.replicaId.includes(':'))
      throw new TypeError('replicaId: non-empty, no ":"');
    this.#o = { blockMs: 1000, heartbeatTtlMs: 15_000, ...options };
    this.#keys = listKeys(options.layout ?? 'plain', options.key, options.deadLetterKey);
    this.#wait = options.waitForReplicas;
    if (options.layout === 'slotted') checkOneSlot(this.#keys);
    if (this.#o.blockMs < 10) throw new TypeError('blockMs: at least 10');
    if (this.#o.heartbeatTtlMs < 300) throw new TypeError('heartbeatTtlMs: at least 300');
    this.name = `redis-list:${options.key}`;
    this.#processing = this.#keys.processing(options.replicaId);
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
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch(() => undefined), ms);
      t.unref();
      return t;
    };
    this.#timers = [
      every(this.#o.heartbeatTtlMs / 3, () => this.#heartbeat()),
      every(this.#o.heartbeatTtlMs / 2, () => this.recoverDeadReplicas()),
      every(this.#o.heartbeatTtlMs / 3, () => this.reconcile()),
    ];
  }

  /** Also re-registers: a replica once taken for dead (a Redis outage) must be findable again. */
  async #heartbeat(): Promise<void> {
    await this.#o.redis
      .multi()
      .set(this.#keys.heartbeat(this.#o.replicaId), String(Date.now()), 'PX', this.#o.heartbeatTtlMs)
      .sadd(this.#keys.replicas, this.#o.replicaId)
      .exec();
  }

  /** Moves the processing lists of replicas whose heartbeat expired back to the queue. Returns items moved. */
  async recoverDeadReplicas(): Promise<number> {
    const { redis } = this.#o;
    const k = this.#keys;
    let moved = 0;
    for (const replica of await redis.smembers(k.replicas)) {
      if (replica === this.#o.replicaId || (await redis.exists(k.heartbeat(replica))) === 1) continue;
      moved += Number(
        await redis.eval(
          RECOVER,
          4,
          k.processing(replica),
          k.queue,
          k.replicas,
          k.heartbeat(replica),
          replica,
        ),
      );
    }
    return moved;
  }

  /**
   * Puts back elements of this replica's processing list that it does not
   * hold in memory, once seen so on two passes in a row (an element between
   * the take and its hand-out is held within the same tick). Returns how many.
   */
  async reconcile(): Promise<number> {
    if (this.#stopped !== undefined) return 0;
    const listed = await this.#o.redis.lrangeBuffer(this.#processing, 0, -1);
    const held = new Set([...this.#held.values()].map((b) => b.toString('hex')));
    const orphans = listed.filter((b) => !held.has(b.toString('hex')));
    const confirmed = orphans.filter((b) => this.#suspects.has(b.toString('hex')));
    this.#suspects = new Set(orphans.map((b) => b.toString('hex')));
    if (confirmed.length === 0) return 0;
    return Number(await this.#o.redis.eval(PUT_BACK, 2, this.#processing, this.#o.key, ...confirmed));
  }

  async next(signal: AbortSignal): Promise<WorkItem | undefined> {
    return (await this.nextBatch(1, signal))[0];
  }

  /**
   * Up to `max` items in one round trip when the queue has them; else waits
   * up to blockMs for one (a BLMOVE of the queue onto itself, which moves
   * nothing) and takes again.
   */
  async nextBatch(max: number, signal: AbortSignal): Promise<WorkItem[]> {
    if (signal.aborted || this.#stopped !== undefined) return [];
    const taken = await this.#take(max, signal);
    if (taken.length > 0 || isAborted(signal)) return taken;
    const ready = await this.#o.blockingRedis.blmove(
      this.#o.key,
      this.#o.key,
      'RIGHT',
      'RIGHT',
      this.#o.blockMs / 1000,
    );
    if (ready === null || isAborted(signal)) return [];
    return this.#take(max, signal);
  }

  takeWaiting(max: number): Promise<WorkItem[]> {
    if (this.#stopped !== undefined) return Promise.resolve([]);
    return this.#take(max, new AbortController().signal);
  }

  async #take(max: number, signal: AbortSignal): Promise<WorkItem[]> {
    // As bytes: what Redis holds, so LREM matches it exactly even when it is not UTF-8.
    const stored = (await evalBuffer(
      this.#o.redis,
      TAKE,
      [this.#o.key, this.#processing, this.#keys.sequence],
      [Math.max(1, max)],
    )) as Buffer[];
    if (stored.length === 0) return [];
    if (this.#wait !== undefined) {
      // Not on enough replicas: hand the items back (with their ids) rather than make Jobs a failover could double.
      await confirmReplicated(this.#o.redis, this.#o.key, this.#wait, 'taking items').catch(
        async (err: unknown) => {
          await this.#o.redis.eval(PUT_BACK, 2, this.#processing, this.#o.key, ...stored);
          throw err;
        },
      );
    }
    if (isAborted(signal) || this.#stopped !== undefined) {
      // Taken while we were asked to stop: put them back where they were.
      await this.#o.redis.eval(PUT_BACK, 2, this.#processing, this.#o.key, ...stored);
      return [];
    }
    const items: WorkItem[] = [];
    for (const element of stored) {
      const parsed = parseStored(element, DEFAULT_PRODUCER_ID_BYTES);
      if (parsed.kind === 'not-utf8') await this.#deadLetterBytes(element, parsed);
      else {
        const item = toItem(parsed);
        this.#held.set(item, element);
        items.push(item);
      }
    }
    return items;
  }

  async ack(item: WorkItem): Promise<void> {
    const stored = this.#held.get(item);
    if (stored === undefined) return;
    await this.#o.redis.lrem(this.#processing, 1, stored);
    this.#held.delete(item);
  }

  async deadLetter(item: WorkItem, why: DeadLetter): Promise<void> {
    const stored = this.#held.get(item);
    await this.#deadLetter(stored, deadRecord(item, why, this.name));
    this.#held.delete(item);
  }

  /** Back to the queue's consumer end, taken again first. If Redis fails now, reconcile() does it later. */
  async release(item: WorkItem): Promise<void> {
    const stored = this.#held.get(item);
    this.#held.delete(item);
    if (stored === undefined) return;
    await this.#o.redis.eval(PUT_BACK, 2, this.#processing, this.#o.key, stored);
  }

  depth(): Promise<number> {
    return this.#o.redis.llen(this.#o.key);
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #deadLetterBytes(element: Buffer, parsed: Extract<Stored, { kind: 'not-utf8' }>): Promise<void> {
    const record = JSON.stringify({
      requestId: parsed.requestId,
      payloadBase64: parsed.payload.toString('base64'),
      reason: 'the item is not UTF-8 text; its bytes are kept in payloadBase64',
      code: 'ITEM_NOT_UTF8',
      attempts: parsed.attempts,
      source: this.name,
      failedAt: new Date().toISOString(),
    });
    await this.#deadLetter(element, record);
  }

  async #deadLetter(stored: Buffer | undefined, record: string): Promise<void> {
    const tx = this.#o.redis.multi().lpush(this.#keys.deadLetter, record);
    if (stored !== undefined) tx.lrem(this.#processing, 1, stored);
    const results = await tx.exec();
    for (const [err] of results ?? []) if (err !== null) throw err;
  }

  /** Moves this replica's processing list back to the queue's consumer end (no heartbeat check: it is ours). */
  async #handBackOwn(): Promise<void> {
    await this.#o.redis.eval(
      HAND_BACK,
      3,
      this.#processing,
      this.#o.key,
      this.#keys.replicas,
      this.#o.replicaId,
    );
  }

  async #stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    // Unacknowledged items go back to the queue's consumer end for the next taker.
    await this.#handBackOwn();
    await this.#o.redis.del(this.#keys.heartbeat(this.#o.replicaId));
    this.#held.clear();
  }
}

/** Redis Cluster: the dead-letter list is written in one MULTI with the processing list. */
function checkOneSlot(keys: ListKeys): void {
  const problem = slottedKeyProblem(keys.queue);
  if (problem !== undefined) throw new TypeError(`key: ${problem}`);
  if (slotName(keys.deadLetter) !== slotName(keys.queue)) {
    throw new TypeError(
      `deadLetterKey: "${keys.deadLetter}" must share the hash tag of key "${keys.queue}" ({${slotName(keys.queue)}})`,
    );
  }
}

function toItem(parsed: Extract<Stored, { kind: 'item' }>): WorkItem {
  return {
    requestId: parsed.requestId,
    payload: parsed.payload,
    attempts: parsed.attempts,
    receivedAtMs: Date.now(),
  };
}

function deadRecord(item: WorkItem, why: DeadLetter, source: string): string {
  return JSON.stringify({
    requestId: item.requestId,
    payload: item.payload,
    reason: why.reason,
    code: why.code,
    attempts: item.attempts,
    source,
    failedAt: new Date().toISOString(),
  });
}
