// The check of in-flight records after a start (ADR 0009), against fakes of
// kjd's own ports: only a record whose Job the API says is gone gets a
// Deleted result; a Job the cache has not seen yet is looked up, not
// declared gone; unfinished Jobs without a record are adopted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { jobNotFound as notFound } from '../../test/support/kube-errors.ts';
import type { InFlightJob } from './in-flight.ts';
import type { JobRef } from './job-tracker.ts';
import { reconcileInFlight } from './reconcile.ts';

const record = (name: string, namespace = 'ns'): InFlightJob => ({
  name,
  namespace,
  requestId: `id-${name}`,
  idScope: 'route',
  template: 't',
});

const ref = (name: string): JobRef => ({ ...record(name), finalizers: [] });

test('a recorded Job gone from the cluster gets Deleted; one in the cache or the API does not', async () => {
  const inCache = new Set(['ns/cached']);
  const inApi = new Set(['fresh']);
  const gets: string[] = [];
  const gone: JobRef[] = [];
  const adopted: InFlightJob[][] = [];
  const report = await reconcileInFlight({
    records: {
      key: 'kjd:inflight:kjd',
      all: () =>
        Promise.resolve([record('cached'), record('fresh'), record('deleted'), record('x', 'other')]),
      adopt: (jobs) => {
        adopted.push([...jobs]);
        return Promise.resolve(jobs.length);
      },
    },
    jobs: {
      get: (name) => {
        gets.push(name);
        return inApi.has(name) ? Promise.resolve({}) : Promise.reject(notFound(name));
      },
    },
    tracker: {
      has: (ns, name) => inCache.has(`${ns}/${name}`),
      unfinished: () => [ref('cached'), ref('unrecorded'), { ...ref('kjd-launch'), requestId: undefined }],
    },
    namespaces: ['ns'],
    gone: (r) => gone.push(r),
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
  assert.deepEqual(gets, ['fresh', 'deleted'], 'only records the cache lacks are looked up');
  assert.deepEqual(
    gone.map((r) => [r.name, r.requestId, r.idScope]),
    [['deleted', 'id-deleted', 'route']],
  );
  assert.deepEqual(
    adopted[0]?.map((j) => j.name),
    ['unrecorded'],
    'an unfinished Job without a record is adopted; one without a request id is not kjd serve’s',
  );
  assert.deepEqual(report, { records: 4, gone: 1, adopted: 1, elsewhere: 1 });
});

test('an API error other than 404 stops the pass (it is retried), declaring nothing gone', async () => {
  const gone: JobRef[] = [];
  await assert.rejects(
    reconcileInFlight({
      records: { key: 'k', all: () => Promise.resolve([record('a')]), adopt: () => Promise.resolve(0) },
      jobs: { get: () => Promise.reject(new Error('connection reset')) },
      tracker: { has: () => false, unfinished: () => [] },
      namespaces: ['ns'],
      gone: (r) => gone.push(r),
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
    }),
    /connection reset/,
  );
  assert.equal(gone.length, 0);
});

test('records of namespaces no route uses are left, counted and named in one warning', async () => {
  const lines: { level: number; msg: string; namespaces?: Record<string, number>; key?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
  const gets: string[] = [];
  const report = await reconcileInFlight({
    records: {
      key: 'kjd:inflight:rel',
      all: () => Promise.resolve([record('a', 'gone-ns'), record('b', 'gone-ns'), record('c', 'old')]),
      adopt: () => Promise.resolve(0),
    },
    jobs: {
      get: (name) => {
        gets.push(name);
        return Promise.resolve({});
      },
    },
    tracker: { has: () => false, unfinished: () => [] },
    namespaces: ['ns'],
    gone: () => assert.fail('nothing of another namespace is declared gone'),
    logger,
    signal: new AbortController().signal,
  });
  assert.deepEqual(gets, [], 'no lookups where the release may have no rights');
  assert.equal(report.elsewhere, 3);
  const warnings = lines.filter((l) => l.level === 40);
  assert.equal(warnings.length, 1);
  const [warning] = warnings;
  assert.ok(warning !== undefined);
  assert.deepEqual(warning.namespaces, { 'gone-ns': 2, old: 1 });
  assert.equal(warning.key, 'kjd:inflight:rel');
});
