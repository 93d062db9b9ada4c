// The Redis connections kjd serve opens, with the options that keep it from
// hanging on a Redis that is gone. ioredis's defaults queue every command
// while disconnected and retry it forever (maxRetriesPerRequest null is what
// kjd used to set), with no timeout: stop() then hung on an unreachable
// Redis, and an HTTP status read hung on its result. Here every command has a
// deadline and gives up after a few reconnection attempts; callers retry
// what matters (result writes, takes) on their own terms.
import { Redis } from 'ioredis';

export type RedisRole =
  /** Ordinary commands: acks, scripts, result writes. */
  | 'commands'
  /** One blocking read at a time (BLMOVE, XREADGROUP BLOCK), for one source. */
  | 'blocking';

export interface RedisConnectionOptions {
  /** A command without an answer this long fails. Default 5000 ms (blocking: blockMs + 5000). */
  readonly commandTimeoutMs?: number;
  /** For a blocking connection: the longest block a command asks for. Default 2000 ms. */
  readonly blockMs?: number;
}

/** Fails a command after this many reconnection attempts while it waited. */
const RETRIES_PER_COMMAND = 2;

export function redisOptions(role: RedisRole, options: RedisConnectionOptions = {}) {
  const blockMs = options.blockMs ?? 2000;
  return {
    commandTimeout: options.commandTimeoutMs ?? (role === 'blocking' ? blockMs + 5000 : 5000),
    maxRetriesPerRequest: RETRIES_PER_COMMAND,
    // Backoff between reconnection attempts: 100 ms doubling to 2 s.
    retryStrategy: (times: number) => Math.min(2000, 100 * 2 ** Math.min(times, 5)),
    // A blocking read resent after a reconnect could take an item nobody waits
    // for any more (BLMOVE moves it into the processing list): never resend.
    autoResendUnfulfilledCommands: role !== 'blocking',
    // Auto-pipelining: commands issued in the same tick (acks, takes, results of
    // many items at once) go out in one write; under load that halves the syscalls.
    enableAutoPipelining: role === 'commands',
  };
}

export function connectRedis(url: string, role: RedisRole, options: RedisConnectionOptions = {}): Redis {
  const redis = new Redis(url, redisOptions(role, options));
  watchForSilence(redis, WATCHDOG_EVERY_MS);
  return redis;
}

/** How often a connection is pinged; two unanswered pings in a row and it is dropped and made again. */
const WATCHDOG_EVERY_MS = 5000;

/**
 * A command timeout fails the command but keeps the socket: behind a
 * half-open connection (no data, no FIN) every later command would time out
 * too, for ever. TCP keepalive does not help when something in between still
 * answers for the peer. So each connection is pinged, and one that misses
 * two pings in a row is dropped and reconnected (measured: a half-open proxy
 * otherwise held kjd's Redis connections dead indefinitely).
 */
export function watchForSilence(redis: Redis, everyMs: number): void {
  let misses = 0;
  const timer = setInterval(() => {
    if (redis.status !== 'ready') return;
    redis.ping().then(
      () => {
        misses = 0;
      },
      () => {
        misses++;
        if (misses < 2) return;
        misses = 0;
        redis.disconnect(true);
      },
    );
  }, everyMs);
  timer.unref();
  redis.once('end', () => {
    clearInterval(timer);
  });
}

/**
 * EVAL with the reply as bytes. ioredis has evalBuffer at run time but not in
 * its types, and callBuffer('EVAL', …) loses the command name on a connection
 * with auto-pipelining (measured with ioredis 6.0.0): this is the one place
 * that works around both.
 */
export async function evalBuffer(
  redis: Redis,
  script: string,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  const withBuffers = redis as unknown as {
    evalBuffer(script: string, numKeys: number, ...rest: (string | number | Buffer)[]): Promise<unknown>;
  };
  return withBuffers.evalBuffer(script, keys.length, ...keys, ...args);
}
