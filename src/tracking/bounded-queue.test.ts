// Results of thousands of finished Jobs at start-up are recorded a few at a
// time, not all at once (issue 11 item 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from './bounded-queue.ts';

test('never more than `concurrency` tasks run at once; all of them run; idle() waits for the last', async () => {
  const q = new BoundedQueue(8);
  let running = 0;
  let peak = 0;
  let done = 0;
  for (let i = 0; i < 5000; i++)
    q.push(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
      done++;
    });
  await q.idle();
  assert.equal(peak, 8);
  assert.equal(done, 5000);
});

test('a failing task does not stop the others', async () => {
  const q = new BoundedQueue(2);
  let done = 0;
  q.push(() => Promise.reject(new Error('boom')));
  q.push(() => {
    done++;
    return Promise.resolve();
  });
  await q.idle();
  assert.equal(done, 1);
});
