// `npm run bench -- --scenario keda [--items 30] [--work-ms 4000] [--init-ms 2000] [--trickle-ms 3000]`:
// kjd against KEDA's ScaledJob on the same cluster, with the same items, the
// workers really running on the real node (issue 14; docs/benchmarks.md).
//
// Both run the same worker (bench/peers/go/queue-worker), mounted into
// localhost/kjd-worker:local. In KEDA's model the Job pops its own item from
// the Redis list; in kjd's, kjd pops it and passes it as an argument. Each
// worker reports on start (its clock, its Pod, its item or "-" when it found
// the list empty), works `work-ms`, and exits. Before it takes its item it
// initialises for `init-ms`, as a real worker loads its code and connects
// first: the window in which KEDA sees the item still queued. Each Pod requests 600m of the
// node's 2 CPUs, so 3 run at once and the rest sit Pending: the setting of
// KEDA's best-known complaint (a Job per poll for items whose Jobs are still
// Pending).
//
// Counted from the cluster and Redis: the Jobs (a ledger listing every
// 500 ms, as owners delete finished Jobs), the reports, what is left in the
// list. API requests are the API server's own count
// (apiserver_flowcontrol_dispatched_requests_total) under a FlowSchema that
// matches only the contender's ServiceAccount. Needs `npm run cluster:up`
// (as root, so the real node runs) and `npm run keda:build`.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { kedaArtifacts } from '../harness/keda/artifacts.ts';
import { installCrds } from '../harness/crds.ts';
import { startKedaOperator, type KedaOperator } from '../harness/keda/operator.ts';
import { createScaledJob, deleteScaledJob, redisListScaledJob } from '../harness/keda/scaledjob.ts';
import { repoRoot } from '../harness/paths.ts';
import { apiPath } from '../src/kube/client.ts';
import { startKjd } from './lib/contenders.ts';
import {
  KEDA_RESULTS,
  readKedaResults,
  writeKedaSvg,
  type Figures,
  type KedaResults,
} from './lib/keda-report.ts';
import { readResults, writeReport } from './report.ts';
import { podTemplate, requireRealNode } from './lib/h2h-pod.ts';
import { countRequestsOf, serviceAccountKubeconfig } from './lib/request-count.ts';
import {
  createNamespace,
  startEnvironment,
  type BenchEnvironment,
  type BenchNamespace,
} from './lib/environment.ts';
import { figuresOf, parseReport, tally, type RunTally } from './lib/keda-tally.ts';
import { preparePeers } from './lib/peers.ts';
import { KubeConfig } from '@kubernetes/client-node';

interface KedaSetting {
  readonly name: string;
  readonly pollingInterval: number;
  readonly scalingStrategy?: string;
  readonly pendingPodConditions?: readonly string[];
}

/**
 * KEDA's defaults, then what its docs recommend for Jobs that pop their own
 * item: a short polling interval, and the `accurate` strategy with
 * pendingPodConditions, so Jobs whose Pods are not yet Ready count against
 * the queue.
 */
const KEDA_SETTINGS: readonly KedaSetting[] = [
  { name: 'defaults (pollingInterval 30 s, strategy default)', pollingInterval: 30 },
  { name: 'pollingInterval 1 s, strategy default', pollingInterval: 1 },
  {
    name: 'pollingInterval 1 s, strategy accurate, pendingPodConditions [PodScheduled, Ready]',
    pollingInterval: 1,
    scalingStrategy: 'accurate',
    pendingPodConditions: ['PodScheduled', 'Ready'],
  },
];

interface Scenario {
  readonly name: 'burst-while-pending' | 'trickle' | 'trickle-over-capacity';
  readonly describe: string;
  /** When each item is pushed, ms after the run starts. */
  readonly schedule: (i: number) => number;
}

