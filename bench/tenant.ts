// `npm run bench -- --scenario tenant [--jobs 3000] [--kjd-items 12000] [--repetitions 3] [--ceiling-workers 32]
//   [--phases alone,shared,control] [--kjd-connections N] [--kjd-max-in-flight N]`:
// a second tenant (issue 16). Another tenant's raw creator (Go, client-go, no
// client-side limit) makes --jobs Jobs in its own namespace under its own
// ServiceAccount, once with the cluster to itself (alone) and once while kjd
// at its defaults drains a burst on its own queue in another namespace, both
// started at the same moment (shared). The question is how much of the
// tenant's Jobs/s kjd takes: with two tenants, fair share is half, so the
// target is tenant_shared / tenant_alone >= 0.5. The control phase puts a
// second raw creator where kjd was: what an equally greedy tenant leaves the
// first one on this machine, so kjd's effect can be told from the machine's.
//
// Nothing here changes where APF puts either of them: each ServiceAccount
// lands where the cluster's default FlowSchemas send it (read back from the
// X-Kubernetes-PF-* headers of its own request); a FlowSchema per namespace
// at that same priority level, by user, only lets the API server count each
// one's requests and 429s apart.
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { repoRoot } from '../harness/paths.ts';
import { apiPath } from '../src/kube/client.ts';
import {
  ceiling,
  kjd,
  templates,
  type ContenderContext,
  type ContenderSpec,
  type KjdSettings,
} from './lib/contenders.ts';
import { startEnvironment, type BenchEnvironment, type BenchNamespace } from './lib/environment.ts';
import { suffix } from './lib/kjd-alone.ts';
import { mergeIntoLatest } from './lib/scenario-files.ts';
import { now } from './lib/observer.ts';
import { preparePeers } from './lib/peers.ts';
import { cpuSeconds } from './lib/proc.ts';
import {
  countApart,
  flowMetrics,
  sideCounts,
  type SideCounter,
  type SideCounts,
} from './lib/request-count.ts';
import { settle } from './lib/settle.ts';
import { median, round, throughput } from './lib/stats.ts';
import { stageContender, type StagedContender } from './lib/throughput.ts';

export const TENANT_RESULTS = 'tenant.json';
/** Two tenants: each is owed half. */
export const FAIR_SHARE = 0.5;

const PHASES = ['alone', 'shared', 'control'] as const;
type Phase = (typeof PHASES)[number];

export interface TenantRun {
  readonly repetition: number;
  readonly phase: Phase;
  readonly tenant: SideCounts & {
    readonly jobs: number;
    readonly created: number;
    /** First to last of its Jobs. */
    readonly jobsPerSecond: number;
    /** Creates the raw creator gave up on (client-go retries 429s itself). */
    readonly failed: number;
  };
  /** kjd (shared) or the second raw creator (control). */
  readonly other?: SideCounts & {
    readonly items: number;
    /** Its Jobs in the namespace once it was done, listed from the cluster. */
    readonly created: number;
    readonly extra: number;
    /** Its Jobs created between the tenant's first and last, over that time. */
    readonly jobsPerSecondShared: number;
    /** First to last of its own Jobs, the whole burst. */
    readonly jobsPerSecondOverall: number;
    /** Its share of all Jobs created in the tenant's window. */
    readonly share: number;
    /** Its first Job after the tenant's first (ms; negative: before). */
    readonly firstJobAfterTenantMs: number;
    /** Still creating when the tenant finished: the whole window was shared. */
    readonly outlastedTenant: boolean;
    /** kjd's adaptive pacing limit (kjd_api_pacing_limit) sampled in the tenant's window. */
    readonly pacingLimit?: { readonly median: number; readonly max: number };
  };
  readonly apiserverCpuSeconds: number;
  readonly wallSeconds: number;
}

