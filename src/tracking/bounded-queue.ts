// Runs tasks at most `concurrency` at a time, in order. After a restart kjd
// may find thousands of finished Jobs at once; recording their results (a
// Pods GET, a Redis write, a PATCH each) must not become thousands of
// requests at once against the API server and Redis.
export class BoundedQueue {
  readonly #concurrency: number;
  readonly #waiting: (() => Promise<void>)[] = [];
  #running = 0;
  #idle: (() => void)[] = [];

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new TypeError('concurrency: a positive integer');
    this.#concurrency = concurrency;
  }

  /** Tasks not finished yet (running and waiting). */
  get size(): number {
    return this.#running + this.#waiting.length;
  }

  /** Queues a task; its errors are the task's to handle (a rejection is dropped). */
  push(task: () => Promise<void>): void {
    this.#waiting.push(task);
    this.#next();
  }

  /** Resolves once nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops what has not started. */
  clear(): void {
    this.#waiting.length = 0;
    if (this.size === 0) this.#settle();
  }

  #next(): void {
    while (this.#running < this.#concurrency) {
      const task = this.#waiting.shift();
      if (task === undefined) break;
      this.#running++;
      void task()
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#next();
          if (this.size === 0) this.#settle();
        });
    }
  }

  #settle(): void {
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }
}
