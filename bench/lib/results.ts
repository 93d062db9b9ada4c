// The shape of bench/results/<date>.json (and latest.json): every figure of
// one `npm run bench`, with the versions and machine it ran on. docs/benchmarks.md
// is generated from it by bench/report.ts.

/** The contenders of the throughput run, in the order they are shown. */
export const CONTENDERS = ['kjd', 'kjdDefault', 'ceiling', 'kjdFloor', 'seed000', 'seed001'] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** The contenders a results file has, in CONTENDERS order: a file from before a contender was added lacks it. */
export function contendersIn(r: { readonly contenders: object }): ContenderName[] {
  return CONTENDERS.filter((n) => n in r.contenders);
}

/** Quantiles kept for latency distributions (charts), in percent. */
export const CDF_QUANTILES = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9, 100] as const;

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** One contender in one repetition. */
export interface ContenderRun {
  readonly items: number;
  /** Distinct Jobs that appeared for the items (must equal items). */
  readonly created: number;
  /** Jobs created beyond one per item, or for unknown names (must be 0). */
  readonly extra: number;
  /** First create to last create. */
  readonly jobsPerSecond: number;
  /** Over the middle 80 % of creates (10th to 90th). */
  readonly sustainedJobsPerSecond: number;
  /** Enqueue (or, for the ceiling, its start) to the Job seen created, ms. */
  readonly latencyMs: Percentiles;
  /** Latency at each of CDF_QUANTILES, ms. */
  readonly latencyCdfMs: readonly number[];
  /** The contender's process: CPU (user+system) seconds and peak RSS, over the run. */
  readonly cpuSeconds: number;
  readonly peakRssMB: number;
  /** kube-apiserver CPU seconds from enqueue to the last Job seen. */
  readonly apiserverCpuSeconds: number;
  readonly wallSeconds: number;
}

/** Median over repetitions, with every repetition's throughput for the spread. */
export interface ContenderSummary {
  readonly label: string;
  readonly jobsPerSecond: number;
  readonly jobsPerSecondRuns: readonly number[];
  readonly sustainedJobsPerSecond: number;
  readonly latencyMs: Percentiles;
  readonly latencyCdfMs: readonly number[];
  readonly cpuSeconds: number;
  readonly peakRssMB: number;
  readonly apiserverCpuSeconds: number;
  /** CPU seconds of the contender per 1,000 Jobs. */
  readonly cpuSecondsPer1000Jobs: number;
  /** True when every repetition created exactly one Job per item. */
  readonly correct: boolean;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** One ratio per repetition, both sides measured in that repetition. */
  readonly runs: readonly number[];
}

export interface BenchResults {
  readonly schema: 1;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGB: number;
    readonly kernel: string;
    readonly loadAverageAtStart: readonly number[];
  };
  readonly versions: Readonly<Record<string, string>>;
  readonly settings: {
    readonly items: number;
    readonly repetitions: number;
    readonly ceilingWorkers: number;
    /** kjd serve settings of the `kjd` contender (the README's recommended ones). */
    readonly kjdRecommended: Readonly<Record<string, unknown>>;
    readonly kjdDefault: Readonly<Record<string, unknown>>;
    readonly template: string;
    /** Which cores the processes ran on (lib/placement.ts); absent: shared. */
    readonly placement?: 'shared' | 'split';
  };
  /** runs[i][contender]: repetition i. */
  readonly runs: readonly Readonly<Record<ContenderName, ContenderRun>>[];
  readonly contenders: Readonly<Record<ContenderName, ContenderSummary>>;
  readonly ratios: {
    readonly kjdVsCeiling: Spread;
    readonly kjdVsSeed000: Spread;
    readonly kjdVsSeed001: Spread;
    readonly kjdDefaultVsCeiling: Spread;
    /** kjd (recommended settings) against its own renderer and transport alone (absent before 2026-12-04 21:40). */
    readonly kjdVsFloor?: Spread;
    /** kjd's renderer and transport alone against the Go ceiling: what Node and JSON cost. */
    readonly floorVsCeiling?: Spread;
  };
  /** kjd alone, recommended settings, open loop at `ratePerSecond`. */
  readonly steady20: {
    readonly ratePerSecond: number;
    readonly items: number;
    readonly p50CreateMs: number;
    readonly p95CreateMs: number;
    readonly p99CreateMs: number;
    readonly maxCreateMs: number;
    readonly latencyCdfMs: readonly number[];
  };
  /** kjd alone with this many Jobs of its own in the namespace it watches. */
  readonly tracked10k: {
    readonly jobs: number;
    readonly finished: number;
    readonly unfinished: number;
    /** Start to /readyz OK with them (the watch cache synced). */
    readonly syncMs: number;
    /** RSS after sync and settling, and its peak. */
    readonly rssMB: number;
    readonly peakRssMB: number;
    /** CPU seconds from start to settled (listing, results of finished Jobs). */
    readonly cpuSeconds: number;
    /** CPU seconds over 10 s of idling afterwards (watch, heartbeats, metrics). */
    readonly idleCpuSecondsPer10s: number;
    /** The V8 heap (used, reserved) and memory outside it, from kjd's /metrics after settling. */
    readonly heapUsedMB: number;
    readonly heapTotalMB: number;
    readonly externalMB: number;
  };
  /** Process start to /readyz 200, empty namespace: the median, and every try. */
  readonly startToReadyMs: number;
  readonly startToReadyRunsMs: readonly number[];
  /** A smaller run of Jobs that really run (kwok Pods), kjd recommended settings. */
  readonly complete: {
    readonly items: number;
    readonly enqueueToCreatedMs: Percentiles;
    readonly createdToCompleteMs: Percentiles;
    readonly enqueueToCompleteMs: Percentiles;
    /** enqueue -> result record readable in Redis (the producer's view). */
    readonly enqueueToResultMs: Percentiles;
  };
}
