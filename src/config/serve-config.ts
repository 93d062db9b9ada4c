// `kjd serve`'s configuration: one YAML file, then environment overrides, then
// flags; validated once at start. Every problem names its key
// (`routes[1].source.key: required`), all of them in one error.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { slotName, slottedKeyProblem } from '../sources/redis-keys.ts';

export class ConfigError extends KjdError {
  readonly code = 'CONFIG_INVALID';
  readonly category: ErrorCategory = 'configuration';
}

const positiveInt = z.number().int().positive();
/** Seven days: longer than any redelivery kjd makes, and than a Job's usual TTL. */
export const RESULT_TTL_SECONDS = 7 * 86_400;

const listSource = z.strictObject({
  type: z.literal('redis-list'),
  /** The list producers LPUSH items to. */
  key: z.string().min(1),
  /** Default `<key>:dead`. */
  deadLetterKey: z.string().min(1).optional(),
  /** A replica silent this long is dead; its taken items go back to the queue. */
  heartbeatTtlMs: positiveInt.min(300).default(15_000),
});

const streamSource = z.strictObject({
  type: z.literal('redis-stream'),
  stream: z.string().min(1),
  group: z.string().min(1).default('kjd'),
  /**
   * Where the consumer group starts when kjd creates it: `$` (entries added
   * from now on), `0` (the whole stream) or an entry id. An existing group is
   * never moved.
   */
  startId: z
    .string()
    .regex(/^(\$|0|\d+(-\d+)?)$/, '"$", "0" or an entry id')
    .default('$'),
  /** Entries a replica took and did not acknowledge for this long are taken over. */
  claimIdleMs: positiveInt.default(60_000),
  deadLetterStream: z.string().min(1).optional(),
});

/** Items arrive as `POST /v1/jobs?route=<name>` (or as the only HTTP route, without `route`). */
const httpSource = z.strictObject({
  type: z.literal('http'),
  /**
   * Other namespaces a caller may ask for (`POST /v1/jobs?namespace=`): the
   * Job is created there, and the caller needs `create` on Jobs there. Any
   * other namespace is refused (400). Default: none, only the route's own.
   */
  namespaces: z
    .array(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a namespace name'))
    .optional(),
});

const route = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label (lowercase letters, digits, -)'),
  /** Path of the Job template, relative to the config file. */
  template: z.string().min(1),
  /** Default: kubernetes.namespace, else the template's, else the connection's. */
  namespace: z.string().min(1).optional(),
  source: z.discriminatedUnion('type', [listSource, streamSource, httpSource]),
  /**
   * Hand admission to Kueue: Jobs get the kueue.x-k8s.io/queue-name label and
   * start suspended; kjd counts them as queued, not active, until Kueue
   * unsuspends them.
   */
  kueue: z.strictObject({ queueName: z.string().min(1) }).optional(),
  /**
   * Where an item's request id must be unique: routes with the same idScope
   * share ids (one Job for an id sent through either), routes with different
   * ones never do. Default: the route's name.
   */
  idScope: z
    .string()
    .regex(/^[^/\s]{1,128}$/, '1 to 128 characters, no "/" or white space')
    .optional(),
  /**
   * Batch mode: pack up to maxItems items (or what arrives within windowMs of
   * the first) into one Indexed Job, one index per item, each with its own
   * result. Queue routes only: an HTTP caller waits for its own Job.
   */
  batch: z
    .strictObject({
      maxItems: z.number().int().min(1).max(1000).default(50),
      windowMs: z.number().int().min(0).max(60_000).default(100),
      maxBytes: positiveInt.max(1024 * 1024).default(256 * 1024),
      /**
       * Items run one after another in each Pod (opt-in): a Pod's cost is
       * shared by that many items. Each item still gets its own exit code and
       * message; a failed item is not retried (its Pod-mates would run again).
       */
      itemsPerPod: z.number().int().min(1).max(100).default(1),
    })
    .optional(),
});

const node = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
});
const credentials = {
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
};
/**
 * Results, and takes of list items, count only once this many replicas have
 * them (Redis WAIT): what makes a failover lose none of kjd's writes. Unset:
 * no waiting, and a failover may lose the last writes the old primary took
 * (docs/redis.md says which, and what that costs).
 */
const durability = {
  waitForReplicas: z
    .strictObject({ replicas: positiveInt, timeoutMs: positiveInt.max(60_000).default(1000) })
    .optional(),
};

