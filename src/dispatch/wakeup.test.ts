import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Wakeup } from './wakeup.ts';

test('every waiter of one round wakes at the next wake(), and a later wait waits for the one after', async () => {
  const w = new Wakeup();
  let woken = 0;
  const waiters = [w.wait(), w.wait(), w.wait()].map((p) => p.then(() => woken++));
  const later = { done: false };
  w.wake();
  await Promise.all(waiters);
  assert.equal(woken, 3);
  void w.wait().then(() => (later.done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(later.done, false, 'a wait begun after the wake is not woken by it');
  w.wake();
  await new Promise((r) => setImmediate(r));
  assert.equal(later.done, true);
});

test('waitAtMost ends at its time when nothing wakes it', async () => {
  const w = new Wakeup();
  const started = performance.now();
  await w.waitAtMost(30);
  assert.ok(performance.now() - started >= 25);
});