export interface TenantResults {
  readonly date: string;
  readonly machine: string;
  readonly jobs: number;
  readonly kjdItems: number;
  readonly ceilingWorkers: number;
  /** What kjd ran with beyond its defaults (--kjd-connections, --kjd-max-in-flight: what-ifs); {} for the defaults. */
  readonly kjdSettings: KjdSettings;
  /** The priority level both land in, and its nominal seats on this API server. */
  readonly level: { readonly name: string; readonly seats: number };
  readonly runs: readonly TenantRun[];
  /** latest.json's `secondTenant`, plus what the docs show. */
  readonly summary: {
    readonly tenantAloneJobsPerSecond: number;
    readonly tenantSharedJobsPerSecond: number;
    readonly kjdSharedJobsPerSecond: number;
    /** Median over repetitions of tenant_shared / tenant_alone, each pair from one repetition. */
    readonly ratio: number;
    readonly target: number;
    readonly kjdShare: number;
    /** kjd (and the control's peer) still created Jobs after the tenant's last, in every repetition. */
    readonly windowShared: boolean;
    /** The control phase: the tenant beside a second raw creator instead of kjd. */
    readonly control?: {
      readonly tenantJobsPerSecond: number;
      readonly peerJobsPerSecond: number;
      readonly ratio: number;
      readonly peerShare: number;
    };
    /** 429s the tenant saw while shared with kjd, all repetitions. */
    readonly tenantRejected: number;
    readonly kjdRejected: number;
    readonly lost: number;
  };
}

export async function runTenantBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      jobs: { type: 'string', default: '3000' },
      'kjd-items': { type: 'string' },
      repetitions: { type: 'string', default: '3' },
      'ceiling-workers': { type: 'string', default: '32' },
      'kjd-connections': { type: 'string' },
      'kjd-max-in-flight': { type: 'string' },
      phases: { type: 'string', default: PHASES.join(',') },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      profile: { type: 'string' },
    },
  });
  const jobs = Number(values.jobs);
  // kjd made up to twice the tenant's Jobs/s beside it in trial runs: 4x keeps it creating until the
  // tenant is done, so the whole window is shared (summary.windowShared says whether it was).
  const kjdItems = Number(values['kjd-items'] ?? jobs * 4);
  const repetitions = Number(values.repetitions);
  const workers = Number(values['ceiling-workers']);
  for (const [k, v] of Object.entries({ jobs, 'kjd-items': kjdItems, repetitions, workers })) {
    if (!Number.isInteger(v) || v < 1) {
      console.error(`--${k}: an integer >= 1`);
      process.exit(2);
    }
  }
  const phases = PHASES.filter((p) => values.phases.split(',').includes(p));
  if (!phases.includes('alone') || !phases.includes('shared')) {
    console.error(`--phases: alone and shared, and optionally control; not ${values.phases}`);
    process.exit(2);
  }
  const nodeArgs = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const kjdSettings = whatIf(values['kjd-connections'], values['kjd-max-in-flight']);
  const started = Date.now();
  const log = (m: string) => {
    console.error(`[bench tenant ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  };
  const env = await startEnvironment({ reuse: true }, log);
  try {
    const ctx: ContenderContext = { env, peers: await preparePeers(log), template: templates.suspended };
    const others: Readonly<Record<Phase, ContenderSpec | undefined>> = {
      alone: undefined,
      shared: kjd('kjdDefault', 'kjd serve', { ...kjdSettings, nodeArgs }),
      control: ceiling(workers),
    };
    const runs: TenantRun[] = [];
    for (let r = 1; r <= repetitions; r++) {
      // Each repetition starts with a different phase, so none always meets the fresher server.
      const order = [...phases.slice((r - 1) % phases.length), ...phases.slice(0, (r - 1) % phases.length)];
      for (const phase of order) {
        await settle(env);
        const run = await measurePhase(
          ctx,
          { repetition: r, phase, jobs, kjdItems, workers },
          others[phase],
          log,
        );
        runs.push(run);
        log(`${String(r)}/${String(repetitions)} ${phase}: ${describe(run)}`);
      }
    }
    const results = summarize(runs, { jobs, kjdItems, workers, kjdSettings }, await seatsOf(env, runs));
    await writeFile(join(values.out, TENANT_RESULTS), JSON.stringify(results, null, 2) + '\n');
    await mergeTenantIntoLatest(join(values.out, 'latest.json'), results);
    log(`wrote ${TENANT_RESULTS}: ${JSON.stringify(results.summary)}`);
  } finally {
    await env.stop();
  }
}

/**
 * What-ifs, not the target's setting: adaptive pacing's ceiling is
 * kubernetes.maxInFlight (default 32), and never more than the connections.
 */
function whatIf(connectionsFlag: string | undefined, maxInFlightFlag: string | undefined): KjdSettings {
  const flag = (name: string, value: string | undefined): number => {
    if (value === undefined) return 0;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name}: an integer >= 1, not ${value}`);
      process.exit(2);
    }
    return n;
  };
  const connections = flag('kjd-connections', connectionsFlag);
  const maxInFlight = flag('kjd-max-in-flight', maxInFlightFlag);
  if (connections === 0 && maxInFlight === 0) return {};
  return {
    kubernetes: {
      ...(connections > 0 ? { connections } : {}),
      ...(maxInFlight > 0 ? { maxInFlight } : {}),
    },
  };
}

