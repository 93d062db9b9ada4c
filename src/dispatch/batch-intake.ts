// Batch mode's intake: one batch's items from a queue route's source.
import type { WorkItem, WorkSource } from '../sources/source.ts';
import { sleep } from '../time/sleep.ts';

export interface BatchSettings {
  /** Items in one Job, at most. */
  readonly maxItems: number;
  /** How long the first item of a batch waits for company. */
  readonly windowMs: number;
  /** The batch closes once its items' payloads reach about this many bytes. */
  readonly maxBytes: number;
  /** Items run one after another in each Pod. */
  readonly itemsPerPod: number;
}

/**
 * Up to maxItems: what is waiting now, then whatever else arrives within
 * the window after the first (one create for all of them, so it counts as
 * one against maxInFlightCreates and maxActiveJobs).
 */
export async function takeBatch(
  source: WorkSource,
  batch: BatchSettings,
  signal: AbortSignal,
): Promise<WorkItem[]> {
  const items =
    source.nextBatch === undefined
      ? await source.next(signal).then((i) => (i === undefined ? [] : [i]))
      : await source.nextBatch(batch.maxItems, signal);
  if (items.length === 0) return items;
  const deadline = performance.now() + batch.windowMs;
  let bytes = items.reduce((n, i) => n + i.payload.length, 0);
  while (items.length < batch.maxItems && bytes < batch.maxBytes && !signal.aborted) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    let more: WorkItem[];
    if (source.takeWaiting !== undefined) {
      more = await source.takeWaiting(batch.maxItems - items.length);
      if (more.length === 0) await sleep(Math.min(left, 10), signal).catch(() => undefined);
    } else {
      // A read cut short by the window keeps what it takes for the next call (WorkSource.next).
      const one = await source.next(AbortSignal.any([signal, AbortSignal.timeout(Math.ceil(left))]));
      more = one === undefined ? [] : [one];
    }
    for (const item of more) {
      items.push(item);
      bytes += item.payload.length;
    }
  }
  return items;
}
