// The API server's pushback as kjd sees it: how many requests it answered 429
// (retries included), the last Retry-After it asked for, and the pacing kjd
// applies (the adaptive concurrency limit, or a fixed rate). Read by the
// dashboard's live stream.
import type { RequestEvent } from '../kube/transport.ts';

export interface PushbackSnapshot {
  readonly requests: number;
  readonly throttled: number;
  readonly lastRetryAfterMs: number | null;
  readonly lastThrottledAt: number | null;
  /** kjd's own limit on requests to the API server, as it stands now. */
  readonly pacing: PacingSnapshot;
}

/** Adaptive: requests in flight allowed now. Fixed: a token bucket. */
export type PacingSnapshot =
  | { readonly mode: 'adaptive'; readonly limit: number }
  | { readonly mode: 'fixed'; readonly qps: number; readonly burst: number }
  | { readonly mode: 'none' };

export class Pushback {
  #pacing: () => PacingSnapshot = () => ({ mode: 'none' });
  #requests = 0;
  #throttled = 0;
  #lastRetryAfterMs: number | null = null;
  #lastThrottledAt: number | null = null;

  /** Where the current pacing is read from (the client's limiter, once built). */
  readPacingFrom(read: () => PacingSnapshot): void {
    this.#pacing = read;
  }

  observe(e: RequestEvent): void {
    this.#requests += e.attempts;
    if (e.throttled === 0) return;
    this.#throttled += e.throttled;
    this.#lastThrottledAt = Date.now();
    if (e.retryAfterMs !== undefined) this.#lastRetryAfterMs = e.retryAfterMs;
  }

  snapshot(): PushbackSnapshot {
    return {
      requests: this.#requests,
      throttled: this.#throttled,
      lastRetryAfterMs: this.#lastRetryAfterMs,
      lastThrottledAt: this.#lastThrottledAt,
      pacing: this.#pacing(),
    };
  }
}
