// What each kind of failure does to an item, with a fake of our own
// JobOperations port (the API server's behaviour is tested end to end).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import { apiError } from '../kube/errors.ts';
import type { CreateResult } from '../kube/jobs.ts';
import { requestInfo } from '../kube/request-info.ts';
import { parseTemplate } from '../template/index.ts';
import { handleItem, type HandleContext } from './handle-item.ts';

const template = parseTemplate(
  readFileSync(new URL('../../examples/demo-job.yaml', import.meta.url), 'utf8'),
  'demo-job.yaml',
);
const url = 'https://h/apis/batch/v1/namespaces/ns/jobs';
const kubeError = (code: number, body: object = {}) =>
  apiError({
    status: { code, ...body },
    request: requestInfo('POST', url),
    method: 'POST',
    url,
    credential: 'token file /t',
  });
const item = (payload: string, attempts = 1) => ({ requestId: 'r-1', payload, attempts, receivedAtMs: 0 });

function ctx(
  create: (job: V1Job) => Promise<CreateResult>,
  extra: Partial<HandleContext> = {},
): HandleContext & { calls: V1Job[]; deleted: string[] } {
  const calls: V1Job[] = [];
  const deleted: string[] = [];
  return {
    template,
    namespace: 'ns',
    maxAttempts: 3,
    retryBaseMs: 1,
    signal: new AbortController().signal,
    jobs: {
      create: (job) => {
        calls.push(job);
        return create(job);
      },
      delete: (name) => {
        deleted.push(name);
        return Promise.resolve();
      },
    },
    calls,
    deleted,
    ...extra,
  };
}
const ok = (job: V1Job) => Promise.resolve({ job, created: true });

test('a good item becomes a Job named for its request id', async () => {
  const c = ctx(ok);
  const out = await handleItem(item('{"CUSTOM_ID":"7"}'), c);
  assert.equal(out.kind, 'created');
  assert.equal(c.calls[0]?.metadata?.annotations?.['kjd.dev/request-id'], 'r-1');
});

test('not JSON, or bad parameters: dead-lettered without calling the API', async () => {
  const c = ctx(ok);
  const notJson = await handleItem(item('{nope'), c);
  assert.equal(notJson.kind === 'dead' && notJson.code, 'ITEM_NOT_JSON');
  assert.match(notJson.kind === 'dead' ? notJson.reason : '', /^the item is not JSON: /);
  const bad = await handleItem(item('{"OUTCOME":"x"}'), c);
  assert.equal(bad.kind === 'dead' && bad.code, 'PARAMETER_INVALID');
  assert.equal(c.calls.length, 0);
});

test('a Job the API server rejects (422) is dead-lettered with the field message', async () => {
  const c = ctx(() =>
    Promise.reject(
      kubeError(422, {
        reason: 'Invalid',
        details: {
          kind: 'Job',
          name: 'x',
          causes: [{ field: 'spec.template.spec.containers[0].image', message: 'Required value' }],
        },
      }),
    ),
  );
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.deepEqual(out.kind === 'dead' && [out.code, out.reason], [
    'KUBE_INVALID',
    'invalid Job "x": spec.template.spec.containers[0].image: Required value',
  ]);
});

test('retryable failures are retried, then succeed', async () => {
  let n = 0;
  const retries: number[] = [];
  const c = ctx((job) => (++n < 3 ? Promise.reject(kubeError(503)) : ok(job)), {
    onRetry: (_e, attempt) => retries.push(attempt),
  });
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.equal(out.kind, 'created');
  assert.deepEqual(retries, [1, 2]);
});

test('retryable failures past maxAttempts: held (back to the queue, the route pauses), never dead-lettered', async () => {
  const c = ctx(() => Promise.reject(kubeError(503)));
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 40), c);
  assert.equal(out.kind, 'held');
  assert.equal(out.error.category, 'retryable');
  assert.match(out.jobName ?? '', /^demo-worker-/, 'the name to ask about: the create may have landed');
  assert.equal(c.calls.length, 3, 'maxAttempts 3 tries in this delivery, whatever came before');
});

test('an RBAC refusal (403, no object named) holds the item: never dead-lettered, its route pauses', async () => {
  const c = ctx(() =>
    Promise.reject(
      kubeError(403, {
        message: 'jobs.batch is forbidden: User "u" cannot create resource "jobs"',
        details: { group: 'batch', kind: 'jobs' },
      }),
    ),
  );
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 9), { ...c, maxAttempts: 2 });
  assert.equal(out.kind, 'held');
  assert.equal(out.error.code, 'KUBE_FORBIDDEN');
  assert.equal(c.calls.length, 1, 'not retried in place: the item goes back to its queue');
});

