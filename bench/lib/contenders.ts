// The six ways of turning the same items into the same Jobs that the
// benchmark compares. Each starts in its own namespace under its own
// ServiceAccount (as in a Pod), waits for items, and is stopped afterwards.
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePorts } from '../../harness/net.ts';
import { repoRoot } from '../../harness/paths.ts';
import { requestKey } from '../../src/kube/labels.ts';
import { jobNameFor } from '../../src/template/names.ts';
import type { BenchEnvironment, BenchNamespace } from './environment.ts';
import { now } from './observer.ts';
import type { Peers } from './peers.ts';
import { spawnContender, type Contender } from './proc.ts';
import type { ContenderName } from './results.ts';

export interface ContenderContext {
  readonly env: BenchEnvironment;
  readonly peers: Peers;
  /** The Job template every contender fills (metadata.name `worker`). */
  readonly template: string;
}

export interface RunningContender {
  readonly process: Contender;
  /** kjd's HTTP address (/metrics), for the contenders that serve one. */
  readonly url?: string;
  /** Hands every item over; returns when each was handed over (ms), by item id. */
  feed(ids: readonly string[]): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

export interface ContenderSpec {
  readonly name: ContenderName;
  readonly label: string;
  /** The Job name this contender gives item `id`. */
  jobName(id: string): string;
  start(ns: BenchNamespace, ctx: ContenderContext, items: number): Promise<RunningContender>;
}

/** An item as a producer LPUSHes it (seed 001's shape, with an id). */
export const itemPayload = (id: string): string => JSON.stringify({ id, CUSTOM_ID: id });

const peerJobName = (id: string) => `worker-${id}`;

/** LPUSHes in chunks: items are taken as they arrive, each stamped when its chunk was sent. */
async function pushItems(ctx: ContenderContext, queue: string, ids: readonly string[]) {
  const sent = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const t = now();
    for (const id of chunk) sent.set(id, t);
    await ctx.env.redis.lpush(queue, ...chunk.map(itemPayload));
  }
  return sent;
}

function queueContender(
  start: (
    ns: BenchNamespace,
    ctx: ContenderContext,
    queue: string,
  ) => Promise<{ readonly process: Contender; readonly url?: string }>,
) {
  return async (ns: BenchNamespace, ctx: ContenderContext): Promise<RunningContender> => {
    const queue = `bench:${ns.name}:queue`;
    const { process, url } = await start(ns, ctx, queue);
    return {
      process,
      ...(url !== undefined ? { url } : {}),
      feed: (ids) => pushItems(ctx, queue, ids),
      stop: () => process.stop(),
    };
  };
}

export const seed000: ContenderSpec = {
  name: 'seed000',
  label: 'seed 000 style (Go client-go, clientset per item)',
  jobName: peerJobName,
  start: queueContender(async (ns, ctx, queue) => {
    const redis = new URL(ctx.env.redisUrl);
    const process = await spawnContender(
      ctx.peers.seed000,
      ['-sa-dir', ns.serviceAccountDir, '-worker-job', ctx.template, '-queue', queue, '-redis', redis.host],
      { env: ns.podEnv },
    );
    return { process };
  }),
};

export const seed001: ContenderSpec = {
  name: 'seed001',
  label: 'seed 001 style (Python kubernetes)',
  jobName: peerJobName,
  start: queueContender(async (ns, ctx, queue) => ({
    process: await spawnContender(
      ctx.peers.python,
      [ctx.peers.seed001Script, ns.serviceAccountDir, ctx.template, queue, ctx.env.redisUrl],
      { env: ns.podEnv },
    ),
  })),
};

export function ceiling(workers: number): ContenderSpec {
  return {
    name: 'ceiling',
    label: `ceiling (Go client-go, ${String(workers)} workers, no rate limit)`,
    jobName: peerJobName,
    async start(ns, ctx, items) {
      const process = await spawnContender(
        ctx.peers.ceiling,
        [
          '-sa-dir', ns.serviceAccountDir, '-worker-job', ctx.template,
          '-items', String(items), '-workers', String(workers), '-prefix', 'i',
        ], // prettier-ignore
        { env: ns.podEnv },
      );
      return toldToGo(process);
    },
  };
}

/** A creator that holds every item from the start and begins on a line on stdin (the Go and Node peers). */
function toldToGo(process: Contender): RunningContender {
  return {
    process,
    feed(ids) {
      // All items "arrive" at once: the moment the creator is told to go.
      const t = now();
      process.child.stdin?.write('go\n');
      return Promise.resolve(new Map(ids.map((id) => [id, t])));
    },
    stop: () => process.stop(),
  };
}

/**
 * kjd's renderer and transport alone (bench/peers/node/creator.ts): the same
 * Jobs as kjd's, created 128 at a time, without its queue, bookkeeping or
 * watch. What kjd adds over this is what its guarantees cost.
 */
export function kjdFloor(workers = 128): ContenderSpec {
  return {
    name: 'kjdFloor',
    label: `floor: kjd's render and transport alone (Node, ${String(workers)} in flight)`,
    jobName: kjdJobName,
    async start(ns, ctx, items) {
      const process = await spawnContender(
        globalThis.process.execPath,
        [
          ...IMAGE_NODE_FLAGS, join(repoRoot, 'bench', 'peers', 'node', 'creator.ts'),
          '--sa-dir', ns.serviceAccountDir, '--worker-job', ctx.template, '--items', String(items),
          '--workers', String(workers), '--prefix', 'i', '--route', KJD_ROUTE, '--instance', ns.name,
        ], // prettier-ignore
        { env: ns.podEnv },
      );
      return toldToGo(process);
    },
  };
}

