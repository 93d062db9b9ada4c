import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, retryAfterMs } from './backoff.ts';
import { TokenBucket } from './rate-limiter.ts';

test('a token bucket allows a burst, then spaces requests at 1/qps', () => {
  let now = 0;
  const bucket = new TokenBucket({ qps: 10, burst: 3 }, () => now);
  assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
  assert.equal(Math.round(bucket.reserve()), 100);
  assert.equal(Math.round(bucket.reserve()), 200);
  now += 1000; // refills, but never beyond the burst
  assert.equal(bucket.reserve(), 0);
});

test('an aborted wait gives its token back', async () => {
  const bucket = new TokenBucket({ qps: 1, burst: 1 });
  await bucket.take();
  const ac = new AbortController();
  const waiting = bucket.take(ac.signal);
  ac.abort();
  await assert.rejects(waiting);
  assert.ok(bucket.reserve() < 1100, 'the next caller does not pay for the aborted one');
});

test('rejects nonsense limits', () => {
  assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), RangeError);
});

test('backoff grows exponentially with full jitter, capped', () => {
  const policy = { maxRetries: 5, baseMs: 100, maxMs: 1000 };
  assert.equal(
    backoffDelay(policy, 1, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(policy, 10, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(policy, 3, () => 0),
    0,
  );
});

test('Retry-After as seconds or an HTTP date', () => {
  assert.equal(retryAfterMs('2'), 2000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5_000), 5000);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs('soon'), undefined);
});