test("an admission denial (403 naming the object, e.g. a ValidatingAdmissionPolicy with reason Forbidden) is the item's: dead-lettered with the denial", async () => {
  const message =
    "jobs.batch \"demo-1\" is forbidden: ValidatingAdmissionPolicy 'no-bad' with binding 'no-bad' denied request: bad value";
  const c = ctx(() =>
    Promise.reject(kubeError(403, { message, details: { name: 'demo-1', group: 'batch', kind: 'jobs' } })),
  );
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.equal(out.kind === 'dead' && out.code, 'KUBE_ADMISSION_DENIED');
  assert.match(out.kind === 'dead' ? out.reason : '', /denied request: bad value/);
});

test('a full ResourceQuota (403 exceeded quota) holds the item: no room, never dead-lettered', async () => {
  const message =
    'jobs.batch "demo-1" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, used: count/jobs.batch=2, limited: count/jobs.batch=2';
  const c = ctx(() =>
    Promise.reject(kubeError(403, { message, details: { name: 'demo-1', group: 'batch', kind: 'jobs' } })),
  );
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 50), { ...c, maxAttempts: 2 });
  assert.equal(out.kind, 'held');
  assert.equal(out.error.category, 'capacity');
});

test("a route whose namespace does not exist (404 namespaces) holds the item: the route's fault, not the item's", async () => {
  const c = ctx(() =>
    Promise.reject(
      kubeError(404, {
        message: 'namespaces "nope" not found',
        details: { name: 'nope', kind: 'namespaces' },
      }),
    ),
  );
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.equal(out.kind, 'held');
  assert.equal(out.error.category, 'configuration');
  assert.match(out.error.message, /namespace "nope" does not exist/);
});

test('a request that already has a result gets no second Job (the result outlives the Job)', async () => {
  const asked: string[] = [];
  const c = ctx(ok, {
    idScope: 'route-a',
    alreadyDone: (id, scope) => {
      asked.push(`${scope ?? ''}|${id}`);
      return Promise.resolve(true);
    },
  });
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.equal(out.kind, 'done');
  assert.deepEqual(asked, ['route-a|r-1']);
  assert.equal(c.calls.length, 0);
});

test('a redelivery whose Job ended and went while it was checked: the Job it made is taken back', async () => {
  // The first delivery's Job ended, its result was written and its Job deleted
  // between this delivery's check and its create, which so made a second Job.
  let results = 0;
  const c = ctx(ok, {
    alreadyDone: () => Promise.resolve(results++ > 0),
  });
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 2), c);
  assert.equal(out.kind, 'done');
  assert.equal(c.calls.length, 1);
  assert.deepEqual(c.deleted, [c.calls[0]?.metadata?.name]);
});

test('a first delivery is not asked again after its create (one EXISTS per item)', async () => {
  let asked = 0;
  const c = ctx(ok, {
    alreadyDone: () => Promise.resolve(asked++ > 0),
  });
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 1), c);
  assert.equal(out.kind, 'created');
  assert.equal(asked, 1);
  assert.deepEqual(c.deleted, []);
});

test('a poison item (too big, too deep, too many keys) is dead-lettered unparsed', async () => {
  const c = ctx(ok, { itemLimits: { maxBytes: 1000, maxDepth: 4, maxEntries: 50 } });
  const big = await handleItem(item(JSON.stringify({ CUSTOM_ID: '1', pad: 'x'.repeat(2000) })), c);
  const deep = await handleItem(item(`{"CUSTOM_ID":"1","a":${'['.repeat(10)}${']'.repeat(10)}}`), c);
  const keys = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i]));
  const many = await handleItem(item(JSON.stringify({ CUSTOM_ID: '1', ...keys })), c);
  for (const out of [big, deep, many]) assert.equal(out.kind === 'dead' && out.code, 'ITEM_TOO_LARGE');
  assert.equal(c.calls.length, 0);
});

test('ids are scoped: the same id in two scopes makes two Job names, and the scope is recorded', async () => {
  const a = ctx(ok, { idScope: 'a' });
  const b = ctx(ok, { idScope: 'b' });
  await handleItem(item('{"CUSTOM_ID":"1"}'), a);
  await handleItem(item('{"CUSTOM_ID":"1"}'), b);
  assert.notEqual(a.calls[0]?.metadata?.name, b.calls[0]?.metadata?.name);
  const annotations = a.calls[0]?.metadata?.annotations ?? {};
  assert.equal(annotations['kjd.dev/id-scope'], 'a');
  assert.equal(annotations['kjd.dev/request-id'], 'r-1');
});

test('kjd serve decorations: instance label and result finalizer on every Job', async () => {
  const c = ctx(ok, { labels: { 'app.kubernetes.io/instance': 'rel' }, finalizers: ['kjd.dev/result'] });
  await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  const metadata = c.calls[0]?.metadata ?? {};
  assert.equal(metadata.labels?.['app.kubernetes.io/instance'], 'rel');
  assert.deepEqual(metadata.finalizers, ['kjd.dev/result']);
});

test('an existing Job for the same request counts as created', async () => {
  const c = ctx((job) => Promise.resolve({ job, created: false }));
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.deepEqual(out.kind === 'created' && out.existed, true);
});
