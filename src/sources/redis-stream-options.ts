// Options of the Redis stream source: what a caller gives, and the compiled
// form with every default applied, checked once in the constructor so a
// mistake fails at startup naming the field, not later inside a read loop.
import { commandTimeoutOf, type RedisClient } from './redis-connection.ts';
import { slotName, slottedKeyProblem, streamDeadLetterKey, type KeyLayout } from './redis-keys.ts';

export interface RedisStreamSourceOptions {
  /** For ordinary commands; shared, never closed by the source. */
  readonly redis: RedisClient;
  /**
   * A dedicated connection for `XREADGROUP … BLOCK` (a blocking command stalls
   * every other command on its connection); never closed by the source.
   */
  readonly blockingRedis: RedisClient;
  /** The stream producers XADD to, e.g. `kjd:stream:worker`. */
  readonly stream: string;
  /** The consumer group every replica reads in, e.g. `kjd`. Created at `startId` by start() when missing. */
  readonly group: string;
  /**
   * Where a group that does not exist yet starts: `$` (entries added from now
   * on), `0` (the whole stream) or an entry id. An existing group's position
   * is never changed.
   * @defaultValue `$`
   */
  readonly startId?: string;
  /** This replica's consumer name; unique per process, stable across restarts if possible. */
  readonly consumer: string;
  /**
   * How long one read waits for a new entry (`XREADGROUP BLOCK`), in ms.
   * Also the longest stop() waits for a read in flight.
   * @defaultValue 2000
   */
  readonly blockMs?: number;
  /**
   * Entries delivered longer ago than this and still unacknowledged are
   * taken over (`XAUTOCLAIM`) from whichever consumer holds them: this is how
   * the entries of a dead replica are recovered. Must be longer than the
   * longest time from next() to ack(), or a slow replica's entry is taken
   * over while it is still being worked on. In ms.
   * @defaultValue 60000
   */
  readonly claimIdleMs?: number;
  /** @defaultValue `${stream}:dead` (slotted layout, a stream without a hash tag: `{${stream}}:dead`) */
  readonly deadLetterStream?: string;
  /**
   * `slotted` on Redis Cluster: the dead-letter stream is derived from, and
   * must share the slot of, the stream (redis-keys.ts).
   * @defaultValue `plain`
   */
  readonly layout?: KeyLayout;
  /** The entry field holding the item. @defaultValue `payload` */
  readonly payloadField?: string;
  /** Told when the group was destroyed while kjd read and had to be made again (where). */
  readonly onGroupRecreated?: (at: string) => void;
}

export type CompiledStreamOptions = Required<Omit<RedisStreamSourceOptions, 'onGroupRecreated'>>;

/** Applies the defaults and rejects a bad value with a `TypeError` naming its field. Never mutates `options`. */
export function compileStreamOptions(options: RedisStreamSourceOptions): CompiledStreamOptions {
  checkConnection('redis', options.redis);
  checkConnection('blockingRedis', options.blockingRedis);
  if (options.redis === options.blockingRedis) {
    throw new TypeError(
      'blockingRedis: must be its own connection, not `redis` (XREADGROUP BLOCK stalls it)',
    );
  }
  for (const field of ['stream', 'group', 'consumer'] as const) checkName(field, options[field]);
  const compiled: CompiledStreamOptions = {
    redis: options.redis,
    blockingRedis: options.blockingRedis,
    stream: options.stream,
    group: options.group,
    consumer: options.consumer,
    blockMs: options.blockMs ?? 2000,
    claimIdleMs: options.claimIdleMs ?? 60_000,
    startId: options.startId ?? '$',
    deadLetterStream:
      options.deadLetterStream ?? streamDeadLetterKey(options.layout ?? 'plain', options.stream),
    payloadField: options.payloadField ?? 'payload',
    layout: options.layout ?? 'plain',
  };
  // BLOCK 0 means "forever": next() could then never return undefined.
  checkPositiveInteger('blockMs', compiled.blockMs);
  checkPositiveInteger('claimIdleMs', compiled.claimIdleMs);
  checkName('deadLetterStream', compiled.deadLetterStream);
  checkName('payloadField', compiled.payloadField);
  if (!/^(\$|0|\d+(-\d+)?)$/.test(compiled.startId))
    throw new TypeError(
      `startId: "$", "0" or an entry id like 1700000000000-0, got ${JSON.stringify(compiled.startId)}`,
    );
  if (compiled.deadLetterStream === compiled.stream) {
    throw new TypeError(`deadLetterStream: must differ from stream "${compiled.stream}"`);
  }
  if (compiled.layout === 'slotted') checkOneSlot(compiled);
  const commandTimeout = commandTimeoutOf(compiled.blockingRedis);
  if (commandTimeout !== undefined && commandTimeout <= compiled.blockMs) {
    throw new TypeError(
      `blockMs: ${compiled.blockMs} ms is not below blockingRedis's commandTimeout (${commandTimeout} ms): every empty read would time out`,
    );
  }
  return compiled;
}

/** Redis Cluster: dead-lettering is one MULTI over the stream and the dead-letter stream. */
function checkOneSlot(o: CompiledStreamOptions): void {
  const problem = slottedKeyProblem(o.stream);
  if (problem !== undefined) throw new TypeError(`stream: ${problem}`);
  if (slotName(o.deadLetterStream) !== slotName(o.stream)) {
    throw new TypeError(
      `deadLetterStream: "${o.deadLetterStream}" must share the hash tag of stream "${o.stream}" ({${slotName(o.stream)}})`,
    );
  }
}

function checkConnection(field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null)
    throw new TypeError(`${field}: must be an ioredis connection`);
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${field}: must be a non-empty string, got ${JSON.stringify(value)}`);
  }
}

function checkPositiveInteger(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${field}: must be a whole number of ms, at least 1, got ${String(value)}`);
  }
}
