// How one consumer of a group takes entries, in the order that recovers work
// first: its own pending entries after a (re)start, then entries idle too long
// under any consumer (a dead replica's, by XAUTOCLAIM), then new ones. Which
// of them to hand out, and when, is the source's business (redis-stream.ts).
import type { CompiledStreamOptions } from './redis-stream-options.ts';
import {
  RedisStreamReplyError,
  isRedisError,
  parseAutoClaim,
  parsePendingRow,
  parseReadGroup,
  type StreamEntry,
} from './redis-stream-replies.ts';

/** Entries per own-PEL read and per XAUTOCLAIM call: small, so one round stays short. */
const BATCH = 10;

/** An entry this consumer now holds in the group's PEL. */
export interface TakenEntry {
  readonly id: string;
  readonly fields: readonly string[];
  /** The PEL's delivery count, this delivery included. */
  readonly attempts: number;
}

export class StreamReader {
  readonly #o: CompiledStreamOptions;
  readonly #isHeld: (id: string) => boolean;
  /** Where the read of this consumer's own PEL goes on; undefined once it is done. */
  #pelCursor: string | undefined = '0';
  #claimCursor = '0-0';
  #nextClaimAtMs = 0;
  /** The newest entry id this consumer was handed: where a group destroyed under us is made again. */
  #lastSeenId: string | undefined;
  /** Called when the group had to be made again (it was destroyed while we read). */
  onGroupRecreated: ((at: string) => void) | undefined;

  /** `isHeld`: ids the source still holds (buffered or being worked on), never taken a second time. */
  constructor(options: CompiledStreamOptions, isHeld: (id: string) => boolean) {
    this.#o = options;
    this.#isHeld = isHeld;
  }

  /**
   * XGROUP CREATE at `at` (default: the configured startId, `$` unless set),
   * making the stream if missing. An existing group is kept where it is:
   * never reset, never replayed.
   */
  async createGroup(at: string = this.#o.startId): Promise<void> {
    const { redis, stream, group } = this.#o;
    try {
      await redis.xgroup('CREATE', stream, group, at, 'MKSTREAM');
    } catch (err) {
      if (!isRedisError(err, 'BUSYGROUP')) throw err;
    }
  }

  /**
   * One round of reading: the first of own pending, idle claimed (when a
   * claim pass is due) or new entries that yields anything. At most one
   * blocking read (up to blockMs), and none when `mayBlock()` is false.
   */
  async read(mayBlock: () => boolean): Promise<TakenEntry[]> {
    try {
      if (this.#pelCursor !== undefined) {
        const own = await this.#readOwnPending();
        if (own.length > 0) return own;
      }
      if (Date.now() >= this.#nextClaimAtMs) {
        const claimed = await this.#claimIdle();
        if (claimed.length > 0) return claimed;
      }
      return mayBlock() ? await this.#readNew() : [];
    } catch (err) {
      if (!isRedisError(err, 'NOGROUP')) throw err;
      // The group (or the whole stream) was deleted under us. Made again at 0
      // it would replay the whole stream; at `$` it would skip what arrived
      // since. It goes on right after the newest entry this consumer saw (`$`
      // if none), and says so.
      const at = this.#lastSeenId ?? '$';
      await this.createGroup(at);
      this.onGroupRecreated?.(at);
      return [];
    }
  }

  /** This consumer's own PEL, oldest first: what it had taken before a restart. */
  async #readOwnPending(): Promise<TakenEntry[]> {
    const { redis, stream, group, consumer } = this.#o;
    const cursor = this.#pelCursor ?? '0';
    const reply = await redis.xreadgroup('GROUP', group, consumer, 'COUNT', BATCH, 'STREAMS', stream, cursor);
    const entries = parseReadGroup(reply);
    this.#pelCursor = entries.at(-1)?.id;
    return this.#withDeliveryCounts(entries);
  }

  /**
   * XAUTOCLAIM: entries idle longer than claimIdleMs under any consumer
   * become ours, one per call, and only one that is handed out at once: a
   * claimed batch waiting in a buffer would idle there and be claimed again,
   * by us or another replica. JUSTID first, which does not count a delivery,
   * so an entry we still hold is not counted towards its dead-letter limit;
   * then XCLAIM of the one handed out, which does. A pass walks the whole
   * PEL and starts at most every claimIdleMs / 2.
   */
  async #claimIdle(): Promise<TakenEntry[]> {
    const { redis, stream, group, consumer, claimIdleMs } = this.#o;
    const reply = (await redis.xautoclaim(
      stream,
      group,
      consumer,
      claimIdleMs,
      this.#claimCursor,
      'COUNT',
      1,
      'JUSTID',
    )) as [string, string[], ...unknown[]];
    const [cursor, ids] = reply;
    this.#claimCursor = cursor;
    if (cursor === '0-0') this.#nextClaimAtMs = Date.now() + claimIdleMs / 2;
    const fresh = ids.filter((id) => !this.#isHeld(id));
    if (fresh.length === 0) return [];
    // call(): a spread of ids matches no xclaim overload of the union type (Redis | Cluster).
    const claimed = await redis.call('XCLAIM', stream, group, consumer, 0, ...fresh);
    const { entries } = parseAutoClaim(['0-0', claimed]);
    return this.#withDeliveryCounts(entries);
  }

  /** One new entry, waiting up to blockMs on the dedicated connection. */
  async #readNew(): Promise<TakenEntry[]> {
    const { blockingRedis, stream, group, consumer, blockMs } = this.#o;
    const reply = await blockingRedis.xreadgroup(
      'GROUP', group, consumer, 'COUNT', 1, 'BLOCK', blockMs, 'STREAMS', stream, '>',
    ); // prettier-ignore
    const taken = parseReadGroup(reply).flatMap((e) =>
      e.fields === null ? [] : [{ ...e, fields: e.fields, attempts: 1 }],
    );
    this.#lastSeenId = taken.at(-1)?.id ?? this.#lastSeenId;
    return taken;
  }

  /**
   * Entries read again from the PEL, with their delivery counts (XPENDING
   * per entry). Leaves out the ones the source holds, and any acked or taken
   * over by another consumer since; XACKs those trimmed from the stream
   * (their content is gone: nothing left to deliver).
   */
  async #withDeliveryCounts(entries: readonly StreamEntry[]): Promise<TakenEntry[]> {
    const { redis, stream, group, consumer } = this.#o;
    const trimmed = entries.filter((e) => e.fields === null).map((e) => e.id);
    if (trimmed.length > 0) await redis.xack(stream, group, ...trimmed);
    const live = entries.flatMap((e) =>
      e.fields === null || this.#isHeld(e.id) ? [] : [{ ...e, fields: e.fields }],
    );
    if (live.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const e of live) pipeline.xpending(stream, group, e.id, e.id, 1);
    const replies = await pipeline.exec();
    const taken: TakenEntry[] = [];
    for (const [i, e] of live.entries()) {
      const [err, reply] = replies?.[i] ?? [new RedisStreamReplyError('XPENDING', replies), null];
      if (err !== null) throw err;
      const row = parsePendingRow(reply);
      if (row?.consumer === consumer) taken.push({ ...e, attempts: row.deliveries });
    }
    return taken;
  }
}
