// A token bucket per client address, for the work an unauthenticated caller
// can make kjd do (a TokenReview for a token kjd has not seen). Bounded:
// the least recently seen addresses are forgotten first.
import { TokenBucket, type RateLimit } from '../kube/rate-limiter.ts';

export class ClientLimiter {
  readonly #limit: RateLimit;
  readonly #max: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(limit: RateLimit, maxClients = 10_000) {
    this.#limit = limit;
    this.#max = maxClients;
  }

  /** True when `client` may go on now (a token was taken); false: it must wait. */
  tryTake(client: string): boolean {
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#limit);
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
    } else this.#buckets.delete(client);
    this.#buckets.set(client, bucket);
    return bucket.tryTake();
  }
}
