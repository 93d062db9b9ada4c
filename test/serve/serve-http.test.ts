// The /v1 HTTP API of `kjd serve`, against the real API server: callers are
// authenticated by TokenReview and authorized by SubjectAccessReview, items
// arrive as JSON or CloudEvents, bad ones get a JSON error with a code, and
// status changes stream as Server-Sent Events.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { testEnv } from '../support/env.ts';
import { eventually, grantRole, serviceAccountToken, useNamespace } from '../support/kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from '../support/serve.ts';

const template = new URL('../../examples/demo-job.yaml', import.meta.url).pathname;

interface ApiReply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

describe('kjd serve HTTP API', () => {
  const ns = useNamespace('serve-http');
  let dir: string;
  let kjd: ServeProcess;
  let producer: string;
  let nobody: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-http-'));
    const core = testEnv().admin.makeApiClient(CoreV1Api);
    for (const name of ['producer', 'nobody']) {
      await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name } } });
    }
    await grantRole(ns.name, 'producer', [
      // watch: /v1/events streams the namespaces a caller may watch.
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
    ]);
    producer = await serviceAccountToken(ns.name, 'producer');
    nobody = await serviceAccountToken(ns.name, 'nobody');
    const p = `h${randomBytes(3).toString('hex')}`;
    const file = await writeServeConfig(dir, p, {
      http: { maxBodyBytes: 4096 },
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
      routes: [{ name: 'api', template, namespace: ns.name, source: { type: 'http' } }],
    });
    kjd = await startServe(file, dir, `${p}-a`);
  });
  after(async () => {
    kjd.child.kill('SIGTERM');
    await kjd.exited;
    await rm(dir, { recursive: true, force: true });
  });

  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiReply> {
    const res = await fetch(`${kjd.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    });
    return { status: res.status, body: (await res.json()) as ApiReply['body'] };
  }
  const post = (body: unknown, token = producer, headers: Record<string, string> = {}) =>
    call('POST', '/v1/jobs', {
      token,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    });

  test('no token: 401; a token whose user may not create Jobs: 403 naming the user', async () => {
    const anon = await call('POST', '/v1/jobs', { body: '{"CUSTOM_ID":"1"}' });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error?.code, 'UNAUTHENTICATED');
    const denied = await post({ CUSTOM_ID: '1' }, nobody);
    assert.equal(denied.status, 403);
    assert.match(
      denied.body.error?.message ?? '',
      new RegExp(
        `^system:serviceaccount:${ns.name}:nobody may not create jobs\\.batch in namespace "${ns.name}"\\. ` +
          'Add this rule to a Role',
      ),
    );
    const forged = await post({ CUSTOM_ID: '1' }, 'not-a-real-token');
    assert.equal(forged.status, 401);
  });

  test(
    'POST an item: 202 with the Job and its status URL; the same id again makes no second Job',
    { timeout: 60_000 },
    async () => {
      const first = await post({ id: 'order-1', CUSTOM_ID: '1' });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.match(String(first.body.jobName), /^demo-worker-[0-9a-f]{10}$/);
      assert.equal(first.body.existed, false);
      const again = await post({ id: 'order-1', CUSTOM_ID: '1' });
      assert.deepEqual(
        [again.status, again.body.jobName, again.body.existed],
        [202, first.body.jobName, true],
      );
      const done = await eventually('the result', async () => {
        const r = await call('GET', String(first.body.status), { token: producer });
        return (r.body.result as { status?: string } | undefined)?.status !== undefined ? r : undefined;
      });
      assert.equal(done.body.phase, 'Succeeded');
      assert.equal((done.body.result as { status: string }).status, 'Succeeded');
      assert.equal(done.body.requestId, 'order-1');
    },
  );

  test('50 items over HTTP: 50 Jobs, listed by status', { timeout: 90_000 }, async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post({ id: `bulk-${i}`, CUSTOM_ID: String(i), ...(i % 10 === 0 ? { OUTCOME: 'fail' } : {}) }),
      ),
    );
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([202]));
    const lists = await eventually(
      'every Job to finish',
      async () => {
        const ok = await call('GET', '/v1/jobs?status=succeeded', { token: producer });
        const failed = await call('GET', '/v1/jobs?status=Failed', { token: producer });
        const count = (r: ApiReply) =>
          (r.body.items as { requestId?: string }[]).filter((j) => j.requestId?.startsWith('bulk-')).length;
        return count(ok) === 45 && count(failed) === 5 ? { ok, failed } : undefined;
      },
      60_000,
    );
    assert.ok((lists.failed.body.items as { phase: string }[]).every((j) => j.phase === 'Failed'));
    assert.equal((await call('GET', '/v1/jobs?status=sideways', { token: producer })).status, 400);
  });

  test('CloudEvents in structured and binary mode; source/id is the request id', async () => {
    const structured = await post(
      { specversion: '1.0', id: 'e-1', source: '/billing', type: 'invoice.paid', data: { CUSTOM_ID: '77' } },
      producer,
      { 'content-type': 'application/cloudevents+json' },
    );
    assert.equal(structured.status, 202, JSON.stringify(structured.body));
    assert.equal(structured.body.requestId, '/billing/e-1');
    const binary = await post({ CUSTOM_ID: '78' }, producer, {
      'ce-specversion': '1.0',
      'ce-id': 'e-2',
      'ce-source': '/billing',
      'ce-type': 'invoice.paid',
    });
    assert.equal(binary.status, 202, JSON.stringify(binary.body));
    assert.equal(binary.body.requestId, '/billing/e-2');
    const noSource = await post({ specversion: '1.0', id: 'e-3', type: 't', data: {} }, producer, {
      'content-type': 'application/cloudevents+json',
    });
    assert.deepEqual([noSource.status, noSource.body.error?.code], [400, 'CLOUDEVENT_INVALID']);
  });

  test('bad input: a JSON error with a code for each case', async () => {
    const cases: [unknown, number, string][] = [
      ['{not json', 400, 'ITEM_NOT_JSON'],
      ['[1]', 400, 'ITEM_NOT_JSON'],
      [{ OUTCOME: 'fail' }, 422, 'PARAMETER_INVALID'],
      [{ CUSTOM_ID: 'x'.repeat(5000) }, 413, 'BODY_TOO_LARGE'],
    ];
    for (const [body, status, code] of cases) {
      const r = await post(body);
      assert.deepEqual([r.status, r.body.error?.code], [status, code], JSON.stringify(r.body));
      assert.ok(r.body.error?.message, 'a message a person can read');
    }
    const unknownRoute = await call('POST', '/v1/jobs?route=nope', { token: producer, body: '{}' });
    assert.equal(unknownRoute.status, 404);
    const missing = await call('GET', '/v1/jobs/no-such-job', { token: producer });
    assert.deepEqual([missing.status, missing.body.error?.code], [404, 'KUBE_NOT_FOUND']);
  });

  test('DELETE removes a Job', async () => {
    const created = await post({ id: 'to-delete', CUSTOM_ID: '5' });
    const name = String(created.body.jobName);
    const del = await call('DELETE', `/v1/jobs/${name}`, { token: producer });
    assert.deepEqual([del.status, del.body.deleted], [200, name]);
    await eventually('the Job to be gone', async () =>
      (await call('GET', `/v1/jobs/${name}`, { token: producer })).status === 404 ? true : undefined,
    );
  });

  test('GET /v1/events streams status changes as Server-Sent Events', { timeout: 60_000 }, async () => {
    const ac = new AbortController();
    const res = await fetch(`${kjd.url}/v1/events`, {
      headers: { authorization: `Bearer ${producer}` },
      signal: ac.signal,
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const created = await post({ id: 'sse-1', CUSTOM_ID: '9' });
    const name = String(created.body.jobName);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const deadline = Date.now() + 30_000;
    while (!new RegExp(`"name":"${name}"[^\\n]*"phase":"Succeeded"`).test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    assert.match(text, /^event: job$/m);
    assert.match(text, new RegExp(`"name":"${name}"[^\\n]*"phase":"Succeeded"`));
  });
});
