// The Redis connections kjd serve opens, with the options that keep it from
// hanging on a Redis that is gone. ioredis's defaults queue every command
// while disconnected and retry it forever (maxRetriesPerRequest null is what
// kjd used to set), with no timeout: stop() then hung on an unreachable
// Redis, and an HTTP status read hung on its result. Here every command has a
// deadline and gives up after a few reconnection attempts; callers retry
// what matters (result writes, takes) on their own terms.
//
// One factory for the three ways to reach Redis: a URL (one server), Redis
// Cluster (ioredis's Cluster follows MOVED and ASK itself and retries
// CLUSTERDOWN and TRYAGAIN), and a Sentinel-managed primary (ioredis asks the
// sentinels where the primary is on every connect).
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { KeyLayout } from './redis-keys.ts';

/** A connection to one server (standalone, Sentinel) or to a cluster: the commands kjd uses exist on both. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Where Redis is: exactly one of the three. */
export type RedisTarget =
  | { readonly url: string }
  | {
      readonly cluster: {
        /** Some of the cluster's nodes; the rest are discovered (CLUSTER SLOTS). */
        readonly nodes: readonly RedisNode[];
        readonly username?: string | undefined;
        readonly password?: string | undefined;
      };
    }
  | {
      readonly sentinel: {
        /** The monitored primary's name (`sentinel monitor <name> …`). */
        readonly name: string;
        readonly sentinels: readonly RedisNode[];
        /** For the data nodes. */
        readonly username?: string | undefined;
        readonly password?: string | undefined;
        /** For the sentinels themselves, when they require one. */
        readonly sentinelPassword?: string | undefined;
      };
    };

/** Redis Cluster needs every key of one script in one slot: the slotted key layout. */
export function layoutFor(target: RedisTarget): KeyLayout {
  return 'cluster' in target ? 'slotted' : 'plain';
}

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
    // A server that turned replica under us (a failover the client has not
    // seen yet) answers writes with READONLY: reconnect, which for Sentinel
    // asks where the primary is now. A command is resent (2) only on an
    // ordinary connection, as below for blocking reads.
    reconnectOnError: (err: Error) => (isReadonly(err) ? (role === 'blocking' ? 1 : 2) : false),
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

export function connectRedis(
  target: RedisTarget,
  role: RedisRole,
  options: RedisConnectionOptions = {},
): RedisClient {
  const redis = open(target, role, options);
  watchForSilence(redis, WATCHDOG_EVERY_MS);
  return redis;
}

function open(target: RedisTarget, role: RedisRole, options: RedisConnectionOptions): RedisClient {
  const base = redisOptions(role, options);
  if ('url' in target) return new Redis(target.url, base);
  if ('sentinel' in target) {
    const s = target.sentinel;
    return new Redis({
      ...base,
      name: s.name,
      sentinels: s.sentinels.map((n) => ({ host: n.host, port: n.port })),
      // A sentinel down or slow: try the next soon, not after the data backoff.
      sentinelRetryStrategy: (times: number) => Math.min(1000, 100 * times),
      // Not ioredis's failoverDetector: a +switch-master that arrives while the
      // connection is being made again ends it for good (status "end", every
      // command then fails "Connection is closed"; measured with ioredis 6.0.0
      // in test/redis/redis-unreplicated-writes.test.ts). A dead primary closes
      // the connection anyway, and a demoted one answers READONLY (above).
      ...credentials(s),
      ...(s.sentinelPassword !== undefined ? { sentinelPassword: s.sentinelPassword } : {}),
    } satisfies RedisOptions);
  }
  const { retryStrategy, enableAutoPipelining, ...perNode } = base;
  return new Cluster(
    target.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      redisOptions: { ...perNode, ...credentials(target.cluster) },
      clusterRetryStrategy: retryStrategy,
      enableAutoPipelining,
      // A replica promoted by a failover, a slot moved: refresh the slot map
      // and retry after these delays, up to maxRedirections times per command.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 100,
      maxRedirections: 16,
    },
  );
}

function credentials(c: { readonly username?: string | undefined; readonly password?: string | undefined }) {
  return {
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
  };
}

/** The command timeout a connection was made with, for either kind. */
export function commandTimeoutOf(redis: RedisClient): number | undefined {
  return redis instanceof Cluster ? redis.options.redisOptions?.commandTimeout : redis.options.commandTimeout;
}

/**
 * Error replies that mean "Redis is changing hands, ask again shortly", not
 * "this command is wrong": a failover or resharding in progress (CLUSTERDOWN,
 * TRYAGAIN, MASTERDOWN), a former primary now a replica (READONLY), a primary
 * short of the replicas min-replicas-to-write asks for (NOREPLICAS), a server
 * still loading its data set (LOADING). MOVED and ASK never get here: ioredis
 * follows them. Callers back off and retry these, and log them quietly.
 */
export function isTransientRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return TRANSIENT_REPLY.test(err.message);
}

const TRANSIENT_REPLY = /^(CLUSTERDOWN|READONLY|TRYAGAIN|LOADING|MASTERDOWN|NOREPLICAS|MOVED|ASK)\b/;

const isReadonly = (err: Error): boolean => err.message.startsWith('READONLY');

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
export function watchForSilence(redis: RedisClient, everyMs: number): void {
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
  redis: RedisClient,
  script: string,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  const withBuffers = redis as unknown as {
    evalBuffer(script: string, numKeys: number, ...rest: (string | number | Buffer)[]): Promise<unknown>;
  };
  return withBuffers.evalBuffer(script, keys.length, ...keys, ...args);
}