/** The options, checked once: a typo fails at once, not after minutes of running. */
function benchOptions(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      items: { type: 'string', default: '30' },
      'work-ms': { type: 'string', default: '4000' },
      'init-ms': { type: 'string', default: '2000' },
      'trickle-ms': { type: 'string', default: '3000' },
      only: { type: 'string', default: 'burst-while-pending,trickle,trickle-over-capacity' },
      // `kjd`: run kjd again and keep the last KEDA figures of each scenario.
      contenders: { type: 'string', default: 'kjd,keda' },
      // Also run kjd with limits.maxActiveJobs at each of these (e.g. 3,5: the node's capacity and a little more).
      'kjd-max-active-jobs': { type: 'string' },
      out: { type: 'string', default: KEDA_RESULTS },
    },
  });
  const items = Number(values.items);
  const workMs = Number(values['work-ms']);
  const initMs = Number(values['init-ms']);
  const trickleMs = Number(values['trickle-ms']);
  for (const [k, v] of Object.entries({
    items,
    'work-ms': workMs,
    'trickle-ms': trickleMs,
    'init-ms': initMs + 1,
  }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: a positive integer, not ${String(v)}`);
  const kjdMaxActiveJobs = (values['kjd-max-active-jobs'] ?? '')
    .split(',')
    .filter((v) => v !== '')
    .map(Number);
  if (kjdMaxActiveJobs.some((n) => !(Number.isInteger(n) && n > 0)))
    throw new Error(`--kjd-max-active-jobs: positive integers, not ${String(values['kjd-max-active-jobs'])}`);
  const contenders = values.contenders.split(',');
  if (!contenders.includes('kjd')) throw new Error('--contenders: kjd is always run (the baseline)');
  return {
    items,
    workMs,
    initMs,
    trickleMs,
    only: values.only.split(','),
    out: values.out,
    runKeda: contenders.includes('keda'),
    kjdMaxActiveJobs,
  };
}

export async function runKedaBench(argv: readonly string[]): Promise<void> {
  const { items, workMs, initMs, trickleMs, only, out, runKeda, kjdMaxActiveJobs } = benchOptions(argv);
  const started = Date.now();
  const log = (m: string) =>
    process.stderr.write(`[keda ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);

  const artifacts = await kedaArtifacts();
  const peers = await preparePeers(log);
  const env = await startEnvironment({ reuse: true }, log);
  try {
    await requireRealNode(env);
    const kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfigPath);
    await installCrds(kc, artifacts.crdDir);
    const scenarios = scenariosOf({ items, initMs, workMs, trickleMs }).filter((s) => only.includes(s.name));
    const results: KedaResults['scenarios'][number][] = [];
    for (const scenario of scenarios) {
      const run = (contender: Contender) =>
        runOnce({
          env,
          kc,
          scenario,
          items,
          workMs,
          initMs,
          worker: peers.queueWorker,
          artifacts,
          contender,
          log,
        });
      const kjd = await run({ kind: 'kjd' });
      const kjdSettingsTried = [];
      for (const maxActiveJobs of kjdMaxActiveJobs)
        kjdSettingsTried.push({
          setting: `limits.maxActiveJobs ${String(maxActiveJobs)}`,
          ...figuresOf(await run({ kind: 'kjd', maxActiveJobs })),
        });
      const keda = runKeda ? await runKedaSettings(run) : await lastKedaFigures(out, scenario.name);
      results.push({
        name: scenario.name,
        describe: scenario.describe,
        items,
        workMs,
        initMs,
        kjd: figuresOf(kjd),
        ...(kjdSettingsTried.length > 0 ? { kjdSettingsTried } : {}),
        ...keda,
      });
    }
    const doc = {
      date: new Date().toISOString(),
      keda: 'github.com/kedacore/keda/v2 v2.21.0 (operator built from the module, npm run keda:build)',
      node: 'one real node (containerd + runc), 2 CPUs, Pods request 600m: 3 at once',
      // A run of some scenarios (--only) keeps the others' last figures.
      scenarios: [
        ...((await readKedaResults(out))?.scenarios ?? []).filter((old) =>
          results.every((r) => r.name !== old.name),
        ),
        ...results,
      ],
    };
    await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
    log(`wrote ${out}`);
    if (out === KEDA_RESULTS) {
      // docs/benchmarks.md is rendered whole from latest.json, now with this section.
      const docs = join(repoRoot, 'docs');
      await writeKedaSvg(doc, docs);
      await writeReport(await readResults(join(repoRoot, 'bench', 'results', 'latest.json')), docs);
      log('wrote docs/benchmarks.md and docs/keda.svg');
    }
  } finally {
    await env.stop();
  }
}

function scenariosOf(o: { items: number; initMs: number; workMs: number; trickleMs: number }): Scenario[] {
  const workers = `workers initialise ${String(o.initMs)} ms, work ${String(o.workMs)} ms`;
  return [
    {
      name: 'burst-while-pending',
      describe: `${String(o.items)} items pushed at once; 3 Pods fit on the node, the rest sit Pending; ${workers}`,
      schedule: () => 0,
    },
    {
      name: 'trickle',
      describe: `${String(o.items)} items, one every ${String(o.trickleMs)} ms (within the node's capacity); ${workers}`,
      schedule: (i) => i * o.trickleMs,
    },
    {
      // 3 Pods of ~7 s each finish ~0.43 items/s: one item every 2 s outruns them.
      name: 'trickle-over-capacity',
      describe: `${String(o.items)} items, one every 2000 ms (a little more than the node finishes); ${workers}`,
      schedule: (i) => i * 2000,
    },
  ];
}