/** The route every bench kjd runs; its name is the request ids' scope (idScope). */
export const KJD_ROUTE = 'bench';

/** The Job kjd makes for request `id` on the bench's route: as kjd names it, scope included. */
export const kjdJobName = (id: string): string => jobNameFor('worker', requestKey(id, KJD_ROUTE));

/** `kjd serve` settings under test; everything else is kjd's default. */
export interface KjdSettings {
  readonly kubernetes?: {
    readonly qps?: number;
    readonly burst?: number;
    readonly connections?: number;
    readonly maxInFlight?: number;
  };
  readonly limits?: Readonly<Record<string, number>>;
  readonly logLevel?: string;
  /** Extra Node.js flags, e.g. --cpu-prof (`npm run bench -- --profile DIR`). */
  readonly nodeArgs?: readonly string[];
  /** Extra settings of the bench's route, e.g. `batch`. */
  readonly route?: Readonly<Record<string, unknown>>;
  /** Another build's `bin/kjd.mjs`, to compare two builds side by side. @default this checkout's */
  readonly entry?: string;
}

export function kjd(name: 'kjd' | 'kjdDefault', label: string, settings: KjdSettings): ContenderSpec {
  return {
    name,
    label,
    jobName: kjdJobName,
    start: queueContender((ns, ctx, queue) => startKjd(ns, ctx, settings, queue)),
  };
}

export interface KjdProcess {
  readonly process: Contender;
  readonly url: string;
  readonly resultsStream: string;
  /** When the process was spawned, and when /readyz first answered 200 (ms). */
  readonly spawnedAt: number;
  readonly readyAt: number;
}

/** `kjd serve` with one Redis-list route into `ns` (and `template`), in-cluster as in a Pod. */
export async function startKjd(
  ns: BenchNamespace,
  ctx: Pick<ContenderContext, 'env' | 'template'>,
  settings: KjdSettings,
  queue: string,
  template = ctx.template,
): Promise<KjdProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'kjd-bench-serve-'));
  const [port = 0] = await freePorts(1);
  const resultsStream = `bench:${ns.name}:results`;
  const config = {
    // A release of its own per run, as each Helm release is: its in-flight records (ADR 0009) are
    // its own, not the sum of every earlier run's (their suspended Jobs never finish).
    instance: ns.name,
    kubernetes: { mode: 'in-cluster', namespace: ns.name, ...settings.kubernetes },
    redis: { url: ctx.env.redisUrl },
    http: { listen: `127.0.0.1:${String(port)}`, auth: { mode: 'none' } },
    ...(settings.limits !== undefined ? { limits: settings.limits } : {}),
    results: { stream: resultsStream, hashPrefix: `bench:${ns.name}:result:` },
    routes: [{ name: KJD_ROUTE, template, source: { type: 'redis-list', key: queue }, ...settings.route }],
  };
  await writeFile(join(dir, 'kjd.yaml'), stringify(config));
  const args = [
    ...IMAGE_NODE_FLAGS,
    ...(settings.nodeArgs ?? []),
    settings.entry ?? join(repoRoot, 'bin', 'kjd.mjs'),
    'serve',
    '--config',
    join(dir, 'kjd.yaml'),
  ];
  if (settings.logLevel !== undefined) args.push('--log-level', settings.logLevel);
  const spawnedAt = now();
  const process = await spawnContender(globalThis.process.execPath, args, {
    env: ns.podEnv,
    readyLine: null,
  });
  const url = `http://127.0.0.1:${String(port)}`;
  const readyAt = await waitReady(url, process, 60_000);
  return { process, url, resultsStream, spawnedAt, readyAt };
}

async function waitReady(url: string, process: Contender, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return now();
    if (process.child.exitCode !== null) throw new Error(`kjd serve exited: ${process.stderr()}`);
    await sleep(5);
  }
  throw new Error(`kjd serve not ready after ${String(timeoutMs)} ms: ${process.stderr()}`);
}

/**
 * kjd runs as the chart deploys it: with the Node flags of the image's
 * ENTRYPOINT (Dockerfile) and the chart's default `nodeOptions` (values.yaml,
 * which the Deployment puts in NODE_OPTIONS).
 */
const IMAGE_NODE_FLAGS: readonly string[] = (() => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  const argv = entry === undefined ? [] : (JSON.parse(entry) as string[]);
  const values = readFileSync(join(repoRoot, 'deploy', 'helm', 'kube-job-dispatcher', 'values.yaml'), 'utf8');
  const chart = /^nodeOptions: '([^']*)'$/m.exec(values)?.[1] ?? '';
  return [...argv.filter((a) => a.startsWith('--')), ...chart.split(/\s+/).filter(Boolean)];
})();

export const templates = {
  /** Suspended: measures creating Jobs, not the Job controller making Pods. */
  suspended: join(repoRoot, 'bench', 'templates', 'worker-suspended.yaml'),
  /** Runs: kwok Pods that succeed at once, for enqueue -> Complete. */
  runs: join(repoRoot, 'bench', 'templates', 'worker-runs.yaml'),
};
