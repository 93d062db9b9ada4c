// A Redis stream read through a consumer group (Redis ≥ 7.0), one entry per
// work item. How the contract of source.ts is kept:
//
// - XREADGROUP puts each entry it delivers in the group's pending entries
//   list (PEL) under this consumer; only XACK (ack, deadLetter) takes it out.
//   A crash between next() and ack() loses nothing.
// - Recovery: after a (re)start this consumer's own PEL is read first, so a
//   replica restarted under the same consumer name gets its unfinished
//   entries back at once; and entries of any consumer left unacknowledged
//   longer than claimIdleMs are taken over with XAUTOCLAIM (a dead replica's).
// - requestId is `${stream}/${entryId}` (ids are unique only within a
//   stream), the same on every redelivery to any replica; attempts is the
//   PEL's delivery count, which both recovery paths increase.
// - Entries are never XDELed: trimming (XADD MAXLEN, XTRIM) is the
//   producer's or operator's business. An entry trimmed while still pending
//   cannot be delivered any more and leaves the PEL (XAUTOCLAIM does that
//   itself; the own-PEL read XACKs it).
// - Abort: ioredis cannot cancel a blocking command. next() resolves
//   undefined as soon as its signal aborts, but the XREADGROUP BLOCK stays on
//   the server for up to blockMs more; an entry it takes then is kept and
//   returned by the next call (after stop(), it stays pending: see below).
// - stop() ends reading. Entries already delivered but not acked stay pending
//   under this consumer: a restart with the same name gets them first, any
//   other replica's XAUTOCLAIM takes them once idle for claimIdleMs. ack() and
//   deadLetter() keep working after stop(), so in-flight items can drain.
// - Redis Cluster: deadLetter's MULTI spans two keys, which the slotted
//   layout (redis-keys.ts) puts in one slot: `{jobs}:dead` beside `jobs`, or
//   `{jobs}:stream:dead` beside `{jobs}:stream`.
import { sleep } from '../time/sleep.ts';
import { compileStreamOptions, type CompiledStreamOptions } from './redis-stream-options.ts';
import type { RedisStreamSourceOptions } from './redis-stream-options.ts';
import { StreamReader, type TakenEntry } from './redis-stream-reader.ts';
import {
  REQUEST_ID_FIELD,
  RedisStreamReplyError,
  entryTimeMs,
  parseGroups,
  payloadOf,
} from './redis-stream-replies.ts';
import type { DeadLetter, WorkItem, WorkSource } from './source.ts';

export type { RedisStreamSourceOptions } from './redis-stream-options.ts';
export { RedisStreamReplyError } from './redis-stream-replies.ts';

const ENTRY_ID = /^\d+-\d+$/;

