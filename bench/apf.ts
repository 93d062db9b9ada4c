// `npm run bench -- --scenario apf [--items 1000] [--repetitions 4] [--shares 1] [--ceiling-workers 32]`:
// kjd under API Priority and Fairness (issue 16). The bench makes a
// PriorityLevelConfiguration with a small concurrency share and, per
// contender, a FlowSchema that puts that contender's ServiceAccount (and only
// it) there. The level's capacity is what the raw creator (Go, client-go, no
// client-side limit; client-go retries 429s) gets through it; kjd at its
// default settings (adaptive pacing) is measured against that, and its 429s
// are the API server's own count (apiserver_flowcontrol_rejected_requests_total
// for its FlowSchema) over everything the server saw of it.
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../harness/paths.ts';
import { ceiling, kjd, kjdFloor, templates, type ContenderSpec } from './lib/contenders.ts';
import { startEnvironment, type BenchEnvironment } from './lib/environment.ts';
import { suffix } from './lib/kjd-alone.ts';
import { mergeIntoLatest } from './lib/scenario-files.ts';
import { preparePeers } from './lib/peers.ts';
import { flowMetrics } from './lib/request-count.ts';
import { place, PLACEMENTS, type Placement } from './lib/placement.ts';
import { settle } from './lib/settle.ts';
import { median, round } from './lib/stats.ts';
import { measureContender } from './lib/throughput.ts';

export const APF_RESULTS = 'apf.json';
const LEVEL = 'kjd-bench-small';
/** The README's recommended settings: a fixed 1000 QPS bucket, for comparison with adaptive pacing. */
const RECOMMENDED_FIXED = {
  kubernetes: { qps: 1000, burst: 2000, connections: 128 },
  limits: { maxInFlightCreates: 128 },
};
const FLOW_API = '/apis/flowcontrol.apiserver.k8s.io/v1';

export interface ApfRun {
  readonly contender: 'ceiling' | 'kjdDefault' | 'kjd' | 'kjdFloor';
  readonly items: number;
  readonly created: number;
  readonly extra: number;
  readonly jobsPerSecond: number;
  readonly dispatched: number;
  readonly rejected: number;
  /** Mean time a request of the contender held its seats (ms), from the API server's histogram. */
  readonly seatMsPerRequest?: number;
  /** Mean seats the API server estimated per request. */
  readonly seatsPerRequest?: number;
}

export interface ApfResults {
  readonly date: string;
  readonly machine: string;
  readonly level: { readonly name: string; readonly shares: number; readonly seats: number };
  readonly items: number;
  readonly runs: readonly ApfRun[];
  /** latest.json's `apf` (issue 16's names), plus the ratio. */
  readonly summary: {
    readonly kjdJobsPerSecond: number;
    readonly ceilingJobsPerSecond: number;
    readonly throttledFraction: number;
    readonly ratio: number;
    readonly lost: number;
  };
}

