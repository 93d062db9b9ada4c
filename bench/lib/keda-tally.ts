// What one run of the KEDA head-to-head (bench/keda.ts) comes to, from what
// the cluster and Redis hold: the Jobs seen (a ledger, since Jobs are deleted
// by their owners' clean-up), the workers' reports and what is left in the
// queue. Pure, so it is tested on its own (keda-tally.test.ts).

/** One report a worker LPUSHed on start: "<unix ms> <pod> <item>", item "-" when the list was empty. */
export interface WorkerReport {
  readonly atMs: number;
  readonly pod: string;
  /** The item's id, or undefined for a Job that found nothing to pop. */
  readonly itemId: string | undefined;
}

/** Items are `{"id":"<id>","ITEM":"<id>@<enqueue ms>"}`; kjd passes ITEM as the argument, KEDA's worker pops the whole item. */
export function parseReport(line: string): WorkerReport {
  const [at = '', pod = '', ...rest] = line.split(' ');
  const raw = rest.join(' ');
  let item = raw;
  if (raw.startsWith('{')) item = (JSON.parse(raw) as { ITEM?: string }).ITEM ?? raw;
  return {
    atMs: Number(at),
    pod,
    itemId: raw === '-' || raw === '' ? undefined : (item.split('@')[0] ?? item),
  };
}

export interface RunTally {
  readonly items: number;
  /** Jobs that existed during the run. */
  readonly jobs: number;
  /** Jobs that did no item the run had not already worked: found the list empty, or worked an item again. */
  readonly duplicates: number;
  readonly emptyPops: number;
  readonly workedTwice: number;
  /** Items no worker ever started (including those still queued). */
  readonly lost: number;
  readonly leftInQueue: number;
  /** Enqueue -> the worker starting on the item, over the items worked (first start). */
  readonly p50StartMs: number;
  readonly p99StartMs: number;
  readonly requests: number;
  readonly requestsPerItem: number;
}

export function tally(o: {
  readonly enqueuedAtMs: ReadonlyMap<string, number>;
  readonly jobs: number;
  readonly reports: readonly WorkerReport[];
  readonly leftInQueue: number;
  readonly requests: number;
}): RunTally {
  const firstStart = new Map<string, number>();
  let emptyPops = 0;
  let workedTwice = 0;
  for (const r of [...o.reports].sort((a, b) => a.atMs - b.atMs)) {
    if (r.itemId === undefined) emptyPops++;
    else if (firstStart.has(r.itemId)) workedTwice++;
    else firstStart.set(r.itemId, r.atMs);
  }
  const starts: number[] = [];
  for (const [id, at] of firstStart) {
    const enqueued = o.enqueuedAtMs.get(id);
    if (enqueued !== undefined) starts.push(at - enqueued);
  }
  const items = o.enqueuedAtMs.size;
  const worked = [...o.enqueuedAtMs.keys()].filter((id) => firstStart.has(id)).length;
  return {
    items,
    jobs: o.jobs,
    duplicates: Math.max(0, o.jobs - worked),
    emptyPops,
    workedTwice,
    lost: items - worked,
    leftInQueue: o.leftInQueue,
    p50StartMs: percentile(starts, 0.5),
    p99StartMs: percentile(starts, 0.99),
    requests: o.requests,
    requestsPerItem: items === 0 ? 0 : Math.round((o.requests / items) * 10) / 10,
  };
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

/** What a run reports: the tally without its inputs. */
export type Figures = Omit<RunTally, 'items' | 'requests'>;

export function figuresOf(t: RunTally): Figures {
  const { items: _items, requests: _requests, ...figures } = t;
  return figures;
}
