// `npm run bench -- --scenario e2e [--items 1000] [--repetitions 2] [--pod-ms 100]
//   [--settings defaults,tuned] [--contenders ceiling,kjd,batch,batchPod] [--batch-items 50]
//   [--batch-items-per-pod 10] [--kjd-connections N]
//   [--apiserver-profile DIR [--apiserver-profile-seconds 15]] [--baseline-entry PATH]`:
// items *finished* per second, end to end (issue 16): Jobs whose kwok Pods run
// `pod-ms` and succeed, counted until the result is readable in Redis (kjd) or
// the Job is Complete (the raw creator, which has no results).
//
// Each controller-manager setting gets a cluster of its own, started here:
// `defaults` runs kube-controller-manager with Kubernetes' defaults (5 Job
// sync workers, 20 QPS, burst 30), `tuned` as the harness runs it (20 workers,
// 200 QPS). In each, side by side and in turns:
// - ceiling: the raw creator (Go, client-go, no rate limit) creating every Job
//   at once, then nothing: the bound the Job controller and the rest of the
//   control plane set;
// - kjd: `kjd serve` at its defaults, the items LPUSHed to a list at once;
// - batch: the same with the route's batch mode (Indexed Jobs of up to
//   `batch-items`, gathered within `batch-window-ms`), one index per item;
// - batchPod: batch mode with `batch-items-per-pod` items run one after
//   another in each Pod.
// The CPU each control-plane process spent over each run, per finished item,
// says which component bounds what.
import { writeFile, readFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import type { ControllerManagerTuning } from '../harness/cluster/components.ts';
import { podBehaviourAnnotations } from '../harness/pod-behaviour.ts';
import { repoRoot } from '../harness/paths.ts';
import { ceiling, itemPayload, startKjd, templates, type KjdSettings } from './lib/contenders.ts';
import {
  E2E_RESULTS,
  summarizeE2e,
  type E2eContender,
  type E2eResults,
  type E2eRun,
} from './lib/e2e-report.ts';
import { createNamespace, startEnvironment, type BenchEnvironment } from './lib/environment.ts';
import { stampResults, suffix } from './lib/kjd-alone.ts';
import { mergeIntoLatest } from './lib/scenario-files.ts';
import { JobObserver, now } from './lib/observer.ts';
import { preparePeers, type Peers } from './lib/peers.ts';
import { requestTotals, requestsPerItem } from './lib/request-count.ts';
import { cpuSeconds, memoryMB } from './lib/proc.ts';
import { settle } from './lib/settle.ts';
import { percentiles, round } from './lib/stats.ts';
import { profileApiserver } from './lib/apiserver-profile.ts';

const SETTINGS: Readonly<Record<string, ControllerManagerTuning>> = { defaults: 'upstream', tuned: 'tuned' };
const CONTENDERS: readonly E2eContender[] = ['ceiling', 'kjd', 'batch', 'batchPod', 'kjdBaseline'];

function parseE2eArgs(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      items: { type: 'string', default: '1000' },
      repetitions: { type: 'string', default: '2' },
      'pod-ms': { type: 'string', default: '100' },
      settings: { type: 'string', default: 'defaults,tuned' },
      contenders: { type: 'string', default: 'ceiling,kjd,batch,batchPod' },
      'batch-items': { type: 'string', default: '50' },
      'batch-items-per-pod': { type: 'string', default: '10' },
      'batch-window-ms': { type: 'string', default: '100' },
      'ceiling-workers': { type: 'string', default: '32' },
      // A what-if: kjd's connection pool (and so adaptive pacing's ceiling) other than its default.
      'kjd-connections': { type: 'string' },
      // Another build's bin/kjd.mjs, run as the contender kjdBaseline (README: "To compare two builds").
      'baseline-entry': { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      profile: { type: 'string' },
      // A CPU profile of kube-apiserver over each contender's first N seconds, into DIR.
      'apiserver-profile': { type: 'string' },
      'apiserver-profile-seconds': { type: 'string', default: '15' },
    },
  });
  const int = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name}: an integer >= ${String(min)}, not ${JSON.stringify(values[name])}`);
      process.exit(2);
    }
    return n;
  };
  const options = {
    items: int('items', 1),
    repetitions: int('repetitions', 1),
    podMs: int('pod-ms', 0),
    batchItems: int('batch-items', 2),
    batchItemsPerPod: int('batch-items-per-pod', 2),
    batchWindowMs: int('batch-window-ms', 1),
    ceilingWorkers: int('ceiling-workers', 1),
    kjdConnections: values['kjd-connections'] === undefined ? undefined : int('kjd-connections', 1),
    baselineEntry: values['baseline-entry'],
    apiserverProfile:
      values['apiserver-profile'] === undefined
        ? undefined
        : { dir: values['apiserver-profile'], seconds: int('apiserver-profile-seconds', 1) },
  };
  const settings = listOption(values.settings, Object.keys(SETTINGS), 'settings');
  const contenders = listOption(values.contenders, CONTENDERS, 'contenders') as E2eContender[];
  if (contenders.includes('kjdBaseline') && values['baseline-entry'] === undefined) {
    console.error('--contenders kjdBaseline needs --baseline-entry <another build>/bin/kjd.mjs');
    process.exit(2);
  }
  const nodeArgs = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  return { options: { ...options, nodeArgs }, settings, contenders, out: values.out };
}

export async function runE2eBench(argv: readonly string[]): Promise<void> {
  const { options, settings, contenders, out: outDir } = parseE2eArgs(argv);
  const started = Date.now();
  const log = (m: string) => {
    console.error(`[bench e2e ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  };

  const peers = await preparePeers(log);
  const dir = await mkdtemp(join(tmpdir(), 'kjd-bench-e2e-'));
  const template = join(dir, 'worker.yaml');
  await writeFile(template, await runningTemplate(options.podMs));
  const out: E2eResults = {
    date: new Date().toISOString(),
    machine: `${String(cpus().length)} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
    options: { ...options, contenders },
    settings: {},
  };
  try {
    for (const setting of settings) {
      const tuning = SETTINGS[setting] ?? 'tuned';
      log(`${setting}: a cluster of its own (kube-controller-manager ${tuning})`);
      const env = await startEnvironment(
        { reuse: false, cluster: { name: `bench-e2e-${setting}`, controllerManager: tuning } },
        log,
      );
      try {
        const runs: E2eRun[] = [];
        for (let r = 0; r < options.repetitions; r++) {
          // Each repetition starts with a different contender: none always meets a fresh server.
          const order = [
            ...contenders.slice(r % contenders.length),
            ...contenders.slice(0, r % contenders.length),
          ];
          for (const c of order) {
            await settle(env, 30_000);
            const label = `${setting}-${String(r + 1)}-${c}`;
            const run = await measure(c, { env, peers, template, label }, options, log);
            runs.push(run);
            log(`${setting} ${String(r + 1)}/${String(options.repetitions)} ${c}: ${describe(run)}`);
          }
        }
        out.settings[setting] = { controllerManager: tuning, runs };
      } finally {
        await env.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  out.summary = summarizeE2e(out);
  await writeFile(join(outDir, E2E_RESULTS), JSON.stringify(out, null, 2) + '\n');
  await mergeE2eIntoLatest(join(outDir, 'latest.json'), out);
  log(`wrote ${E2E_RESULTS}; summary ${JSON.stringify(out.summary)}`);
}

function listOption(given: string, known: readonly string[], name: string): string[] {
  const list = given.split(',').filter((s) => s !== '');
  const unknown = list.filter((s) => !known.includes(s));
  if (list.length === 0 || unknown.length > 0) {
    console.error(`--${name}: one or more of ${known.join(', ')}; not ${unknown.join(', ') || '(none)'}`);
    process.exit(2);
  }
  return list;
}

/** The bench's running template with kwok Pods that run `podMs` and succeed. */
async function runningTemplate(podMs: number): Promise<string> {
  const doc = parseDocument(await readFile(templates.runs, 'utf8'));
  for (const [k, v] of Object.entries(podBehaviourAnnotations({ runMs: podMs }))) {
    doc.setIn(['spec', 'template', 'metadata', 'annotations', k], v);
  }
  return doc.toString();
}

interface Ctx {
  readonly env: BenchEnvironment;
  readonly peers: Peers;
  readonly template: string;
  /** Names this run's files, e.g. `tuned-1-kjd`. */
  readonly label: string;
}

interface Options {
  readonly items: number;
  readonly batchItems: number;
  readonly batchItemsPerPod: number;
  readonly batchWindowMs: number;
  readonly ceilingWorkers: number;
  readonly kjdConnections: number | undefined;
  readonly baselineEntry: string | undefined;
  readonly apiserverProfile: { readonly dir: string; readonly seconds: number } | undefined;
  /** Node.js flags for kjd, e.g. --cpu-prof (`--profile DIR`). */
  readonly nodeArgs: readonly string[];
}

/** One contender, one repetition: every item in at once, until every item is finished. */
async function measure(c: E2eContender, ctx: Ctx, o: Options, log: (m: string) => void): Promise<E2eRun> {
  const { env } = ctx;
  const ns = await createNamespace(env, `e2e-${c.toLowerCase()}-${suffix()}`);
  const observer = new JobObserver(env.admin, ns.name);
  await observer.start();
  const ids = Array.from({ length: o.items }, (_, i) => `i${String(i)}`);
  const limitMs = 60_000 + o.items * 200;
  const done = new Map<string, number>();
  let pid: number;
  let stop: () => Promise<void>;
  let feed: () => Promise<void>;
  let finished: () => Promise<void>;
  if (c === 'ceiling') {
    const running = await ceiling(o.ceilingWorkers).start(ns, { ...ctx, template: ctx.template }, o.items);
    pid = running.process.pid;
    stop = () => running.stop();
    feed = async () => {
      await running.feed(ids);
    };
    finished = () =>
      observer.until(() => observer.finished.size >= o.items, limitMs, `${String(o.items)} Jobs finished`);
  } else {
    const queue = `bench:${ns.name}:queue`;
    const settings: KjdSettings = {
      nodeArgs: o.nodeArgs,
      ...routeFor(c, o),
      ...(o.kjdConnections !== undefined ? { kubernetes: { connections: o.kjdConnections } } : {}),
      ...(c === 'kjdBaseline' && o.baselineEntry !== undefined ? { entry: o.baselineEntry } : {}),
    };
    const kjd = await startKjd(ns, ctx, settings, queue, ctx.template);
    const reader = env.redis.duplicate();
    const reading = stampResults(reader, kjd.resultsStream, done, o.items, limitMs);
    pid = kjd.process.pid;
    stop = async () => {
      reader.disconnect();
      await kjd.process.stop();
    };
    feed = async () => {
      for (let i = 0; i < ids.length; i += 100) {
        await env.redis.lpush(queue, ...ids.slice(i, i + 100).map(itemPayload));
      }
    };
    finished = () => reading;
  }
  const pids = { ...env.componentPids, contender: pid };
  const requests0 = await requestTotals(env);
  const cpu0 = cpuOf(pids);
  const t0 = now();
  const profiling = startProfile(env, o, ctx.label, log);
  try {
    await feed();
    await finished().catch((err: unknown) => {
      log(`${c}: ${(err as Error).message}`);
    });
    if (c === 'ceiling') for (const [name, at] of observer.finished) done.set(name, at);
    const [t1, cpu, rss] = [now(), cpuOf(pids), memoryMB(pid).peak];
    const requests = requestsPerItem(requests0, await requestTotals(env), done.size);
    await Promise.all([sleep(1000), profiling]); // a late duplicate would show up in that second
    const last = Math.max(...done.values());
    const wall = (last - t0) / 1000;
    const cpuPerItem = (name: string) =>
      round((((cpu[name] ?? 0) - (cpu0[name] ?? 0)) * 1000) / Math.max(1, done.size), 2);
    return {
      contender: c,
      items: o.items,
      finished: done.size,
      jobs: observer.created.size,
      itemsPerSecond: round(done.size / wall, 1),
      wallSeconds: round((t1 - t0) / 1000, 2),
      enqueueToDoneMs: percentiles([...done.values()].map((at) => at - t0)),
      cpuMsPerItem: Object.fromEntries(Object.keys(pids).map((k) => [k, cpuPerItem(k)])),
      contenderPeakRssMB: round(rss, 1),
      requestsPerItem: requests,
    };
  } finally {
    await stop();
    await observer.stop();
    await ns.remove();
  }
}

/** `--apiserver-profile`: the API server's CPU profile over the run's start, never failing the run. */
async function startProfile(env: BenchEnvironment, o: Options, label: string, log: (m: string) => void) {
  if (o.apiserverProfile === undefined) return;
  const file = join(o.apiserverProfile.dir, `${label}.pb.gz`);
  await profileApiserver(env, o.apiserverProfile.seconds, file).catch((err: unknown) => {
    log(`${label}: the API server's profile failed: ${(err as Error).message}`);
  });
}

/** The bench route's batch settings for the batch contenders. */
function routeFor(c: E2eContender, o: Options): Pick<KjdSettings, 'route'> {
  if (c !== 'batch' && c !== 'batchPod') return {};
  const itemsPerPod = c === 'batchPod' ? o.batchItemsPerPod : 1;
  return { route: { batch: { maxItems: o.batchItems, windowMs: o.batchWindowMs, itemsPerPod } } };
}

function cpuOf(pids: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => {
      try {
        return [name, cpuSeconds(pid)];
      } catch {
        return [name, 0];
      }
    }),
  );
}

function describe(r: E2eRun): string {
  const api = r.cpuMsPerItem['kube-apiserver'] ?? 0;
  return `${String(r.finished)}/${String(r.items)} finished, ${String(r.jobs)} Jobs, ${String(r.itemsPerSecond)} items/s, API server ${String(api)} ms CPU/item`;
}

/** latest.json keeps its fields and gains `endToEnd` (issue 16's names). */
export async function mergeE2eIntoLatest(file: string, r: E2eResults): Promise<void> {
  await mergeIntoLatest(file, 'endToEnd', (previous) => ({
    ...(previous as object | undefined),
    ...r.summary,
  }));
}
