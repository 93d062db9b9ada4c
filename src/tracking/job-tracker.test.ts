// Watches that end at once must not become a loop of requests (issue 11,
// item 11). The transport is a fake of kjd's own port whose every watch ends
// immediately, empty, as a proxy or an overloaded API server can make it.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import type { JobOperations } from '../kube/jobs.ts';
import type { KubeTransport } from '../kube/transport.ts';
import { JobTracker } from './job-tracker.ts';

function endingAtOnce(): { transport: KubeTransport; watches: () => number } {
  let watches = 0;
  const transport = {
    connection: { credentials: { description: 'fake' } },
    stream: () => {
      watches++;
      // Ends on the next turn of the event loop, as a closed socket would.
      const body = new Readable({
        read() {
          setImmediate(() => this.push(null));
        },
      });
      return Promise.resolve({ status: 200, body });
    },
  } as unknown as KubeTransport;
  return { transport, watches: () => watches };
}

const emptyList = {
  list: () => Promise.resolve({ items: [], resourceVersion: '1' }),
} as unknown as JobOperations;

for (const initialSync of ['watch-list', 'list'] as const) {
  test(`${initialSync}: a watch that ends at once, empty, is retried with backoff`, async () => {
    const { transport, watches } = endingAtOnce();
    const tracker = new JobTracker({
      jobs: emptyList,
      transport,
      namespaces: ['ns'],
      logger: pino({ level: 'silent' }),
      initialSync,
    });
    tracker.start();
    await sleep(2000);
    await tracker.stop();
    // Backoff 0.5 s, 1 s, 2 s: a handful of watches in 2 s, not thousands.
    assert.ok(watches() <= 5, `${watches()} watches in 2 s`);
    assert.ok(watches() >= 2, `${watches()} watches in 2 s: it retried`);
  });
}
