// What a redrive decides, with plain-object fakes of the dead-letter place,
// the results store and the Job reads: requeue only a request with neither a
// Job nor a result; otherwise take the entry out and name the Job.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobNotFound as notFound } from '../../test/support/kube-errors.ts';
import type { DeadLetterEntry, DeadLetterPlace } from './place.ts';
import { RouteDeadLetters } from './route-dead-letters.ts';

function fakePlace(entries: DeadLetterEntry[]) {
  const requeued: string[] = [];
  const place: DeadLetterPlace = {
    key: 'q:dead',
    list: (limit) => Promise.resolve({ total: entries.length, items: entries.slice(0, limit) }),
    count: () => Promise.resolve(entries.length),
    get: (id) => Promise.resolve(entries.find((e) => e.id === id)),
    remove: (id) => {
      const i = entries.findIndex((e) => e.id === id);
      if (i >= 0) entries.splice(i, 1);
      return Promise.resolve(i >= 0);
    },
    requeue: async (id) => {
      const removed = await place.remove(id);
      if (removed) requeued.push(id);
      return removed;
    },
  };
  return { place, requeued };
}

const entry = (id: string, requestId: string): DeadLetterEntry => ({
  id,
  requestId,
  payload: '{}',
  reason: 'bad',
  code: 'PARAMETER_INVALID',
  attempts: 1,
  source: 'redis-list:q',
  failedAt: '2026-01-01T00:00:00Z',
});

function letters(entries: DeadLetterEntry[], withResult: string[], withJob: string[]) {
  const { place, requeued } = fakePlace(entries);
  const route = { name: 'r', namespace: 'ns', idScope: 'r', templateName: 'worker' };
  const l: RouteDeadLetters = new RouteDeadLetters({
    route,
    place,
    results: { exists: (id) => Promise.resolve(withResult.includes(id)) },
    jobs: {
      get: (name: string) =>
        withJob.some((id) => l.jobNameFor(id) === name)
          ? Promise.resolve({})
          : Promise.reject(notFound(name)),
    },
  });
  return { l, requeued, entries };
}

test('a request with neither Job nor result is requeued; one with either is taken out, never requeued', async () => {
  const { l, requeued, entries } = letters(
    [entry('a', 'fresh'), entry('b', 'has-result'), entry('c', 'has-job')],
    ['has-result'],
    ['has-job'],
  );
  assert.deepEqual(await l.redrive('a'), { id: 'a', requestId: 'fresh', outcome: 'requeued' });
  assert.deepEqual(await l.redrive('b'), {
    id: 'b',
    requestId: 'has-result',
    outcome: 'already-done',
    jobName: l.jobNameFor('has-result'),
    why: 'result-exists',
  });
  assert.equal((await l.redrive('c')).outcome, 'already-done');
  assert.deepEqual(requeued, ['a']);
  assert.equal(entries.length, 0);
  assert.deepEqual(await l.redrive('a'), { id: 'a', outcome: 'not-found' });
});

test('the Job name is the one the dispatcher gives the request (template name + hash of scope/id)', () => {
  const { l } = letters([], [], []);
  assert.match(l.jobNameFor('order-7'), /^worker-[0-9a-f]{10}$/);
  assert.notEqual(l.jobNameFor('order-7'), l.jobNameFor('order-8'));
});

test('redrive all goes oldest first and stops when aborted', async () => {
  const { l, requeued } = letters([entry('new', 'n'), entry('old', 'o')], [], []);
  const outcomes = await l.redriveAll();
  assert.deepEqual(requeued, ['old', 'new']);
  assert.equal(outcomes.length, 2);
  const aborted = letters([entry('x', 'x')], [], []);
  assert.deepEqual(await aborted.l.redriveAll(AbortSignal.abort()), []);
});