type KedaFigures = Pick<KedaResults['scenarios'][number], 'keda' | 'kedaSettingsTried'>;

/** Every KEDA setting; KEDA's row is its best: fewest duplicates, then the lowest p50. */
async function runKedaSettings(run: (c: Contender) => Promise<RunTally>): Promise<KedaFigures> {
  const tried: (Figures & { setting: string })[] = [];
  for (const setting of KEDA_SETTINGS)
    tried.push({ setting: setting.name, ...figuresOf(await run({ kind: 'keda', setting })) });
  const best = [...tried].sort((a, b) => a.duplicates - b.duplicates || a.p50StartMs - b.p50StartMs)[0];
  if (best === undefined) throw new Error('no KEDA setting was run');
  return { keda: best, kedaSettingsTried: tried };
}

async function lastKedaFigures(file: string, scenario: string): Promise<KedaFigures> {
  const last = (await readKedaResults(file))?.scenarios.find((s) => s.name === scenario);
  if (last === undefined)
    throw new Error(`--contenders kjd: ${file} has no KEDA figures for ${scenario} yet`);
  return { keda: last.keda, kedaSettingsTried: last.kedaSettingsTried };
}

type Contender = { kind: 'kjd'; maxActiveJobs?: number } | { kind: 'keda'; setting: KedaSetting };

interface RunOptions {
  readonly env: BenchEnvironment;
  readonly kc: KubeConfig;
  readonly scenario: Scenario;
  readonly items: number;
  readonly workMs: number;
  readonly initMs: number;
  readonly worker: string;
  readonly artifacts: Awaited<ReturnType<typeof kedaArtifacts>>;
  readonly contender: Contender;
  readonly log: (m: string) => void;
}

async function runOnce(o: RunOptions): Promise<RunTally> {
  const { env, contender } = o;
  const tag = contender.kind === 'kjd' ? 'kjd' : `keda${String(KEDA_SETTINGS.indexOf(contender.setting))}`;
  const ns = await createNamespace(env, `h2h-${tag}-${randomBytes(3).toString('hex')}`);
  const list = `h2h:${ns.name}:items`;
  const report = `h2h:${ns.name}:report`;
  const dir = await mkdtemp(join(tmpdir(), 'kjd-h2h-'));
  const flowSchema = await countRequestsOf(env, ns);
  let stopContender: () => Promise<void> = () => Promise.resolve();
  try {
    stopContender = await startContender(o, ns, dir, list, report);
    await sleep(2_000); // the contender has settled into its steady watches / polls
    // The FlowSchema must be counting the contender's requests before the baseline is read.
    for (let i = 0; (await flowSchema.dispatched()) === 0; i++) {
      if (i === 50) throw new Error(`FlowSchema h2h-${ns.name} counted none of ${tag}'s requests in 10 s`);
      await sleep(200);
    }
    const requestsBefore = await flowSchema.dispatched();
    const { enqueuedAtMs, jobs } = await produceAndObserve(o, ns, list, report);
    const requests = (await flowSchema.dispatched()) - requestsBefore;
    const t = tally({
      enqueuedAtMs,
      jobs,
      reports: (await env.redis.lrange(report, 0, -1)).map(parseReport),
      leftInQueue: await env.redis.llen(list),
      requests,
    });
    o.log(
      `${o.scenario.name} / ${contender.kind === 'kjd' ? 'kjd' : contender.setting.name}: ${String(t.items)} items -> ${String(t.jobs)} Jobs, ` +
        `${String(t.duplicates)} duplicates (${String(t.emptyPops)} empty pops, ${String(t.workedTwice)} worked twice), ${String(t.lost)} lost, ` +
        `start p50 ${String(t.p50StartMs)} ms p99 ${String(t.p99StartMs)} ms, ${String(t.requestsPerItem)} API requests/item`,
    );
    return t;
  } finally {
    await stopContender();
    await env.redis.del(list, report);
    await flowSchema.remove();
    await env.admin
      .call('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/h2h-${ns.name}`)
      .catch(() => undefined);
    await ns.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

/** kjd, or the KEDA operator and a ScaledJob, running the same Pod; returns how to stop it. */
async function startContender(
  o: RunOptions,
  ns: BenchNamespace,
  dir: string,
  list: string,
  report: string,
): Promise<() => Promise<void>> {
  const { env, contender } = o;
  const redisAddress = new URL(env.redisUrl).host;
  if (contender.kind === 'kjd') {
    const template = join(dir, 'job.yaml');
    await writeFile(
      template,
      stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: 'h2h',
          annotations: { 'kjd.dev/parameters': 'ITEM: { type: string, required: true }\n' },
        },
        spec: {
          backoffLimit: 0,
          template: podTemplate(o.worker, [
            'given',
            redisAddress,
            '${ITEM}',
            report,
            String(o.workMs),
            String(o.initMs),
          ]),
        },
      }),
    );
    const limits =
      contender.maxActiveJobs === undefined ? {} : { limits: { maxActiveJobs: contender.maxActiveJobs } };
    const kjd = await startKjd(ns, { env, template }, limits, list);
    return () => kjd.process.stop();
  } else {
    const operator: KedaOperator = await startKedaOperator({
      binary: o.artifacts.operator,
      kubeconfigPath: await serviceAccountKubeconfig(env, ns, dir),
      watchNamespace: ns.name,
      objectNamespace: ns.name,
      dir,
    });
    await createScaledJob(
      o.kc,
      ns.name,
      redisListScaledJob({
        name: 'h2h',
        redisAddress,
        listName: list,
        listLength: 1,
        maxReplicaCount: o.items,
        pollingInterval: contender.setting.pollingInterval,
        ...(contender.setting.scalingStrategy === undefined
          ? {}
          : { scalingStrategy: contender.setting.scalingStrategy }),
        ...(contender.setting.pendingPodConditions === undefined
          ? {}
          : { pendingPodConditions: contender.setting.pendingPodConditions }),
        template: podTemplate(o.worker, [
          'pop',
          redisAddress,
          list,
          report,
          String(o.workMs),
          String(o.initMs),
        ]),
      }),
    );
    return async () => {
      await deleteScaledJob(o.kc, ns.name, 'h2h').catch(() => undefined);
      await operator.stop();
    };
  }
}

