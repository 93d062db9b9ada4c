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
): HandleContext & { calls: V1Job[] } {
  const calls: V1Job[] = [];
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
    },
    calls,
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

test('retryable failures past maxAttempts (counting earlier deliveries): dead-lettered', async () => {
  const c = ctx(() => Promise.reject(kubeError(429)));
  const out = await handleItem(item('{"CUSTOM_ID":"1"}', 2), c);
  assert.equal(out.kind === 'dead' && out.code, 'ATTEMPTS_EXHAUSTED');
  assert.equal(c.calls.length, 2, 'delivery 2 and 3 of maxAttempts 3');
});

test('a configuration error (403) keeps the item: retried until stopped, never dead-lettered', async () => {
  const ac = new AbortController();
  let n = 0;
  const c = ctx(
    () => {
      if (++n === 10) ac.abort();
      return Promise.reject(kubeError(403, { message: 'jobs.batch is forbidden: User "u" cannot create' }));
    },
    { signal: ac.signal, maxAttempts: 2 },
  );
  assert.deepEqual(await handleItem(item('{"CUSTOM_ID":"1"}'), c), { kind: 'abandoned' });
  assert.equal(n, 10, 'well past maxAttempts');
});

test('an existing Job for the same request counts as created', async () => {
  const c = ctx((job) => Promise.resolve({ job, created: false }));
  const out = await handleItem(item('{"CUSTOM_ID":"1"}'), c);
  assert.deepEqual(out.kind === 'created' && out.existed, true);
});
