// The HTTP API's authorization matrix (issue 12), against the real API server
// with real ServiceAccount tokens: who gets what answer, and that no request
// can act outside the namespace its caller may act in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { testEnv } from '../support/env.ts';
import { eventually, grantRole, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { useServeFixture } from '../support/serve-fixture.ts';
import type { ServeProcess } from '../support/serve.ts';
import { mergeResults } from './results.ts';

const template = new URL('../fixtures/behaving-job.yaml', import.meta.url).pathname;
const batch = () => testEnv().admin.makeApiClient(BatchV1Api);
const core = () => testEnv().admin.makeApiClient(CoreV1Api);

/** Each row of the matrix this file proves, for test/security/results/latest.json. */
export const MATRIX_ROWS = [
  'no token: 401',
  'bogus token: 401, without touching the create budget',
  'valid token without RBAC: 403 naming the missing rule',
  'namespace mismatch: 400; a listed namespace needs rights there: 403 / 202',
  'oversize body: 413; deeply nested body: 400',
  'over capacity: 429 with Retry-After',
  'SSE: events of its own namespaces only',
  'GET /v1/jobs is list, not get',
  'unknown route, unauthenticated: 401 telling nothing',
] as const;

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

describe('HTTP API authorization matrix', () => {
  const nsa = useNamespace('authz-a');
  const nsb = useNamespace('authz-b');
  const { serve, prefix } = useServeFixture(nsa, template);
  let kjd: ServeProcess;
  const tokens = { 'creator-a': '', 'creator-b': '', nobody: '' };
  const passed = new Set<string>();

  before(async () => {
    const accounts: [keyof typeof tokens, string, string[]][] = [
      ['creator-a', nsa.name, ['create', 'get', 'watch']],
      ['creator-b', nsb.name, ['create', 'get', 'list', 'watch']],
      ['nobody', nsa.name, []],
    ];
    for (const [name, namespace, verbs] of accounts) {
      await core().createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      if (verbs.length > 0)
        await grantRole(namespace, name, [{ apiGroups: ['batch'], resources: ['jobs'], verbs }]);
      tokens[name] = await serviceAccountToken(namespace, name);
    }
    const p = prefix();
    kjd = await serve(p, {
      http: { maxBodyBytes: 4096 },
      limits: { maxActiveJobs: 4 },
      routes: [
        { name: 'api', template, namespace: nsa.name, source: { type: 'http' } },
        {
          name: 'multi',
          template,
          namespace: nsa.name,
          source: { type: 'http', namespaces: [nsb.name] },
        },
      ],
    });
  });
  after(async () => {
    await mergeResults({ matrix: { cases: MATRIX_ROWS.length, passed: passed.size } });
  });

  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const res = await fetch(`${kjd.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
  const post = (path: string, token: string | undefined, body: unknown) =>
    call('POST', path, {
      ...(token !== undefined ? { token } : {}),
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const item = (tag: string, extra: Record<string, unknown> = {}) => ({
    id: `${tag}-${randomBytes(3).toString('hex')}`,
    CUSTOM_ID: tag,
    ...extra,
  });
  const metric = async (pattern: RegExp): Promise<number> => {
    const text = await (await fetch(`${kjd.url}/metrics`)).text();
    return Number(pattern.exec(text)?.[1] ?? 0);
  };
  const row = (name: (typeof MATRIX_ROWS)[number]) => passed.add(name);

  test('no token: 401; an unknown route asked unauthenticated tells nothing', async () => {
    assert.equal((await post('/v1/jobs', undefined, item('x'))).status, 401);
    row('no token: 401');
    const probe = await post('/v1/jobs?route=guess', undefined, item('x'));
    assert.equal(probe.status, 401);
    assert.doesNotMatch(probe.text, /api|multi|HTTP routes/);
    row('unknown route, unauthenticated: 401 telling nothing');
  });

  test('a valid token without RBAC: 403 naming the missing rule', async () => {
    const r = await post('/v1/jobs?route=api', tokens.nobody, item('x'));
    assert.equal(r.status, 403);
    assert.match(r.text, /system:serviceaccount:[^:]+:nobody may not create jobs\.batch/);
    assert.match(r.text, /verbs: \[\\"create\\"\]/);
    row('valid token without RBAC: 403 naming the missing rule');
  });

  test('the namespace check cannot be bypassed with ?namespace=', async () => {
    // creator-b may create Jobs only in nsb; the "api" route creates in nsa.
    const bypass = await post(`/v1/jobs?route=api&namespace=${nsb.name}`, tokens['creator-b'], item('b'));
    assert.equal(bypass.status, 400, bypass.text);
    const plain = await post('/v1/jobs?route=api', tokens['creator-b'], item('b'));
    assert.equal(plain.status, 403);
    // "multi" lists nsb: the Job goes there, and creator-b's rights there are what counts.
    const chosen = await post(`/v1/jobs?route=multi&namespace=${nsb.name}`, tokens['creator-b'], item('b'));
    assert.equal(chosen.status, 202, chosen.text);
    const { jobName } = JSON.parse(chosen.text) as { jobName: string };
    await batch().readNamespacedJob({ name: jobName, namespace: nsb.name });
    const notThere = await post(`/v1/jobs?route=multi&namespace=${nsb.name}`, tokens['creator-a'], item('a'));
    assert.equal(notThere.status, 403);
    const jobsInA = (await batch().listNamespacedJob({ namespace: nsa.name })).items;
    assert.ok(
      jobsInA.every((j) => !j.metadata?.annotations?.['kjd.dev/request-id']?.startsWith('b-')),
      'nothing of creator-b landed in nsa',
    );
    row('namespace mismatch: 400; a listed namespace needs rights there: 403 / 202');
  });

  test('oversize body: 413; a deeply nested body: 400 with the reason', async () => {
    const big = await post('/v1/jobs?route=api', tokens['creator-a'], {
      CUSTOM_ID: 'x',
      pad: 'x'.repeat(5000),
    });
    assert.equal(big.status, 413);
    const deep = await post(
      '/v1/jobs?route=api',
      tokens['creator-a'],
      `{"CUSTOM_ID":"x","d":${'['.repeat(1000)}${']'.repeat(1000)}}`,
    );
    assert.equal(deep.status, 400, deep.text);
    assert.match(deep.text, /nests deeper than/);
    row('oversize body: 413; deeply nested body: 400');
  });

  test('GET /v1/jobs needs list (creator-a has get, not list): 403; creator-b has list in nsb: 200', async () => {
    assert.equal(
      (await call('GET', `/v1/jobs?namespace=${nsa.name}`, { token: tokens['creator-a'] })).status,
      403,
    );
    assert.equal(
      (await call('GET', `/v1/jobs?namespace=${nsb.name}`, { token: tokens['creator-b'] })).status,
      200,
    );
    row('GET /v1/jobs is list, not get');
  });

  test('an SSE subscriber sees the events of its own namespaces only', async () => {
    const res = await fetch(`${kjd.url}/v1/events`, {
      headers: { authorization: `Bearer ${tokens['creator-b']}` },
    });
    assert.equal(res.status, 200);
    const seen: string[] = [];
    const stream = res.body as unknown as AsyncIterable<Uint8Array>;
    const controller = new AbortController();
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        if (controller.signal.aborted) return;
        for (const m of decoder.decode(chunk).matchAll(/"namespace":"([^"]+)"/g)) seen.push(m[1] ?? '');
      }
    })();
    await post('/v1/jobs?route=api', tokens['creator-a'], item('sse-a'));
    await post(`/v1/jobs?route=multi&namespace=${nsb.name}`, tokens['creator-b'], item('sse-b'));
    await eventually(
      'an event from nsb',
      () => Promise.resolve(seen.includes(nsb.name) ? true : undefined),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    controller.abort();
    await res.body?.cancel().catch(() => undefined);
    await reading.catch(() => undefined);
    assert.ok(!seen.includes(nsa.name), `no event of nsa: ${JSON.stringify(seen)}`);
    const nobody = await fetch(`${kjd.url}/v1/events`, {
      headers: { authorization: `Bearer ${tokens.nobody}` },
    });
    assert.equal(nobody.status, 403);
    await nobody.body?.cancel();
    row('SSE: events of its own namespaces only');
  });

  test('over capacity: 429 with Retry-After, and no Job past maxActiveJobs', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 8; i++)
      replies.push(
        await post('/v1/jobs?route=api', tokens['creator-a'], item(`cap${i}`, { OUTCOME: 'never' })),
      );
    const refused = replies.filter((r) => r.status === 429);
    assert.ok(refused.length > 0, replies.map((r) => r.status).join(','));
    assert.ok(refused.every((r) => Number(r.headers.get('retry-after')) > 0));
    const unfinished = (await batch().listNamespacedJob({ namespace: nsa.name })).items.filter(
      (j) => (j.status?.succeeded ?? 0) === 0 && (j.status?.failed ?? 0) === 0,
    );
    assert.ok(unfinished.length <= 4, `${unfinished.length} unfinished Jobs, maxActiveJobs 4`);
    row('over capacity: 429 with Retry-After');
  });
  test('bogus tokens: 401, reviewed on the auth client only, each token once', async () => {
    const before = await metric(/kjd_api_requests_total\{client="auth",resource="tokenreviews"\} (\d+)/);
    const bogus = `bogus-${randomBytes(8).toString('hex')}`;
    const replies = await Promise.all(Array.from({ length: 10 }, () => post('/v1/jobs', bogus, item('x'))));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([401]));
    const after = await metric(/kjd_api_requests_total\{client="auth",resource="tokenreviews"\} (\d+)/);
    assert.equal(after - before, 1, 'ten concurrent requests with one token: one TokenReview');
    assert.equal(
      await metric(/kjd_api_requests_total\{client="main",resource="tokenreviews"\} (\d+)/),
      0,
      'the create budget (main client) never reviews a token',
    );
    // A flood of distinct bogus tokens from one address is cut off (429) before the API server sees it.
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        post('/v1/jobs', `flood-${i}-${randomBytes(4).toString('hex')}`, item('x')),
      ),
    );
    assert.ok(
      flood.some((r) => r.status === 429),
      'new tokens per address are limited',
    );
    assert.ok(flood.every((r) => r.status === 401 || r.status === 429));
    row('bogus token: 401, without touching the create budget');
  });
});
