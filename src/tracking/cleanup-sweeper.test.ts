// The cleanup delay is counted from each Job's own finish time, so it
// survives a restart, and a delay past Node's timer limit does not fire early.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CleanupSweeper, MAX_TIMER_MS } from './cleanup-sweeper.ts';

function sweeper(afterSeconds: number, now: { t: number }) {
  const removed: string[] = [];
  const s = new CleanupSweeper({
    afterSeconds,
    now: () => now.t,
    remove: (job) => {
      removed.push(job.name);
      return Promise.resolve();
    },
  });
  return { s, removed };
}

test('after a restart a Job is due at its finish time + afterSeconds, not at once and not a whole delay later', async () => {
  const now = { t: 1_000_000 };
  const { s, removed } = sweeper(300, now);
  // Finished 100 s before this (restarted) process saw it.
  s.schedule({ name: 'j', namespace: 'ns' }, now.t - 100_000);
  assert.equal(await s.sweep(), 0, 'not at once');
  now.t += 199_000;
  assert.equal(await s.sweep(), 0);
  now.t += 1_000;
  assert.equal(await s.sweep(), 1, 'exactly 300 s after it finished');
  assert.deepEqual(removed, ['j']);
  s.stop();
});

test('a delay longer than 2^31-1 ms (24.9 days) does not delete early', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const removed: string[] = [];
  const s = new CleanupSweeper({
    afterSeconds: 30 * 86_400,
    remove: (job) => {
      removed.push(job.name);
      return Promise.resolve();
    },
  });
  s.schedule({ name: 'j', namespace: 'ns' }, 0);
  t.mock.timers.tick(MAX_TIMER_MS);
  await Promise.resolve();
  t.mock.timers.tick(25 * 86_400_000);
  await Promise.resolve();
  assert.deepEqual(removed, [], 'nothing deleted after 25 days of a 30-day delay');
  s.stop();
});

test("a Job's own delay (a template's TTL, kept by kjd) is used alone, or when shorter than afterSeconds", async () => {
  const now = { t: 1_000_000 };
  const removed: string[] = [];
  const own = new CleanupSweeper({
    now: () => now.t,
    remove: (job) => (removed.push(job.name), Promise.resolve()),
  });
  own.schedule({ name: 'none', namespace: 'ns' }, now.t);
  own.schedule({ name: 'ttl', namespace: 'ns' }, now.t, 5);
  assert.equal(own.pending, 1, 'without afterSeconds, a Job without a delay of its own stays');
  now.t += 5_000;
  assert.equal(await own.sweep(), 1);
  assert.deepEqual(removed, ['ttl']);
  own.stop();
  const { s } = sweeper(60, now);
  assert.equal(s.dueAt(0, 5), 5_000, 'the shorter wins');
  assert.equal(s.dueAt(0, 600), 60_000);
  assert.equal(s.dueAt(0), 60_000);
  s.stop();
});
