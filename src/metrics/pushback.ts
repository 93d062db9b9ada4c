// The API server's pushback as kjd sees it: how many requests it answered 429
// (retries included), the last Retry-After it asked for, and the pacing kjd
// applies (its client-side rate limit). Read by the dashboard's live stream.
import type { RequestEvent } from '../kube/transport.ts';

export interface PushbackSnapshot {
  readonly requests: number;
  readonly throttled: number;
  readonly lastRetryAfterMs: number | null;
  readonly lastThrottledAt: number | null;
  /** The client-side limit on requests to the API server, per second. */
  readonly pacingQps: number;
  readonly pacingBurst: number;
}

export class Pushback {
  readonly #pacing: { readonly qps: number; readonly burst: number };
  #requests = 0;
  #throttled = 0;
  #lastRetryAfterMs: number | null = null;
  #lastThrottledAt: number | null = null;

  constructor(pacing: { readonly qps: number; readonly burst: number }) {
    this.#pacing = pacing;
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
      pacingQps: this.#pacing.qps,
      pacingBurst: this.#pacing.burst,
    };
  }
}
