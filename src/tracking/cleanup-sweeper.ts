// Deletes finished Jobs `afterSeconds` after they finished, counted from the
// Job's own finish time, so a restart keeps the configured delay (a Job that
// finished an hour before kjd came back is due an hour sooner, not at once
// and not a whole delay later). One timer for all Jobs, re-armed at most a
// minute ahead: Node's timers overflow past 2^31 - 1 ms (24.8 days) and would
// fire at once.
//
// A Job may carry its own delay: its template's ttlSecondsAfterFinished,
// which kjd takes over when the Job has no finalizer (ADR 0009), so that
// nothing deletes a Job before its result. The shorter delay wins.
export interface CleanupTarget {
  readonly name: string;
  readonly namespace: string;
}

export interface CleanupSweeperOptions {
  /** Every finished Job, this long after it finished. Unset: only Jobs with their own delay. */
  readonly afterSeconds?: number;
  /** Deletes one Job; `signal` aborts when the sweeper stops. */
  readonly remove: (job: CleanupTarget, signal: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

/** Longest single timer: far below Node's 2^31 - 1 ms limit. */
export const MAX_TIMER_MS = 60_000;

export class CleanupSweeper {
  readonly #o: CleanupSweeperOptions;
  readonly #now: () => number;
  /** namespace/name -> when it is due (ms since epoch). */
  readonly #due = new Map<string, { job: CleanupTarget; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  readonly #stop = new AbortController();
  #stopped = false;
  #sweeping = false;

  constructor(options: CleanupSweeperOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get pending(): number {
    return this.#due.size;
  }

  /** When `job` (finished at `finishedAtMs`, with its own delay if any) will be deleted; undefined: never. */
  dueAt(finishedAtMs: number, ownSeconds?: number): number | undefined {
    const { afterSeconds } = this.#o;
    const after =
      afterSeconds === undefined ? ownSeconds : Math.min(afterSeconds, ownSeconds ?? afterSeconds);
    return after === undefined ? undefined : finishedAtMs + after * 1000;
  }

  /** `ownSeconds`: the Job's own delay (its template's ttlSecondsAfterFinished, kept by kjd). */
  schedule(job: CleanupTarget, finishedAtMs: number, ownSeconds?: number): void {
    const at = this.dueAt(finishedAtMs, ownSeconds);
    if (this.#stopped || at === undefined) return;
    this.#due.set(`${job.namespace}/${job.name}`, { job, at });
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#stop.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#due.clear();
  }

  /** Deletes everything due now; returns how many. (The timer calls it; tests may too.) */
  async sweep(): Promise<number> {
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    let removed = 0;
    try {
      const now = this.#now();
      for (const [key, { job, at }] of [...this.#due]) {
        if (at > now || this.#stopped) continue;
        this.#due.delete(key);
        await this.#o.remove(job, this.#stop.signal).catch(() => undefined);
        removed++;
      }
    } finally {
      this.#sweeping = false;
    }
    this.#arm();
    return removed;
  }

  #arm(): void {
    if (this.#stopped || this.#due.size === 0) return;
    let next = Infinity;
    for (const { at } of this.#due.values()) next = Math.min(next, at);
    const wait = Math.max(0, Math.min(MAX_TIMER_MS, next - this.#now()));
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.sweep(), wait);
    this.#timer.unref();
  }
}