interface PhaseOptions {
  readonly repetition: number;
  readonly phase: Phase;
  readonly jobs: number;
  readonly kjdItems: number;
  readonly workers: number;
}

/** The tenant, and the other side if the phase has one, in namespaces of their own, told to go at the same moment. */
async function measurePhase(
  ctx: ContenderContext,
  o: PhaseOptions,
  otherSpec: ContenderSpec | undefined,
  log: (m: string) => void,
): Promise<TenantRun> {
  const { env } = ctx;
  const staged: StagedContender[] = [];
  const counters: SideCounter[] = [];
  try {
    staged.push(await stageContender(ceiling(o.workers), ctx, `tenant-${o.phase}-${suffix()}`, o.jobs));
    if (otherSpec !== undefined)
      staged.push(await stageContender(otherSpec, ctx, `tenant-other-${suffix()}`, o.kjdItems));
    for (const side of staged) counters.push(await countApart(env, side.ns, side.running.process.pid));
    const [tenant, other] = staged;
    if (tenant === undefined) throw new Error('no tenant');
    const before = await Promise.all(counters.map((c) => c.snapshot()));
    const api0 = cpuSeconds(env.apiserverPid);
    const t0 = now();
    const pacing = other?.running.url === undefined ? undefined : samplePacing(other.running.url);
    // kjd's burst is LPUSHed in chunks (it takes items as they arrive) while the tenant is told to go.
    await Promise.all(staged.map((s) => s.running.feed(s.ids)));
    await Promise.all(staged.map((s) => s.awaitJobs(log)));
    const wallSeconds = round((now() - t0) / 1000, 2);
    const apiserverCpuSeconds = round(cpuSeconds(env.apiserverPid) - api0, 2);
    const limits = pacing?.stop() ?? [];
    const after = await Promise.all(counters.map((c) => c.snapshot()));
    const counted = (i: number) => sideCounts(counters[i], before[i], after[i]);
    await sleep(1000); // a late duplicate would show up here
    const tenantAt = stampsOf(tenant);
    const run = {
      repetition: o.repetition,
      phase: o.phase,
      apiserverCpuSeconds,
      wallSeconds,
      tenant: {
        ...counted(0),
        jobs: tenant.ids.length,
        created: tenantAt.length,
        jobsPerSecond: throughput(tenantAt).overall,
        failed: failedCreates(tenant),
      },
    };
    if (other === undefined) return run;
    return { ...run, other: { ...counted(1), ...(await besideTenant(env, other, tenantAt, limits)) } };
  } finally {
    await Promise.all(counters.map((c) => c.remove()));
    await Promise.all(staged.map((s) => s.close()));
  }
}

