// Holds back one route while the cluster refuses its items for reasons that
// are not the items' fault: a configuration error (RBAC, a namespace that does
// not exist) or no room (a full ResourceQuota). The route stops taking items,
// which stay in its queue; the other routes go on. It opens again after a
// backoff that doubles up to a cap, and the next item is the probe: a success
// resets it.
import type { KjdError } from '../errors.ts';
import { sleep } from '../time/sleep.ts';

export interface GateProblem {
  readonly code: string;
  readonly message: string;
  /**
   * configuration: /readyz reports the route not ready; capacity (a full
   * quota) and unavailable (the API server throttling, failing or
   * unreachable): it only waits.
   */
  readonly category: 'configuration' | 'capacity' | 'unavailable';
  readonly since: number;
}

export interface RouteGateOptions {
  /** First pause. Default 1000 ms. */
  readonly initialMs?: number;
  /** Longest pause. Default 30 000 ms. */
  readonly maxMs?: number;
  readonly now?: () => number;
}

export class RouteGate {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openAt = 0;
  #problem: GateProblem | undefined;

  constructor(options: RouteGateOptions = {}) {
    this.#initialMs = options.initialMs ?? 1000;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** Why the route is held back, while it is (until an item gets through). */
  get problem(): GateProblem | undefined {
    return this.#problem;
  }

  /** Closes the gate for the next backoff step; returns how long, ms. */
  hold(error: KjdError): number {
    const category =
      error.category === 'capacity'
        ? 'capacity'
        : error.category === 'retryable'
          ? 'unavailable'
          : 'configuration';
    const pause = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#failures, 16));
    this.#failures++;
    this.#openAt = Math.max(this.#openAt, this.#now() + pause);
    this.#problem = {
      code: error.code,
      message: error.message,
      category,
      since: this.#problem?.since ?? this.#now(),
    };
    return pause;
  }

  /** An item of this route got its Job: whatever held it is over. */
  ok(): void {
    this.#failures = 0;
    this.#openAt = 0;
    this.#problem = undefined;
  }

  /** Resolves when the route may take items again (at once when open); early when `signal` aborts. */
  async waitOpen(signal: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.#openAt - this.#now();
      if (wait <= 0 || signal.aborted) return;
      await sleep(wait, signal).catch(() => undefined);
    }
  }
}
