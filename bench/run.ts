// `npm run bench`: kjd against the seeds' clients and the API server's own
// ceiling, side by side on the local control plane (bench/README.md).
//   npm run bench -- [--items 2000] [--repetitions 3] [--reuse] [--only throughput,steady,...]
//                    [--placement shared|split] (lib/placement.ts)
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../harness/paths.ts';
import {
  ceiling,
  kjd,
  kjdFloor,
  seed000,
  seed001,
  templates,
  type ContenderSpec,
  type KjdSettings,
} from './lib/contenders.ts';
import { startEnvironment, type BenchEnvironment } from './lib/environment.ts';
import { complete, startToReady, steady, suffix } from './lib/kjd-alone.ts';
import { preparePeers } from './lib/peers.ts';
import { place, PLACEMENTS, type Placement } from './lib/placement.ts';
import { settle } from './lib/settle.ts';
import { summarizeRuns } from './lib/summary.ts';
import { measureContender } from './lib/throughput.ts';
import { tracked } from './lib/tracked.ts';
import type { BenchResults, ContenderName, ContenderRun } from './lib/results.ts';
import { writeReport } from './report.ts';
import { APF_RESULTS, mergeApfIntoLatest, type ApfResults } from './apf.ts';
import { mergeE2eIntoLatest } from './e2e.ts';
import { TENANT_RESULTS, mergeTenantIntoLatest, type TenantResults } from './tenant.ts';
import { E2E_RESULTS, type E2eResults } from './lib/e2e-report.ts';

/** What the README recommends for throughput (docs/benchmarks.md shows why). */
export const RECOMMENDED: KjdSettings = {
  kubernetes: { qps: 1000, burst: 2000, connections: 128 },
  limits: { maxInFlightCreates: 128 },
};
const SCENARIOS = ['throughput', 'steady', 'tracked', 'ready', 'complete'] as const;

// `--scenario keda`: the head-to-head with KEDA's ScaledJob (bench/keda.ts), and `--scenario e2e`:
// items finished per second (bench/e2e.ts); `--scenario apf`: under a small APF priority level
// (bench/apf.ts); `--scenario tenant`: another tenant's Jobs/s while kjd drains a burst
// (bench/tenant.ts); runs of their own.
const scenarioAt = process.argv.indexOf('--scenario');
if (scenarioAt !== -1) {
  const scenario = process.argv[scenarioAt + 1];
  const rest = process.argv.slice(2).filter((_, i) => i !== scenarioAt - 2 && i !== scenarioAt - 1);
  if (scenario === 'keda') await (await import('./keda.ts')).runKedaBench(rest);
  else if (scenario === 'e2e') await (await import('./e2e.ts')).runE2eBench(rest);
  else if (scenario === 'apf') await (await import('./apf.ts')).runApfBench(rest);
  else if (scenario === 'tenant') await (await import('./tenant.ts')).runTenantBench(rest);
  else {
    console.error(`--scenario: keda, e2e, apf or tenant are scenarios of their own, not ${String(scenario)}`);
    process.exit(2);
  }
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '2000' },
    repetitions: { type: 'string', default: '3' },
    'ceiling-workers': { type: 'string' },
    'complete-items': { type: 'string', default: '100' },
    'steady-rate': { type: 'string', default: '20' },
    'steady-seconds': { type: 'string', default: '30' },
    tracked: { type: 'string', default: '10000' },
    only: { type: 'string', default: SCENARIOS.join(',') },
    reuse: { type: 'boolean', default: false },
    profile: { type: 'string' },
    placement: { type: 'string', default: 'shared' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
  },
});
const started = new Date();
const log = (m: string) => {
  console.error(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${m}`);
};
/** Options are checked once, here: a typo fails at once, not after minutes of running. */
function count(name: keyof typeof values, min = 1): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name}: an integer >= ${String(min)}, not ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return n;
}
const items = count('items');
const repetitions = count('repetitions');
for (const k of ['complete-items', 'steady-rate', 'steady-seconds', 'tracked'] as const) count(k);
if (values['ceiling-workers'] !== undefined) count('ceiling-workers');
const only = new Set(values.only.split(','));
const unknown = [...only].filter((o) => !(SCENARIOS as readonly string[]).includes(o));
if (unknown.length > 0) {
  console.error(`--only: unknown ${unknown.join(', ')}; one or more of ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const placement = values.placement as Placement;
if (!PLACEMENTS.includes(placement)) {
  console.error(`--placement: one of ${PLACEMENTS.join(', ')}, not ${values.placement}`);
  process.exit(2);
}
const recommended: KjdSettings = {
  ...RECOMMENDED,
  ...(values.profile !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] } : {}),
};