/** The other side's Jobs, counted in the tenant's window (its first Job to its last) and in the cluster. */
async function besideTenant(
  env: BenchEnvironment,
  other: StagedContender,
  tenantAt: readonly number[],
  limits: readonly { at: number; limit: number }[],
) {
  const window = { from: Math.min(...tenantAt), to: Math.max(...tenantAt) };
  const otherAt = stampsOf(other);
  const inWindow = otherAt.filter((t) => t >= window.from && t <= window.to).length;
  const seconds = (window.to - window.from) / 1000;
  const inCluster = await jobsInCluster(env, other.ns);
  const created = other.ids.filter((id) => inCluster.has(other.spec.jobName(id))).length;
  const during = limits.filter((l) => l.at >= window.from && l.at <= window.to).map((l) => l.limit);
  return {
    items: other.ids.length,
    created,
    extra: inCluster.size - created,
    jobsPerSecondShared: seconds > 0 ? round(inWindow / seconds) : 0,
    jobsPerSecondOverall: throughput(otherAt).overall,
    share: round(inWindow / Math.max(1, inWindow + tenantAt.length), 3),
    firstJobAfterTenantMs: round(Math.min(...otherAt) - window.from),
    outlastedTenant: Math.max(...otherAt) > window.to,
    ...(during.length > 0 ? { pacingLimit: { median: median(during), max: Math.max(...during) } } : {}),
  };
}

/** When each of the side's items' Jobs was first seen. */
function stampsOf(side: StagedContender): number[] {
  return side.ids.flatMap((id) => {
    const at = side.observer.created.get(side.spec.jobName(id));
    return at === undefined ? [] : [at];
  });
}

/** The raw creator's "done <created> <failed>" line. */
function failedCreates(side: StagedContender): number {
  const done = side.running.process.lines.find((l) => l.startsWith('done '));
  return Number(done?.split(' ')[2] ?? 0);
}

/** Every Job's name in the namespace, as the cluster lists them (not as the watch saw them). */
async function jobsInCluster(env: BenchEnvironment, ns: BenchNamespace): Promise<Set<string>> {
  const names = new Set<string>();
  let next: string | undefined;
  do {
    const page = await env.admin.call<{
      items: { metadata?: { name?: string } }[];
      metadata?: { continue?: string };
    }>('GET', apiPath('batch/v1', ns.name, 'jobs'), {
      query: { limit: 1000, ...(next !== undefined ? { continue: next } : {}) },
    });
    for (const j of page.items) names.add(j.metadata?.name ?? '');
    next = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
  } while (next !== undefined);
  return names;
}

/** kjd's adaptive pacing limit from its /metrics every 250 ms, until stop(). */
function samplePacing(url: string) {
  const samples: { at: number; limit: number }[] = [];
  const stopped = new AbortController();
  void (async () => {
    while (!stopped.signal.aborted) {
      const body = await fetch(`${url}/metrics`, { signal: stopped.signal }).then(
        (r) => r.text(),
        () => '',
      );
      const line = body.split('\n').find((l) => l.startsWith('kjd_api_pacing_limit '));
      if (line !== undefined) samples.push({ at: now(), limit: Number(line.split(' ')[1]) });
      await sleep(250, undefined, { signal: stopped.signal }).catch(() => undefined);
    }
  })();
  return {
    stop() {
      stopped.abort();
      return samples;
    },
  };
}

async function seatsOf(env: BenchEnvironment, runs: readonly TenantRun[]) {
  const name = runs[0]?.tenant.placement.priorityLevel ?? '';
  return { name, seats: (await flowMetrics(env, '', name)).nominalSeats };
}

