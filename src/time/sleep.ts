// Sleeps that end early, with the signal's reason, when the signal aborts:
// every wait in kjd (backoff, rate limit, polling) takes one.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Reads `signal.aborted` again. After an await the signal may have changed;
 * TypeScript's narrowing from a check before the await does not know that.
 */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  await delay(ms, undefined, signal === undefined ? {} : { signal });
}