/**
 * Pushes the scenario's items on its schedule and watches until every item
 * has started and every Job has finished, then a little longer for late
 * duplicates. Jobs are kept in a ledger (by uid) as owners delete them.
 */
async function produceAndObserve(
  o: RunOptions,
  ns: BenchNamespace,
  list: string,
  report: string,
): Promise<{ enqueuedAtMs: Map<string, number>; jobs: number }> {
  const enqueuedAtMs = new Map<string, number>();
  const jobs = new Set<string>();
  const { env, contender } = o;
  const tag = contender.kind === 'kjd' ? 'kjd' : contender.setting.name;
  const start = Date.now();
  const producing = (async () => {
    for (let i = 0; i < o.items; i++) {
      const wait = start + o.scenario.schedule(i) - Date.now();
      if (wait > 0) await sleep(wait);
      const id = `${o.scenario.name}-${String(i)}`;
      const at = Date.now();
      enqueuedAtMs.set(id, at);
      await env.redis.lpush(list, JSON.stringify({ id, ITEM: `${id}@${String(at)}` }));
    }
  })();
  const polling = contender.kind === 'keda' ? contender.setting.pollingInterval : 0;
  const deadline = start + o.scenario.schedule(o.items - 1) + 240_000 + polling * 1000;
  let quietSince: number | undefined;
  for (;;) {
    const listed = await env.admin.call<{
      items: { metadata: { uid: string }; status?: { succeeded?: number; failed?: number } }[];
    }>('GET', apiPath('batch/v1', ns.name, 'jobs'));
    for (const j of listed.items) jobs.add(j.metadata.uid);
    const running = listed.items.filter(
      (j) => (j.status?.succeeded ?? 0) + (j.status?.failed ?? 0) === 0,
    ).length;
    const reported = new Set(
      (await env.redis.lrange(report, 0, -1))
        .map((l) => parseReport(l).itemId)
        .filter((id) => id !== undefined),
    );
    const done = enqueuedAtMs.size === o.items && reported.size >= o.items && running === 0;
    quietSince = done ? (quietSince ?? Date.now()) : undefined;
    // Quiet for two polls more (at least 5 s): a late duplicate has time to show.
    if (quietSince !== undefined && Date.now() - quietSince > Math.max(5_000, 2_000 * polling + 1_000)) break;
    if (Date.now() > deadline) {
      o.log(
        `${o.scenario.name}/${tag}: gave up waiting (${String(reported.size)}/${String(o.items)} items started)`,
      );
      break;
    }
    await sleep(500);
  }
  await producing;
  return { enqueuedAtMs, jobs: jobs.size };
}