const env = await startEnvironment({ reuse: values.reuse }, log);
const unplace = place(env, placement, log);
try {
  const peers = await preparePeers(log);
  const ctx = { env, peers, template: templates.suspended };
  const partial: { -readonly [K in keyof BenchResults]?: BenchResults[K] } = {};
  let workers = Number(values['ceiling-workers'] ?? 0);
  const runs: Record<ContenderName, ContenderRun>[] = [];
  if (only.has('throughput')) {
    if (workers === 0) workers = await tuneCeiling(env, ctx);
    const contenders: ContenderSpec[] = [
      kjd('kjd', 'kjd serve, recommended settings', recommended),
      kjd('kjdDefault', 'kjd serve, default settings', {}),
      ceiling(workers),
      kjdFloor(),
      seed000,
      seed001,
    ];
    for (let r = 0; r < repetitions; r++) {
      // Each repetition starts with a different contender, so none always runs on a fresh server.
      const order = [
        ...contenders.slice(r % contenders.length),
        ...contenders.slice(0, r % contenders.length),
      ];
      const run: Partial<Record<ContenderName, ContenderRun>> = {};
      for (const spec of order) {
        await settle(env);
        run[spec.name] = await measureContender(
          spec,
          ctx,
          `bench-${spec.name.toLowerCase()}-${suffix()}`,
          items,
          log,
        );
        log(`repetition ${String(r + 1)}/${String(repetitions)} ${spec.name}: ${describe(run[spec.name])}`);
      }
      runs.push(run as Record<ContenderName, ContenderRun>);
    }
    Object.assign(partial, summarizeRuns(runs, contenders));
  }
  if (only.has('ready')) {
    await settle(env);
    Object.assign(partial, await startToReady(ctx, recommended, 5));
    log(`start to ready: ${String(partial.startToReadyMs)} ms`);
  }
  if (only.has('steady')) {
    await settle(env);
    partial.steady20 = await steady(
      ctx,
      recommended,
      Number(values['steady-rate']),
      Number(values['steady-seconds']),
    );
    log(`steady ${values['steady-rate']}/s: p99 ${String(partial.steady20.p99CreateMs)} ms`);
  }
  if (only.has('complete')) {
    await settle(env);
    partial.complete = await complete(ctx, recommended, Number(values['complete-items']));
    log(`complete: enqueue->Complete p50 ${String(partial.complete.enqueueToCompleteMs.p50)} ms`);
  }
  if (only.has('tracked')) {
    await settle(env);
    partial.tracked10k = await tracked(ctx, recommended, Number(values.tracked), log);
    log(`tracked ${values.tracked}: RSS ${String(partial.tracked10k.rssMB)} MB`);
  }
  const results: BenchResults = {
    schema: 1,
    startedAt: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    versions: await versions(),
    settings: {
      items,
      repetitions,
      ceilingWorkers: workers,
      kjdRecommended: { ...RECOMMENDED },
      kjdDefault: {},
      template: 'bench/templates/worker-suspended.yaml',
      placement,
    },
    runs,
    ...partial,
  } as BenchResults;
  await mkdir(values.out, { recursive: true });
  const file = join(values.out, `${started.toISOString().slice(0, 16).replace(':', '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  // The docs show the default placement; a split run is kept beside it (bench/limits.md reads it).
  if (placement === 'shared' && SCENARIOS.every((sc) => only.has(sc))) {
    await copyFile(file, join(values.out, 'latest.json'));
    await carryScenarioSummaries(values.out);
    await writeReport(results, join(repoRoot, 'docs'));
    log(
      `wrote ${file}, bench/results/latest.json and docs/benchmarks.md (${String(results.durationSeconds)} s)`,
    );
  } else {
    // A partial run (--only) is kept, but does not replace the full one the docs show.
    log(`wrote ${file} (partial: latest.json and docs/benchmarks.md left as they were)`);
  }
} finally {
  unplace();
  await env.stop();
}

function describe(r: ContenderRun | undefined): string {
  if (r === undefined) return '-';
  return `${String(r.jobsPerSecond)} Jobs/s, p99 ${String(r.latencyMs.p99)} ms, ${String(r.created)}/${String(r.items)} created, CPU ${String(r.cpuSeconds)} s, RSS ${String(r.peakRssMB)} MB, apiserver CPU ${String(r.apiserverCpuSeconds)} s`;
}

/** The worker count at which the ceiling creator is fastest here. */
async function tuneCeiling(
  env: BenchEnvironment,
  ctx: Parameters<typeof measureContender>[1],
): Promise<number> {
  let best = { workers: 32, rate: 0 };
  for (const w of [16, 32, 64, 128]) {
    await settle(env);
    const r = await measureContender(
      ceiling(w),
      ctx,
      `bench-tune-${String(w)}-${suffix()}`,
      Math.min(items, 800),
      log,
    );
    log(`ceiling with ${String(w)} workers: ${String(r.jobsPerSecond)} Jobs/s`);
    if (r.jobsPerSecond > best.rate) best = { workers: w, rate: r.jobsPerSecond };
  }
  return best.workers;
}

async function versions(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const env = Object.fromEntries(
    (await readFile(join(repoRoot, 'controlplane', 'versions.env'), 'utf8'))
      .split('\n')
      .flatMap((l) => (/^(\w+)=(.*)$/.exec(l.trim()) ? [l.trim().split('=') as [string, string]] : [])),
  );
  const cmd = (c: string, a: string[]) => {
    try {
      return execFileSync(c, a, { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    } catch {
      return 'unknown';
    }
  };
  return {
    kjd: pkg.version,
    node: process.version,
    ...env,
    'client-go': 'v0.36.3',
    'python kubernetes': '37.0.2',
    python: cmd('python3', ['--version']),
    go: cmd('go', ['version']),
    redis: cmd('redis-server', ['--version']),
  };
}

/** The e2e, apf and tenant scenarios run on their own: a new latest.json takes their last summaries from their files. */
async function carryScenarioSummaries(outDir: string): Promise<void> {
  const latest = join(outDir, 'latest.json');
  const read = async <T>(name: string): Promise<T | undefined> =>
    readFile(join(outDir, name), 'utf8').then(
      (t) => JSON.parse(t) as T,
      () => undefined,
    );
  const e2e = await read<E2eResults>(E2E_RESULTS);
  if (e2e !== undefined) await mergeE2eIntoLatest(latest, e2e);
  const apf = await read<ApfResults>(APF_RESULTS);
  if (apf !== undefined) await mergeApfIntoLatest(latest, apf);
  const tenant = await read<TenantResults>(TENANT_RESULTS);
  if (tenant !== undefined) await mergeTenantIntoLatest(latest, tenant);
}