export async function runApfBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      items: { type: 'string', default: '1000' },
      // Two were too few: 0.86x and 0.66x two minutes apart (2026-12-04 21:45, 21:47).
      repetitions: { type: 'string', default: '4' },
      shares: { type: 'string', default: '1' },
      'ceiling-workers': { type: 'string', default: '32' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      profile: { type: 'string' },
      placement: { type: 'string', default: 'shared' },
    },
  });
  const nodeArgs = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const items = Number(values.items);
  const repetitions = Number(values.repetitions);
  const shares = Number(values.shares);
  const workers = Number(values['ceiling-workers']);
  for (const [k, v] of Object.entries({ items, repetitions, shares, workers })) {
    if (!Number.isInteger(v) || v < 1) {
      console.error(`--${k}: an integer >= 1`);
      process.exit(2);
    }
  }
  const started = Date.now();
  const log = (m: string) => {
    console.error(`[bench apf ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  };
  const placement = values.placement as Placement;
  if (!PLACEMENTS.includes(placement)) {
    console.error(`--placement: one of ${PLACEMENTS.join(', ')}`);
    process.exit(2);
  }
  const env = await startEnvironment({ reuse: true }, log);
  const unplace = place(env, placement, log);
  try {
    const peers = await preparePeers(log);
    const ctx = { env, peers, template: templates.suspended };
    await createLevel(env, shares);
    const seats = await seatsOf(env);
    log(`priority level ${LEVEL}: ${String(shares)} share(s), ${String(seats)} seat(s)`);
    const contenders: ContenderSpec[] = [
      ceiling(workers),
      kjd('kjdDefault', 'kjd serve, default settings', { nodeArgs }),
      kjd('kjd', 'kjd serve, fixed pacing (recommended settings)', { ...RECOMMENDED_FIXED, nodeArgs }),
      // kjd's Jobs through kjd's transport, as many in flight as the raw creator: what Node and JSON cost here.
      kjdFloor(workers),
    ];
    const runs: ApfRun[] = [];
    for (let r = 0; r < repetitions; r++) {
      const order = [
        ...contenders.slice(r % contenders.length),
        ...contenders.slice(0, r % contenders.length),
      ];
      for (const spec of order) {
        await settle(env);
        const run = await measureUnderLevel(env, spec, ctx, items, log);
        runs.push(run);
        log(`${String(r + 1)}/${String(repetitions)} ${spec.name}: ${JSON.stringify(run)}`);
      }
    }
    const results = { ...summarize(runs, { name: LEVEL, shares, seats }, items), placement };
    // latest.json and the docs' table show the default placement; a split run is kept beside it.
    const file = placement === 'shared' ? APF_RESULTS : `apf-${placement}.json`;
    await writeFile(join(values.out, file), JSON.stringify(results, null, 2) + '\n');
    if (placement === 'shared') await mergeApfIntoLatest(join(values.out, 'latest.json'), results);
    log(`wrote ${file}: ${JSON.stringify(results.summary)}`);
  } finally {
    unplace();
    await env.admin.call('DELETE', `${FLOW_API}/prioritylevelconfigurations/${LEVEL}`).catch(() => undefined);
    await env.stop();
  }
}

async function measureUnderLevel(
  env: BenchEnvironment,
  spec: ContenderSpec,
  ctx: Parameters<typeof measureContender>[1],
  items: number,
  log: (m: string) => void,
): Promise<ApfRun> {
  const namespace = `apf-${spec.name.toLowerCase()}-${suffix()}`;
  const schema = `apf-${namespace}`;
  await env.admin.call('POST', `${FLOW_API}/flowschemas`, {
    body: {
      metadata: { name: schema },
      spec: {
        priorityLevelConfiguration: { name: LEVEL },
        matchingPrecedence: 400,
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: 'bench-runner', namespace } }],
            resourceRules: [
              { verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] },
            ],
          },
        ],
      },
    },
  });
  try {
    const before = await flowMetrics(env, schema);
    const run = await measureContender(spec, ctx, namespace, items, log);
    const after = await flowMetrics(env, schema);
    return {
      contender: spec.name as ApfRun['contender'],
      items,
      created: run.created,
      extra: run.extra,
      jobsPerSecond: run.jobsPerSecond,
      dispatched: after.dispatched - before.dispatched,
      rejected: after.rejected - before.rejected,
      seatMsPerRequest: mean(
        after.executionSeconds - before.executionSeconds,
        after.executed - before.executed,
        1000,
      ),
      seatsPerRequest: mean(
        after.estimatedSeats - before.estimatedSeats,
        after.estimated - before.estimated,
        1,
      ),
    };
  } finally {
    await env.admin.call('DELETE', `${FLOW_API}/flowschemas/${schema}`).catch(() => undefined);
  }
}

const mean = (sum: number, count: number, scale: number): number =>
  count > 0 ? round((sum / count) * scale, 2) : 0;

/** A level with little concurrency of its own, which lends and borrows nothing; excess waits in queues. */
async function createLevel(env: BenchEnvironment, shares: number): Promise<void> {
  await env.admin.call('DELETE', `${FLOW_API}/prioritylevelconfigurations/${LEVEL}`).catch(() => undefined);
  await env.admin.call('POST', `${FLOW_API}/prioritylevelconfigurations`, {
    body: {
      metadata: { name: LEVEL },
      spec: {
        type: 'Limited',
        limited: {
          nominalConcurrencyShares: shares,
          lendablePercent: 0,
          borrowingLimitPercent: 0,
          limitResponse: { type: 'Queue', queuing: { queues: 16, handSize: 4, queueLengthLimit: 50 } },
        },
      },
    },
  });
}

async function seatsOf(env: BenchEnvironment): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const seats = (await flowMetrics(env, '', LEVEL)).nominalSeats;
    if (seats > 0) return seats;
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}

function summarize(runs: readonly ApfRun[], level: ApfResults['level'], items: number): ApfResults {
  const of = (c: ApfRun['contender']) => runs.filter((r) => r.contender === c);
  const kjdRuns = of('kjdDefault');
  const kjdRate = median(kjdRuns.map((r) => r.jobsPerSecond));
  const ceilingRate = median(of('ceiling').map((r) => r.jobsPerSecond));
  const rejected = kjdRuns.reduce((n, r) => n + r.rejected, 0);
  const seen = kjdRuns.reduce((n, r) => n + r.dispatched + r.rejected, 0);
  return {
    date: new Date().toISOString(),
    machine: `${String(cpus().length)} CPUs, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
    level,
    items,
    runs,
    summary: {
      kjdJobsPerSecond: round(kjdRate, 1),
      ceilingJobsPerSecond: round(ceilingRate, 1),
      throttledFraction: seen === 0 ? 0 : round(rejected / seen, 4),
      ratio: ceilingRate > 0 ? round(kjdRate / ceilingRate, 2) : 0,
      lost: kjdRuns.reduce((n, r) => n + (r.items - r.created), 0),
    },
  };
}

/** latest.json keeps its fields and gains `apf` (issue 16's names). */
export async function mergeApfIntoLatest(file: string, r: ApfResults): Promise<void> {
  const { kjdJobsPerSecond, ceilingJobsPerSecond, throttledFraction } = r.summary;
  await mergeIntoLatest(file, 'apf', () => ({ kjdJobsPerSecond, ceilingJobsPerSecond, throttledFraction }));
}
