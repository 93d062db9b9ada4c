// From every repetition to the figures reported: each contender's medians,
// and ratios taken within a repetition (both sides measured minutes apart on
// the same machine) before their median is.
import type { ContenderSpec } from './contenders.ts';
import type { BenchResults, ContenderName, ContenderRun, ContenderSummary } from './results.ts';
import { CDF_QUANTILES } from './results.ts';
import { median, round, spread } from './stats.ts';

type Runs = readonly Readonly<Record<ContenderName, ContenderRun>>[];

export function summarizeRuns(
  runs: Runs,
  contenders: readonly ContenderSpec[],
): Pick<BenchResults, 'contenders' | 'ratios'> {
  const summary = Object.fromEntries(
    contenders.map((c) => [
      c.name,
      summarize(
        c.label,
        runs.map((r) => r[c.name]),
      ),
    ]),
  ) as Record<ContenderName, ContenderSummary>;
  const ratio = (a: ContenderName, b: ContenderName) =>
    spread(runs.map((r) => r[a].jobsPerSecond / r[b].jobsPerSecond));
  return {
    contenders: summary,
    ratios: {
      kjdVsCeiling: ratio('kjd', 'ceiling'),
      kjdVsSeed000: ratio('kjd', 'seed000'),
      kjdVsSeed001: ratio('kjd', 'seed001'),
      kjdDefaultVsCeiling: ratio('kjdDefault', 'ceiling'),
      kjdVsFloor: ratio('kjd', 'kjdFloor'),
      floorVsCeiling: ratio('kjdFloor', 'ceiling'),
    },
  };
}

function summarize(label: string, runs: readonly ContenderRun[]): ContenderSummary {
  const m = (f: (r: ContenderRun) => number) => round(median(runs.map(f)), 2);
  const jobsPerSecond = m((r) => r.jobsPerSecond);
  const cpuSeconds = m((r) => r.cpuSeconds);
  return {
    label,
    jobsPerSecond,
    jobsPerSecondRuns: runs.map((r) => r.jobsPerSecond),
    sustainedJobsPerSecond: m((r) => r.sustainedJobsPerSecond),
    latencyMs: {
      p50: m((r) => r.latencyMs.p50),
      p95: m((r) => r.latencyMs.p95),
      p99: m((r) => r.latencyMs.p99),
      max: m((r) => r.latencyMs.max),
    },
    latencyCdfMs: CDF_QUANTILES.map((_, i) => m((r) => r.latencyCdfMs[i] ?? Number.NaN)),
    cpuSeconds,
    peakRssMB: m((r) => r.peakRssMB),
    apiserverCpuSeconds: m((r) => r.apiserverCpuSeconds),
    cpuSecondsPer1000Jobs: round(
      (cpuSeconds * 1000) /
        Math.max(
          1,
          m((r) => r.created),
        ),
      2,
    ),
    correct: runs.every((r) => r.created === r.items && r.extra === 0),
  };
}
