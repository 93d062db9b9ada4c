// GET /v1/events: Job status changes as Server-Sent Events, for the
// namespaces the subscriber may watch and no others. Bounded on every side:
// at most maxSubscribers streams at once, at most maxBuffered events waiting
// for one slow subscriber (then it gets a final `overflow` event and is
// closed, so it knows to reconnect and re-read), and a heartbeat comment so
// proxies and clients can tell a quiet stream from a dead one.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { EventHub } from './event-hub.ts';
import { HttpError } from './http-errors.ts';

export interface EventStreamLimits {
  /** Default 100. */
  readonly maxSubscribers: number;
  /** Events queued for one subscriber before it is ended. Default 1000. */
  readonly maxBuffered: number;
  /** Default 15 000 ms. */
  readonly heartbeatMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxSubscribers: 100,
  maxBuffered: 1000,
  heartbeatMs: 15_000,
};

/** Sent as `event: stats` every `everyMs` (the dashboard's counts and rates), when given. */
export interface StatsFeed {
  readonly read: (namespaces: ReadonlySet<string>) => Promise<unknown>;
  readonly everyMs: number;
}

export function eventStream(
  c: Context,
  events: EventHub,
  namespaces: ReadonlySet<string>,
  limits: EventStreamLimits,
  stats?: StatsFeed,
): Response {
  if (events.subscribers >= limits.maxSubscribers)
    throw new HttpError(
      503,
      'TOO_MANY_SUBSCRIBERS',
      `at most ${limits.maxSubscribers} event streams at once`,
      5,
    );
  return streamSSE(c, async (stream) => {
    let id = 0;
    const queue: { readonly event: 'job' | 'stats'; readonly data: unknown }[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const isOverflowed = () => overflowed;
    const unsubscribe = events.subscribe((e) => {
      if (!namespaces.has(e.namespace) || overflowed) return;
      if (queue.length >= limits.maxBuffered) overflowed = true;
      else queue.push({ event: 'job', data: e });
      wake?.();
    });
    // Stats are pushed, not polled by the page: one read per interval per subscriber.
    const pushStats = () =>
      void stats?.read(namespaces).then(
        (data) => {
          if (stream.aborted) return;
          queue.push({ event: 'stats', data });
          wake?.();
        },
        () => undefined,
      );
    const statsTimer = stats === undefined ? undefined : setInterval(pushStats, stats.everyMs);
    pushStats();
    stream.onAbort(() => {
      unsubscribe();
      wake?.();
    });
    // A function, so each check reads the stream's state now (it changes across awaits).
    const open = () => !stream.aborted;
    try {
      await stream.write(`: subscribed to ${[...namespaces].join(', ')}\n\n`);
      while (open()) {
        for (let e = queue.shift(); e !== undefined && open(); e = queue.shift())
          await stream.writeSSE({ event: e.event, id: String(++id), data: JSON.stringify(e.data) });
        if (isOverflowed()) {
          await stream.writeSSE({
            event: 'overflow',
            data: JSON.stringify({
              reason: `more than ${limits.maxBuffered} events waited for this subscriber; reconnect and re-read the Jobs`,
            }),
          });
          return;
        }
        const heartbeat = await waitForEvent(limits.heartbeatMs, (w) => (wake = w));
        if (heartbeat && open()) await stream.write(': heartbeat\n\n');
      }
    } finally {
      clearInterval(statsTimer);
      unsubscribe();
    }
  });
}

/** Resolves true after `ms` (time for a heartbeat), false when woken first. */
function waitForEvent(ms: number, setWake: (w: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(true);
    }, ms);
    setWake(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
