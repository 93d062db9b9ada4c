// When to try a request again: exponential backoff with full jitter (the AWS
// architecture blog's variant, as client-go's wait.Backoff with jitter 1.0),
// unless the API server said when (Retry-After or Status retryAfterSeconds).

export interface BackoffPolicy {
  /** Attempts after the first. */
  readonly maxRetries: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { maxRetries: 5, baseMs: 100, maxMs: 10_000 };

/** Delay before retry number `attempt` (1-based). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/** Retry-After in ms from a header (delta-seconds or HTTP date), if present and sane. */
export function retryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined || header === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 600) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.min(date - now, 600_000));
}
