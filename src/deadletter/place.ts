// The dead-letter place of one queue route, read and changed from outside the
// dispatcher (the HTTP API, `kjd dlq`, the dashboard): list, show, delete,
// and requeue. Each change is one atomic Redis step (a script), so two people
// redriving or deleting the same entry at once act on it once: the loser
// finds it gone.

/** One dead-lettered item as the dead-letter place recorded it. */
export interface DeadLetterEntry {
  /** Stable while the entry exists: the dead-letter stream's entry id, or a hash of the list element. */
  readonly id: string;
  /** The item's request id: a redriven item keeps it, so exactly-once holds across the redrive. */
  readonly requestId: string;
  /** The item as the producer sent it (absent when it was not UTF-8: see payloadBase64). */
  readonly payload?: string;
  readonly payloadBase64?: string;
  readonly reason: string;
  /** Stable code of the error, e.g. PARAMETER_INVALID. */
  readonly code: string;
  readonly attempts: number;
  /** The source it came from, e.g. `redis-list:jobs`. */
  readonly source: string;
  readonly failedAt: string;
}

export interface DeadLetterPage {
  /** Entries in the place now, all of them (the page may hold fewer). */
  readonly total: number;
  /** Newest first. */
  readonly items: readonly DeadLetterEntry[];
}

/** A route's dead-letter place; one implementation per kind of queue. */
export interface DeadLetterPlace {
  /** Where entries are (the Redis key), for messages. */
  readonly key: string;
  list(limit: number): Promise<DeadLetterPage>;
  count(): Promise<number>;
  get(id: string): Promise<DeadLetterEntry | undefined>;
  /** Takes the entry out. False when it was not there (deleted or redriven already). */
  remove(id: string): Promise<boolean>;
  /**
   * Takes the entry out and puts its item back on the route's queue with its
   * request id and a fresh delivery count, in one step. False when it was not there.
   */
  requeue(id: string): Promise<boolean>;
}
