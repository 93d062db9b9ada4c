import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  apiError,
  KubeConflictError,
  KubeForbiddenError,
  KubeInvalidError,
  KubeTooManyRequestsError,
  parseStatus,
} from './errors.ts';
import { requestInfo } from './request-info.ts';

const url = 'https://h/apis/batch/v1/namespaces/default/jobs';
const ctx = (code: number, body: string, retryAfterMs?: number) => ({
  status: parseStatus(code, body),
  request: requestInfo('POST', url),
  method: 'POST',
  url,
  credential: 'token file /t',
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
});

// The body seed 001 printed, verbatim.
const seed403 =
  '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch is forbidden: User \\"system:serviceaccount:default:job-robot\\" cannot create resource \\"jobs\\" in API group \\"batch\\" in the namespace \\"default\\"","reason":"Forbidden","details":{"group":"batch","kind":"jobs"},"code":403}';

test("seed 001's 403 becomes a KubeForbiddenError with the rule to add", () => {
  const err = apiError(ctx(403, seed403));
  assert.ok(err instanceof KubeForbiddenError);
  assert.equal(
    err.message,
    'forbidden: system:serviceaccount:default:job-robot may not create jobs.batch in namespace "default"',
  );
  assert.equal(err.roleRule(), '- apiGroups: ["batch"]\n  resources: ["jobs"]\n  verbs: ["create"]');
  assert.match(
    err.hint(),
    /kubectl create rolebinding kjd --namespace default --role=kjd --serviceaccount=default:job-robot/,
  );
  assert.ok(!err.message.includes('{'), 'the raw body is not dumped');
});

test('422 keeps field and detail, drops the value dump', () => {
  const body = JSON.stringify({
    kind: 'Status',
    code: 422,
    reason: 'Invalid',
    message:
      'Job.batch "pi" is invalid: spec.template: Invalid value: {"labels":{"a":"b: c"}}: field is immutable',
    details: {
      name: 'pi',
      kind: 'Job',
      causes: [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.template',
          message: 'Invalid value: {"labels":{"a":"b: c"}}: field is immutable',
        },
      ],
    },
  });
  const err = apiError(ctx(422, body));
  assert.ok(err instanceof KubeInvalidError);
  assert.equal(err.message, 'invalid Job "pi": spec.template: field is immutable');
  assert.match(err.hint() ?? '', /cannot change once the Job exists/);
});

test('409 AlreadyExists, 429 with Retry-After, non-Status bodies', () => {
  const conflict = apiError(
    ctx(
      409,
      JSON.stringify({
        kind: 'Status',
        code: 409,
        reason: 'AlreadyExists',
        message: 'jobs.batch "x" already exists',
      }),
    ),
  );
  assert.ok(conflict instanceof KubeConflictError && conflict.alreadyExists);
  const throttled = apiError(ctx(429, '{"kind":"Status","code":429,"reason":"TooManyRequests"}', 2000));
  assert.ok(throttled instanceof KubeTooManyRequestsError);
  assert.equal(throttled.retryAfterMs, 2000);
  assert.equal(throttled.category, 'retryable');
  assert.equal(
    apiError(ctx(502, '<html>bad gateway</html>')).message,
    'API server error 502: <html>bad gateway</html>',
  );
});
