// A wake-up many can wait on: wait() is the promise the next wake() resolves.
// The dispatcher's waiters for a free create slot share one, where
// Promise.race over every create in flight added a reaction to each of them
// per wait (one wait per item taken at the cap: ~256,000 reactions in a
// 2,000-item burst at 128 in flight, each run when its create ended).
import { sleep } from '../time/sleep.ts';

export class Wakeup {
  #next = Promise.withResolvers<undefined>();

  /** Resolves at the next wake(). */
  wait(): Promise<undefined> {
    return this.#next.promise;
  }

  /** Resolves at the next wake(), or after `ms`, whichever comes first. */
  async waitAtMost(ms: number): Promise<void> {
    const timer = new AbortController();
    await Promise.race([this.wait(), sleep(ms, timer.signal).catch(() => undefined)]);
    timer.abort();
  }

  wake(): void {
    const woken = this.#next;
    this.#next = Promise.withResolvers<undefined>();
    woken.resolve(undefined);
  }
}
