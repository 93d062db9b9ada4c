import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReport, percentile, tally } from '../../bench/lib/keda-tally.ts';

test('reports: a popped item, an argument, an empty pop', () => {
  assert.deepEqual(parseReport('1000 pod-a {"id":"b-1","ITEM":"b-1@900"}'), {
    atMs: 1000,
    pod: 'pod-a',
    itemId: 'b-1',
  });
  assert.deepEqual(parseReport('1001 pod-b b-2@950'), { atMs: 1001, pod: 'pod-b', itemId: 'b-2' });
  assert.deepEqual(parseReport('1002 pod-c -'), { atMs: 1002, pod: 'pod-c', itemId: undefined });
});

test('duplicates are Jobs beyond the items worked: empty pops and items worked twice', () => {
  const t = tally({
    enqueuedAtMs: new Map([
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]),
    jobs: 5,
    reports: [
      { atMs: 100, pod: 'p1', itemId: 'a' },
      { atMs: 300, pod: 'p2', itemId: 'b' },
      { atMs: 400, pod: 'p3', itemId: undefined },
      { atMs: 500, pod: 'p4', itemId: 'a' },
    ],
    leftInQueue: 1,
    requests: 30,
  });
  assert.equal(t.duplicates, 3); // 5 Jobs, 2 items worked
  assert.equal(t.emptyPops, 1);
  assert.equal(t.workedTwice, 1);
  assert.equal(t.lost, 1); // c never started
  assert.equal(t.leftInQueue, 1);
  assert.equal(t.p50StartMs, 100); // first starts only: 100 and 300
  assert.equal(t.p99StartMs, 300);
  assert.equal(t.requestsPerItem, 10);
});

test('nearest-rank percentiles', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});