/**
 * Where Redis is, exactly one of: `url` (one server), `cluster` (Redis
 * Cluster: kjd's keys are then laid out per slot, see docs/redis.md), or
 * `sentinel` (a primary whose failover Sentinel manages).
 */
const redisTarget = z.union(
  [
    z.strictObject({ url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'), ...durability }),
    z.strictObject({
      cluster: z.strictObject({ nodes: z.array(node).min(1), ...credentials }),
      ...durability,
    }),
    z.strictObject({
      sentinel: z.strictObject({
        /** The name the sentinels monitor the primary under. */
        name: z.string().min(1),
        sentinels: z.array(node).min(1),
        ...credentials,
        sentinelPassword: z.string().min(1).optional(),
      }),
      ...durability,
    }),
  ],
  {
    error: () =>
      'one of { url: redis://… }, { cluster: { nodes: [{ host, port }, …] } } or { sentinel: { name, sentinels: [{ host, port }, …] } }',
  },
);

export const serveConfigSchema = z.strictObject({
  kubernetes: z
    .strictObject({
      kubeconfig: z.string().optional(),
      context: z.string().optional(),
      namespace: z.string().optional(),
      mode: z.enum(['auto', 'kubeconfig', 'in-cluster']).default('auto'),
      /**
       * `adaptive` (the default): as many requests in flight as the API
       * server answers quickly, found from its latency and 429s
       * (src/kube/pacing.ts). `fixed`: a token bucket of `qps` and `burst`.
       * Setting `qps` or `burst` without `pacing` means `fixed`.
       */
      pacing: z.enum(['adaptive', 'fixed']).optional(),
      /** Fixed pacing: sustained requests per second (default 200). */
      qps: z.number().positive().optional(),
      /** Fixed pacing: requests at once after an idle spell (default 400). */
      burst: positiveInt.optional(),
      /** HTTP/1.1 connections kept to the API server: at most this many requests at once. */
      connections: positiveInt.max(1024).default(128),
      /**
       * Adaptive pacing's ceiling: requests in flight at most (and never more
       * than `connections`). Default 32: on a shared API server a client's
       * share of it follows its requests in flight, so kjd holds no more than
       * the 32 workers of the bench's other tenant (bench/tenant-notes.md).
       * Raise it for an API server kjd has to itself.
       */
      maxInFlight: positiveInt.max(1024).optional(),
      /** A request with no answer (headers, or a gap in the body) for this long fails and is retried. */
      requestTimeoutMs: positiveInt.default(30_000),
      /**
       * A Job watch that sends nothing (not even a bookmark, which the API
       * server sends about once a minute) for this long is taken for dead
       * (a half-open connection) and started again.
       */
      watchIdleSeconds: positiveInt.min(5).default(90),
    })
    .default({
      mode: 'auto',
      connections: 128,
      requestTimeoutMs: 30_000,
      watchIdleSeconds: 90,
    }),
  /**
   * Which kjd release this is (the Helm release name): Jobs carry it as
   * app.kubernetes.io/instance, and a release counts, tracks and cleans up
   * only its own Jobs.
   */
  instance: z
    .string()
    .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a label value (at most 63 characters)')
    .default('kjd'),
  redis: redisTarget,
  http: z
    .strictObject({
      listen: z
        .string()
        .regex(/^[^:]+:\d+$/, 'host:port')
        .default('127.0.0.1:8080'),
      /** Largest request body accepted on /v1 (413 beyond). */
      maxBodyBytes: positiveInt.default(256 * 1024),
      /** Open /v1/events streams at once (503 beyond). */
      maxEventSubscribers: positiveInt.default(100),
      auth: z
        .strictObject({
          /**
           * tokenreview: a bearer token the API server accepts (TokenReview) whose user may
           * create Jobs in the route's namespace (SubjectAccessReview). static: one of `tokens`.
           * none: anyone; only when listening on loopback.
           */
          mode: z.enum(['tokenreview', 'static', 'none']).default('tokenreview'),
          tokens: z.array(z.string().min(16, 'at least 16 characters')).default([]),
          /** TokenReviews and SubjectAccessReviews per second, a budget of their own (not the creates'). */
          reviewQps: z.number().positive().default(50),
          /** Tokens kjd has not seen yet, per client address and second (429 beyond). */
          newTokensPerClientPerSecond: z.number().positive().default(5),
        })
        .default({ mode: 'tokenreview', tokens: [], reviewQps: 50, newTokensPerClientPerSecond: 5 }),
    })
    .default({
      listen: '127.0.0.1:8080',
      maxBodyBytes: 256 * 1024,
      auth: { mode: 'tokenreview', tokens: [], reviewQps: 50, newTokensPerClientPerSecond: 5 },
      maxEventSubscribers: 100,
    }),
  limits: z
    .strictObject({
      maxActiveJobs: positiveInt.default(1000),
      /** Creates sent at once, at most; adaptive pacing usually holds fewer. */
      maxInFlightCreates: positiveInt.default(128),
      maxAttempts: positiveInt.default(5),
      retryBaseMs: positiveInt.default(200),
      /** An item larger than this (bytes) is dead-lettered unread. */
      maxItemBytes: positiveInt.default(1024 * 1024),
      /** Deepest nesting of objects and arrays in an item. */
      maxItemDepth: positiveInt.default(32),
      /** Most object keys plus array elements in one item. */
      maxItemEntries: positiveInt.default(10_000),
    })
    .default({
      maxActiveJobs: 1000,
      maxInFlightCreates: 128,
      maxAttempts: 5,
      retryBaseMs: 200,
      maxItemBytes: 1024 * 1024,
      maxItemDepth: 32,
      maxItemEntries: 10_000,
    }),
  results: z
    .strictObject({
      stream: z.string().min(1).default('kjd:results'),
      hashPrefix: z.string().min(1).default('kjd:result:'),
      /**
       * How long a request's result is kept. It is also how long exactly-once
       * lasts once the Job itself is gone: an item redelivered while its result
       * exists is acknowledged without a second Job. Default 7 days.
       */
      ttlSeconds: positiveInt.default(RESULT_TTL_SECONDS),
      /**
       * What holds an item between its ack and its result, should its Job be
       * deleted while no kjd runs (ADR 0009). `record` (default): a record per
       * Job in Redis, and kjd applies the template's ttlSecondsAfterFinished
       * itself; a Job deleted meanwhile gets a `Deleted` result. `finalizer`:
       * kjd's finalizer on each Job, removed with one PATCH per Job after its
       * result; a delete waits for kjd, and the item gets the Job's real
       * outcome. Batch Jobs always carry the finalizer.
       */
      holdWith: z.enum(['record', 'finalizer']).default('record'),
    })
    .default({
      stream: 'kjd:results',
      hashPrefix: 'kjd:result:',
      ttlSeconds: RESULT_TTL_SECONDS,
      holdWith: 'record',
    }),
  /**
   * Delete finished Jobs this long after they finish (their results are
   * recorded first). Unset: leave it to the template's ttlSecondsAfterFinished.
   */
  cleanup: z
    .strictObject({
      afterSeconds: z
        .number()
        .int()
        .nonnegative()
        .max(366 * 86_400),
      propagation: z.enum(['Background', 'Foreground', 'Orphan']).default('Background'),
    })
    .optional(),
  /** How long stop() lets creates in flight finish. */
  shutdownGraceMs: positiveInt.default(10_000),
  routes: z.array(route).min(1),
});

export type ServeConfig = z.infer<typeof serveConfigSchema>;
export type RouteConfig = ServeConfig['routes'][number];

export interface ConfigOverrides {
  readonly redisUrl?: string;
  readonly listen?: string;
  readonly namespace?: string;
  /** The global --kubeconfig and --context, as every other kjd command takes them. */
  readonly kubeconfig?: string;
  readonly context?: string;
  /** `--insecure-no-auth`: http.auth.mode none (still loopback only). */
  readonly noAuth?: boolean;
}

/** Reads, overrides (KJD_REDIS_URL, KJD_HTTP_LISTEN, KJD_NAMESPACE, then flags) and validates. */
export async function loadServeConfig(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigOverrides = {},
): Promise<ServeConfig> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`, { cause: err });
  }
  const doc = applyOverrides((raw ?? {}) as ConfigDoc, env, flags);
  const result = serveConfigSchema.safeParse(doc);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`${file} is not a valid kjd serve configuration:\n${lines.join('\n')}`);
  }
  checkHttp(file, result.data.http);
  checkBatchRoutes(file, result.data.routes);
  if ('cluster' in result.data.redis) checkClusterKeys(file, result.data);
  const base = dirname(resolve(file));
  const names = new Set<string>();
  for (const r of result.data.routes) {
    if (names.has(r.name)) throw new ConfigError(`${file}: routes: the name "${r.name}" is used twice`);
    names.add(r.name);
    r.template = isAbsolute(r.template) ? r.template : resolve(base, r.template);
  }
  return result.data;
}

type ConfigDoc = Record<string, Record<string, unknown> | undefined>;

function applyOverrides(
  doc: ConfigDoc,
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigOverrides,
): ConfigDoc {
  const redisUrl = flags.redisUrl ?? env.KJD_REDIS_URL;
  const listenOn = flags.listen ?? env.KJD_HTTP_LISTEN;
  const namespace = flags.namespace ?? env.KJD_NAMESPACE;
  const tokens = env.KJD_HTTP_TOKENS?.split(',').filter(Boolean) ?? [];
  const out = { ...doc };
  if (redisUrl !== undefined) out.redis = withUrl(out.redis, redisUrl);
  if (listenOn !== undefined) out.http = { ...out.http, listen: listenOn };
  if (namespace !== undefined) out.kubernetes = { ...out.kubernetes, namespace };
  if (flags.kubeconfig !== undefined)
    out.kubernetes = { ...out.kubernetes, kubeconfig: flags.kubeconfig, mode: 'kubeconfig' };
  if (flags.context !== undefined) out.kubernetes = { ...out.kubernetes, context: flags.context };
  if (tokens.length > 0)
    out.http = { ...out.http, auth: { ...(out.http?.auth as object | undefined), tokens } };
  if (flags.noAuth === true)
    out.http = { ...out.http, auth: { ...(out.http?.auth as object | undefined), mode: 'none' } };
  return out;
}

/** A URL replaces where Redis is (cluster or sentinel included), not how writes wait. */
function withUrl(redis: Record<string, unknown> | undefined, url: string): Record<string, unknown> {
  const wait = redis?.waitForReplicas;
  return { url, ...(wait !== undefined ? { waitForReplicas: wait } : {}) };
}

/** Batch mode reads a queue: an HTTP caller waits for its own Job's answer. */
function checkBatchRoutes(file: string, routes: ServeConfig['routes']): void {
  routes.forEach((r, i) => {
    if (r.batch !== undefined && r.source.type === 'http')
      throw new ConfigError(
        `${file}: routes[${i}].batch: batch mode is for redis-list and redis-stream routes, not http`,
      );
  });
}

/** Rules that span fields: no-auth only on loopback, static mode needs tokens. */
function checkHttp(file: string, http: ServeConfig['http']): void {
  const host = http.listen.slice(0, http.listen.lastIndexOf(':'));
  if (http.auth.mode === 'none' && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new ConfigError(
      `${file}: http.auth.mode: "none" is only allowed when http.listen is on loopback, not ${host}`,
    );
  }
  if (http.auth.mode === 'static' && http.auth.tokens.length === 0) {
    throw new ConfigError(
      `${file}: http.auth.tokens: static mode needs at least one token (or KJD_HTTP_TOKENS)`,
    );
  }
}

/**
 * Redis Cluster: each source key must anchor the keys kjd derives beside it
 * (redis-keys.ts), a configured dead-letter key must share its slot, and an
 * idScope, which becomes the results' hash tag, must be a usable tag.
 */
function checkClusterKeys(file: string, config: ServeConfig): void {
  const problems: string[] = [];
  config.routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    const s = r.source;
    const scope = r.idScope ?? r.name;
    if (/[{}]/.test(scope))
      problems.push(`${at}.idScope: no "{" or "}" with redis.cluster (it is the results' hash tag)`);
    if (s.type === 'http') return;
    const [field, key, deadField, dead] =
      s.type === 'redis-list'
        ? (['key', s.key, 'deadLetterKey', s.deadLetterKey] as const)
        : (['stream', s.stream, 'deadLetterStream', s.deadLetterStream] as const);
    const problem = slottedKeyProblem(key);
    if (problem !== undefined) problems.push(`${at}.source.${field}: ${problem}`);
    else if (dead !== undefined && slotName(dead) !== slotName(key))
      problems.push(
        `${at}.source.${deadField}: "${dead}" must be in the slot of "${key}" with redis.cluster: give it the hash tag {${slotName(key)}}`,
      );
  });
  if (problems.length > 0) {
    throw new ConfigError(
      `${file} is not a valid kjd serve configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc === '' ? String(p) : `${acc}.${String(p)}`),
      '',
    ) || '(top level)'
  );
}
