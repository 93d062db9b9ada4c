// The in-flight record of a redelivered item whose Job has already ended,
// with fakes of our own ports (the API server and Redis are tested end to
// end in test/serve). The interleaving these force is the one a real run hits
// only now and then: the result is written, and the record removed, between
// the redelivery's "already done?" check and its record.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { JobOperations } from '../kube/jobs.ts';
import { DispatcherMetrics } from '../metrics/metrics.ts';
import type { WorkItem, WorkSource } from '../sources/source.ts';
import { parseTemplate } from '../template/index.ts';
import type { InFlightJob } from '../tracking/in-flight.ts';
import { Dispatcher, type Route } from './dispatcher.ts';

const template = parseTemplate(
  readFileSync(new URL('../../examples/demo-job.yaml', import.meta.url), 'utf8'),
  'demo-job.yaml',
);

/** In-flight records and results as Redis keeps them, with the result recorder's own order. */
function store() {
  const records = new Map<string, InFlightJob>();
  const results = new Set<string>();
  return {
    records,
    results,
    inFlight: {
      add: (job: InFlightJob) => {
        records.set(`${job.namespace}/${job.name}`, job);
        return Promise.resolve();
      },
      remove: (job: Pick<InFlightJob, 'name' | 'namespace'>) => {
        records.delete(`${job.namespace}/${job.name}`);
        return Promise.resolve();
      },
    },
    /** What the result recorder does once the Job has ended: the result, then the record goes. */
    recordResult(job: V1Job) {
      results.add(job.metadata?.annotations?.['kjd.dev/request-id'] ?? '');
      records.delete(`${job.metadata?.namespace}/${job.metadata?.name}`);
    },
  };
}

/**
 * A Job that already exists (the first delivery made it, then its process
 * died before the ack): create answers 409. Its result lands while the
 * create is on the wire, as the tracker of the process that redelivers it
 * would write it.
 */
function existingJobThatEnds(s: ReturnType<typeof store>): Pick<JobOperations, 'create' | 'get'> {
  return {
    create: (job: V1Job) => {
      const made: V1Job = structuredClone(job);
      made.metadata ??= {};
      made.metadata.namespace = 'ns';
      made.metadata.uid = 'u-1';
      s.recordResult(made);
      return Promise.resolve({ job: made, created: false });
    },
    get: () => Promise.reject(new Error('not used')),
  };
}

function dispatcher(s: ReturnType<typeof store>, routes: Route[]): Dispatcher {
  return new Dispatcher({
    routes,
    jobs: existingJobThatEnds(s) as JobOperations,
    limits: { maxInFlightCreates: 4, maxActiveJobs: 100, maxAttempts: 3, retryBaseMs: 1 },
    metrics: new DispatcherMetrics(),
    logger: pino({ level: 'silent' }),
    activeJobs: () => 0,
    inFlight: s.inFlight,
    alreadyDone: (requestId) => Promise.resolve(s.results.has(requestId)),
  });
}

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    signal.addEventListener('abort', () => {
      resolve();
    });
  });

const item: WorkItem = { requestId: 'r-1', payload: '{"CUSTOM_ID":"1"}', attempts: 2, receivedAtMs: 0 };

test('HTTP: a record for a found Job whose result is already written does not outlive it', async () => {
  const s = store();
  const route: Route = { name: 'api', template, namespace: 'ns' };
  const out = await dispatcher(s, [route]).submit(route, item, new AbortController().signal);
  assert.equal(out.kind, 'created');
  assert.equal(s.results.size, 1);
  assert.deepEqual([...s.records.keys()], [], 'no record left behind its result');
});

test('a queue: a redelivered item whose Job ended meanwhile leaves no record, and is acknowledged', async () => {
  const s = store();
  const acked: string[] = [];
  const stop = new AbortController();
  let given = false;
  const source: WorkSource = {
    name: 'fake',
    start: () => Promise.resolve(),
    next: async (signal) => {
      if (!given) {
        given = true;
        return item;
      }
      await aborted(signal);
      return undefined;
    },
    ack: (i) => {
      acked.push(i.requestId);
      stop.abort();
      return Promise.resolve();
    },
    deadLetter: () => Promise.reject(new Error('not dead')),
    depth: () => Promise.resolve(0),
    stop: () => Promise.resolve(),
  };
  const d = dispatcher(s, [{ name: 'q', template, namespace: 'ns', source }]);
  await d.start();
  await aborted(stop.signal);
  await d.stop(1000);
  assert.deepEqual(acked, ['r-1']);
  assert.deepEqual([...s.records.keys()], [], 'no record left behind its result');
});