/** Per repetition, the tenant's Jobs/s in `phase` over its Jobs/s alone in the same repetition. */
function ratiosOf(runs: readonly TenantRun[], phase: Phase): number[] {
  return runs.flatMap((s) => {
    if (s.phase !== phase) return [];
    const a = runs.find((x) => x.phase === 'alone' && x.repetition === s.repetition);
    return a === undefined || a.tenant.jobsPerSecond <= 0
      ? []
      : [s.tenant.jobsPerSecond / a.tenant.jobsPerSecond];
  });
}

function summarize(
  runs: readonly TenantRun[],
  o: { jobs: number; kjdItems: number; workers: number; kjdSettings: KjdSettings },
  level: TenantResults['level'],
): TenantResults {
  const of = (phase: Phase) => runs.filter((r) => r.phase === phase);
  const others = (phase: Phase) => of(phase).flatMap((r) => (r.other === undefined ? [] : [r.other]));
  const tenantRate = (phase: Phase) => round(median(of(phase).map((r) => r.tenant.jobsPerSecond)), 1);
  const kjdRuns = others('shared');
  const control = of('control').length > 0;
  return {
    date: new Date().toISOString(),
    machine: `${String(cpus().length)} CPUs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
    jobs: o.jobs,
    kjdItems: o.kjdItems,
    ceilingWorkers: o.workers,
    kjdSettings: o.kjdSettings,
    level,
    runs,
    summary: {
      tenantAloneJobsPerSecond: tenantRate('alone'),
      tenantSharedJobsPerSecond: tenantRate('shared'),
      kjdSharedJobsPerSecond: round(median(kjdRuns.map((k) => k.jobsPerSecondShared)), 1),
      ratio: round(median(ratiosOf(runs, 'shared')), 2),
      target: FAIR_SHARE,
      kjdShare: round(median(kjdRuns.map((k) => k.share)), 2),
      windowShared: runs.every((r) => r.other?.outlastedTenant !== false),
      ...(control
        ? {
            control: {
              tenantJobsPerSecond: tenantRate('control'),
              peerJobsPerSecond: round(median(others('control').map((k) => k.jobsPerSecondShared)), 1),
              ratio: round(median(ratiosOf(runs, 'control')), 2),
              peerShare: round(median(others('control').map((k) => k.share)), 2),
            },
          }
        : {}),
      tenantRejected: of('shared').reduce((n, r) => n + r.tenant.rejected, 0),
      kjdRejected: kjdRuns.reduce((n, k) => n + k.rejected, 0),
      lost: kjdRuns.reduce((n, k) => n + (k.items - k.created), 0),
    },
  };
}

function describe(r: TenantRun): string {
  const t = r.tenant;
  const head = `tenant ${String(t.jobsPerSecond)} Jobs/s (${String(t.created)}/${String(t.jobs)}, ${String(t.rejected)} 429s, at ${t.placement.flowSchema}/${t.placement.priorityLevel})`;
  const k = r.other;
  if (k === undefined) return head;
  const pacing = k.pacingLimit === undefined ? '' : `, pacing limit ${String(k.pacingLimit.median)}`;
  return `${head}; other ${String(k.jobsPerSecondShared)} Jobs/s in the tenant's window, ${String(k.jobsPerSecondOverall)} overall (${String(k.created)}/${String(k.items)}, ${String(k.rejected)} 429s, share ${String(k.share)}${pacing})`;
}

/** latest.json keeps its fields and gains `secondTenant` (issue 16's target). */
export async function mergeTenantIntoLatest(file: string, r: TenantResults): Promise<void> {
  const { tenantAloneJobsPerSecond, tenantSharedJobsPerSecond, kjdSharedJobsPerSecond, ratio, target } =
    r.summary;
  await mergeIntoLatest(file, 'secondTenant', () => ({
    tenantAloneJobsPerSecond,
    tenantSharedJobsPerSecond,
    kjdSharedJobsPerSecond,
    ratio,
    target,
  }));
}
