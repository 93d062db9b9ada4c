// A token bucket in front of the API server, like client-go's flowcontrol
// limiter but sized for a dispatcher (client-go's 5 QPS / burst 10 would cap
// kjd at 5 Jobs a second). Callers reserve a token and wait their turn, so
// order is kept without a queue; an aborted wait gives its token back.
import { sleep } from '../time/sleep.ts';

export interface RateLimit {
  /** Sustained requests per second. */
  readonly qps: number;
  /** Requests allowed at once after an idle period. */
  readonly burst: number;
}

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    if (!(limit.qps > 0) || !(limit.burst >= 1))
      throw new RangeError('rate limit needs qps > 0 and burst >= 1');
    this.#qps = limit.qps;
    this.#burst = limit.burst;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#last = now();
  }

  /** ms the caller must wait for its token (0: go now). Reserves the token. */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  /** Takes a token only if one is there now; never waits. */
  tryTake(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait === 0) return;
    try {
      await sleep(wait, signal);
    } catch (err) {
      this.#tokens += 1;
      throw err;
    }
  }
}
