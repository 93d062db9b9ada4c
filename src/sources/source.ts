// Where work items come from. Each source (Redis list, Redis stream, HTTP) is
// one small module behind this interface, so the dispatcher does not know
// which it is reading, and more can be added.
//
// The contract every source keeps:
// - an item stays in its store (Redis) until ack() or deadLetter(): a crash
//   between next() and ack() loses nothing, the item is delivered again;
// - a redelivered item has the same requestId, so the Job it leads to has the
//   same deterministic name and is never created twice;
// - next() resolves undefined once `signal` aborts, without taking an item.

export interface WorkItem {
  /** Stable across redeliveries: the producer's id, the stream entry id, or one given at first take. */
  readonly requestId: string;
  /** The item exactly as the producer sent it. */
  readonly payload: string;
  /** How many times this item has been delivered, this one included (1 on the first). */
  readonly attempts: number;
  /** When the producer enqueued it (ms since epoch), when the source knows. */
  readonly enqueuedAtMs?: number;
  /** When this process took it (ms since epoch). */
  readonly receivedAtMs: number;
}

export interface DeadLetter {
  readonly reason: string;
  /** Stable code of the error that made the item impossible, e.g. PARAMETER_INVALID. */
  readonly code: string;
}

export interface WorkSource {
  /** For logs and metrics, e.g. `redis-list:jobs:worker`. */
  readonly name: string;
  /** Connects and prepares (consumer groups, recovery). Idempotent. */
  start(): Promise<void>;
  /** The next item, waiting up to the source's block time; undefined if none came or `signal` aborted. */
  next(signal: AbortSignal): Promise<WorkItem | undefined>;
  /**
   * Optional: up to `max` items at once when they are waiting (fewer round
   * trips under load), else as next(). Same contract as next() per item.
   */
  nextBatch?(max: number, signal: AbortSignal): Promise<WorkItem[]>;
  /**
   * Optional: up to `max` items that are waiting now, never blocking (batch
   * mode fills a batch with them within its window). Same contract as next().
   */
  takeWaiting?(max: number): Promise<WorkItem[]>;
  /** The Job exists: the item leaves the store. */
  ack(item: WorkItem): Promise<void>;
  /** The item can never become a Job: move it, with the reason, to the dead-letter place next to its queue. */
  deadLetter(item: WorkItem, why: DeadLetter): Promise<void>;
  /**
   * Hands one taken item back to its queue at once, for another try later (its
   * route is held back, or acknowledging it failed).
   */
  release?(item: WorkItem): Promise<void>;
  /** Items waiting (not yet taken), for metrics and backpressure. */
  depth(): Promise<number>;
  /** Stops taking items and hands the unacknowledged ones back for others. Idempotent. */
  stop(): Promise<void>;
}
