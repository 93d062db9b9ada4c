import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveLimit } from './pacing.ts';

/** Fills every slot, then answers them all with `sample`: one round trip at the current limit. */
async function roundTrip(p: AdaptiveLimit, sample: { status: number; durationMs: number }): Promise<void> {
  const n = p.limit;
  const sent: number[] = [];
  for (let i = 0; i < n; i++) sent.push(await p.acquire());
  for (const inFlightAtSend of sent) p.release({ ...sample, inFlightAtSend });
}

/** One request at a time. */
async function single(p: AdaptiveLimit, sample: { status: number; durationMs: number }): Promise<void> {
  p.release({ ...sample, inFlightAtSend: await p.acquire() });
}

test('slow start grows the limit by half or more each round trip while answers stay fast', async () => {
  const now = 0;
  const p = new AdaptiveLimit({ initialLimit: 4, maxLimit: 100 }, () => now);
  await roundTrip(p, { status: 201, durationMs: 5 });
  assert.ok(p.limit >= 6, String(p.limit));
  await roundTrip(p, { status: 201, durationMs: 5 });
  assert.ok(p.limit >= 9, String(p.limit));
  for (let i = 0; i < 10; i++) await roundTrip(p, { status: 201, durationMs: 5 });
  assert.equal(p.limit, 100, 'never above maxLimit');
});

test('an idle client does not grow a limit it never used', async () => {
  const p = new AdaptiveLimit({ initialLimit: 16 }, () => 0);
  for (let i = 0; i < 100; i++) await single(p, { status: 200, durationMs: 5 });
  assert.equal(p.limit, 16);
});

test('429s halve the limit once per round trip, and count', async () => {
  let now = 0;
  const p = new AdaptiveLimit({ initialLimit: 64 }, () => now);
  await roundTrip(p, { status: 201, durationMs: 10 }); // a round trip is ~10 ms
  const before = p.limit;
  for (let i = 0; i < 10; i++) await single(p, { status: 429, durationMs: 1 });
  assert.equal(p.limit, Math.floor(before / 2), 'ten 429s at once are one signal');
  assert.equal(p.throttled, 10);
  now += 1000;
  await single(p, { status: 429, durationMs: 1 });
  assert.equal(p.limit, Math.floor(before / 4));
});

test('latency rising above its recent level backs off; a steady high latency does not', async () => {
  let now = 0;
  const p = new AdaptiveLimit({ initialLimit: 20, maxLimit: 1000 }, () => now);
  // Saturated and slow, but steadily so (a busy API server with many in flight): keeps growing.
  for (let i = 0; i < 5; i++) await roundTrip(p, { status: 201, durationMs: 400 });
  const grown = p.limit;
  assert.ok(grown > 20, `a steady 400 ms is no signal: ${String(grown)}`);
  // Then latency climbs to 10x within a few answers: the onset of overload.
  now += 1000;
  for (let i = 0; i < 10; i++) await single(p, { status: 201, durationMs: 4000 });
  const backedOff = p.limit;
  assert.ok(backedOff < grown, `${String(backedOff)} < ${String(grown)}`);
  // After the first signal, growth is additive: about sqrt(limit) per round trip.
  now += 10_000;
  for (let i = 0; i < 300; i++) await single(p, { status: 201, durationMs: 400 }); // the averages settle
  const settled = p.limit;
  await roundTrip(p, { status: 201, durationMs: 400 });
  const most = settled + Math.ceil(Math.sqrt(settled)) + 1;
  assert.ok(p.limit > settled && p.limit <= most, `additive: ${String(settled)} -> ${String(p.limit)}`);
});

test('5xx and network errors do not move the limit', async () => {
  const p = new AdaptiveLimit({ initialLimit: 8 }, () => 0);
  await roundTrip(p, { status: 503, durationMs: 1000 });
  await roundTrip(p, { status: 0, durationMs: 30_000 });
  assert.equal(p.limit, 8);
});

test('acquire waits for a slot, in order; an aborted wait leaves the queue', async () => {
  const p = new AdaptiveLimit({ initialLimit: 4, minLimit: 1 }, () => 0);
  for (let i = 0; i < 4; i++) await p.acquire();
  const order: string[] = [];
  const controller = new AbortController();
  const a = p.acquire().then(() => order.push('a'));
  const aborted = p.acquire(controller.signal).then(
    () => order.push('aborted got a slot'),
    () => order.push('aborted'),
  );
  const b = p.acquire().then(() => order.push('b'));
  controller.abort();
  await aborted;
  p.release();
  p.release();
  await Promise.all([a, b]);
  assert.deepEqual(order, ['aborted', 'a', 'b']);
  assert.equal(p.inFlight, 4);
});