/** How one round of reading ended; never a rejection, since a caller may have stopped waiting for it. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

export class RedisStreamSource implements WorkSource {
  readonly name: string;
  readonly #o: CompiledStreamOptions;
  readonly #reader: StreamReader;
  /** Read from Redis, not yet returned by next(), oldest first. */
  readonly #buffer: TakenEntry[] = [];
  /** Entries buffered or returned and not yet acked, by id: XAUTOCLAIM must not hand them to us a second time. */
  readonly #held = new Map<string, TakenEntry>();
  /** Each item handed out -> its entry id (a redriven entry's request id is not `<stream>/<entry id>`). */
  readonly #entryIds = new WeakMap<WorkItem, string>();
  /** The round of reading in progress, shared by every next() waiting for it. */
  #filling: Promise<Outcome> | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #stopping = false;

  /** Checks the options (TypeError naming the field); starts nothing. */
  constructor(options: RedisStreamSourceOptions) {
    this.#o = compileStreamOptions(options);
    this.name = `redis-stream:${this.#o.stream}`;
    this.#reader = new StreamReader(this.#o, (id) => this.#held.has(id));
    if (options.onGroupRecreated !== undefined) this.#reader.onGroupRecreated = options.onGroupRecreated;
  }

  /** Creates the consumer group at startId (`$` by default) if it is missing. Idempotent; a failed start may be retried. */
  start(): Promise<void> {
    this.#started ??= this.#reader.createGroup().catch((err: unknown) => {
      this.#started = undefined;
      throw err;
    });
    return this.#started;
  }

  /**
   * The next entry: first this consumer's own pending ones (after a restart),
   * then ones idle too long anywhere in the group (when a claim pass is due),
   * then a new one, waiting up to blockMs. Undefined when none came, after
   * stop(), or as soon as `signal` aborts. Starts the source if needed.
   */
  async next(signal: AbortSignal): Promise<WorkItem | undefined> {
    await this.start();
    if (this.#buffer.length === 0 && !signal.aborted && !this.#stopping) {
      this.#filling ??= this.#fill().finally(() => {
        this.#filling = undefined;
      });
      const outcome = await unlessAborted(this.#filling, signal);
      if (outcome?.ok === false) throw outcome.error;
    }
    if (signal.aborted || this.#stopping) return undefined;
    const taken = this.#buffer.shift();
    return taken === undefined ? undefined : this.#toItem(taken);
  }

  /** XACK: the entry leaves the PEL. It stays in the stream until trimmed. */
  async ack(item: WorkItem): Promise<void> {
    const id = this.#entryId(item);
    await this.#o.redis.xack(this.#o.stream, this.#o.group, id);
    this.#held.delete(id);
  }

  /**
   * Hands the entry out again first, from this process (it stays pending
   * under this consumer in Redis meanwhile, as before).
   */
  release(item: WorkItem): Promise<void> {
    const taken = this.#held.get(this.#entryId(item));
    if (taken !== undefined && !this.#stopping)
      this.#buffer.unshift({ ...taken, attempts: taken.attempts + 1 });
    return Promise.resolve();
  }

  /** XADD to the dead-letter stream and XACK the entry, in one MULTI: never both, never neither. */
  async deadLetter(item: WorkItem, why: DeadLetter): Promise<void> {
    const id = this.#entryId(item);
    const { redis, stream, group, deadLetterStream } = this.#o;
    const results = await redis
      .multi()
      .xadd(deadLetterStream, '*', ...deadLetterFields(item, why, stream, id))
      .xack(stream, group, id)
      .exec();
    if (results === null) throw new RedisStreamReplyError('EXEC', results);
    for (const [err] of results) if (err !== null) throw err;
    this.#held.delete(id);
  }

  /**
   * Entries not yet delivered to the group: XINFO GROUPS `lag`. When Redis
   * cannot tell (entries XDELed after the group's position), XLEN minus
   * `entries-read`: exact unless the stream was also trimmed, then too low.
   */
  async depth(): Promise<number> {
    const { redis, stream, group } = this.#o;
    const length = await redis.xlen(stream);
    if (length === 0) return 0;
    const info = parseGroups(await redis.xinfo('GROUPS', stream)).find((g) => g.name === group);
    if (info === undefined) return length;
    if (info.lag !== null) return info.lag;
    return info.entriesRead === null ? length : Math.min(length, Math.max(0, length - info.entriesRead));
  }

  /**
   * Stops reading; waits (at most blockMs + 1 s) for a read still blocked on
   * the server, so no command is sent after this resolves. Entries delivered
   * and not acked stay pending (see the top of this file). Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const reading = this.#filling;
    if (reading !== undefined) await settledWithin(reading, this.#o.blockMs + 1000);
    for (const taken of this.#buffer.splice(0)) this.#held.delete(taken.id);
  }

  /** One round of reading into #buffer, at most one blocking read. */
  async #fill(): Promise<Outcome> {
    try {
      for (const taken of await this.#reader.read(() => !this.#stopping)) {
        this.#buffer.push(taken);
        this.#held.set(taken.id, taken);
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  }

  #toItem(taken: TakenEntry): WorkItem {
    const enqueuedAtMs = entryTimeMs(taken.id);
    // A redriven dead letter (deadletter/stream-place.ts) keeps the request id it had.
    const redriven = fieldOf(taken.fields, REQUEST_ID_FIELD);
    const item: WorkItem = {
      requestId: redriven ?? `${this.#o.stream}/${taken.id}`,
      payload: payloadOf(taken.fields, this.#o.payloadField),
      attempts: taken.attempts,
      ...(enqueuedAtMs === undefined ? {} : { enqueuedAtMs }),
      receivedAtMs: Date.now(),
    };
    this.#entryIds.set(item, taken.id);
    return item;
  }

  #entryId(item: WorkItem): string {
    const known = this.#entryIds.get(item);
    if (known !== undefined) return known;
    const prefix = `${this.#o.stream}/`;
    const id = item.requestId.startsWith(prefix) ? item.requestId.slice(prefix.length) : '';
    if (!ENTRY_ID.test(id)) {
      throw new TypeError(`item "${item.requestId}" is not an entry of stream "${this.#o.stream}"`);
    }
    return id;
  }
}

function deadLetterFields(item: WorkItem, why: DeadLetter, stream: string, id: string): string[] {
  return [
    'payload', item.payload, 'reason', why.reason, 'code', why.code, 'attempts', String(item.attempts),
    'source', stream, 'entryId', id, 'requestId', item.requestId, 'failedAt', new Date().toISOString(),
  ]; // prettier-ignore
}

/** The value of a field of an entry, if it has it. */
function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The promise's value, or undefined as soon as `signal` aborts. `promise` must never reject. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      resolve(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

/** Waits for `promise` (which never rejects), but no longer than `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([promise, sleep(ms, timer.signal).catch(() => undefined)]);
  timer.abort();
}
