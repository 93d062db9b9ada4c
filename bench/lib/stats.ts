// Percentiles, latency distributions and throughput from raw timings.
import { CDF_QUANTILES, type Percentiles, type Spread } from './results.ts';

/** Nearest-rank quantile (q in percent) of ascending `sorted`. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((q / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

const ascending = (values: readonly number[]) => [...values].sort((a, b) => a - b);

export function percentiles(values: readonly number[]): Percentiles {
  const s = ascending(values);
  return {
    p50: round(quantile(s, 50)),
    p95: round(quantile(s, 95)),
    p99: round(quantile(s, 99)),
    max: round(quantile(s, 100)),
  };
}

export function cdf(values: readonly number[]): number[] {
  const s = ascending(values);
  return CDF_QUANTILES.map((q) => round(quantile(s, q)));
}

/**
 * Jobs per second from the times (ms) Jobs were seen created: first to last,
 * and over the middle 80 % (10th to 90th), which leaves out start-up and tail.
 */
export function throughput(createdAtMs: readonly number[]): { overall: number; sustained: number } {
  const s = ascending(createdAtMs);
  const rate = (from: number, to: number) => {
    const a = s[from];
    const b = s[to];
    return a === undefined || b === undefined || b <= a ? Number.NaN : ((to - from) * 1000) / (b - a);
  };
  const lo = Math.floor(s.length * 0.1);
  const hi = Math.max(lo, Math.ceil(s.length * 0.9) - 1);
  return { overall: round(rate(0, s.length - 1)), sustained: round(rate(lo, hi)) };
}

export function median(values: readonly number[]): number {
  const s = ascending(values);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function spread(values: readonly number[]): Spread {
  return {
    median: round(median(values), 3),
    min: round(Math.min(...values), 3),
    max: round(Math.max(...values), 3),
    runs: values.map((v) => round(v, 3)),
  };
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
