// The early path answers what needs no I/O before routing, and hands
// everything else to the /v1 middleware authenticated exactly once. The API
// server here is a fake of kjd's own KubeClient port (TokenReview answers).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { KubeClient } from '../kube/client.ts';
import { Authenticator } from './auth.ts';
import { earlyAuthentication } from './early-refusal.ts';
import { errorResponse } from './http-errors.ts';
import { listen, type OpsServer } from './ops-server.ts';

describe('early refusal', () => {
  let reviews = 0;
  let routed = 0;
  let server: OpsServer;
  const fakeApiServer = {
    call: (_method: string, _path: string, o: { body: { spec: { token: string } } }) => {
      reviews++;
      const ok = o.body.spec.token === 'good';
      return Promise.resolve({
        status: { authenticated: ok, ...(ok ? { user: { username: 'alice' } } : {}) },
      });
    },
  } as unknown as KubeClient;

  before(async () => {
    const auth = new Authenticator({
      settings: { mode: 'tokenreview', tokens: [] },
      client: fakeApiServer,
      reviewsPerClient: { qps: 0.001, burst: 3 },
    });
    const early = earlyAuthentication(auth);
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.onError(errorResponse);
    app.use('/v1/*', async (c, next) => {
      routed++;
      const admitted = early.take(c.env.incoming);
      assert.ok(admitted !== undefined, 'the early path saw every /v1 request it let through');
      c.header('x-user', (await admitted).user);
      await next();
    });
    app.get('/v1/who', (c) => c.text('ok'));
    app.get('/healthz', (c) => c.text('ok'));
    server = await listen(app as unknown as Hono, '127.0.0.1:0', (req, res) => early.handle(req, res));
  });
  after(() => server.close());

  const get = (path: string, token?: string) =>
    fetch(
      `${server.url}${path}`,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    );

  test('no token: 401 from the early path, never routed', async () => {
    const res = await get('/v1/who');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
    assert.equal(routed, 0);
  });

  test('a good token is reviewed once and its caller reaches the handler', async () => {
    const res = await get('/v1/who', 'good');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-user'), 'alice');
    assert.equal(routed, 1);
    assert.equal(reviews, 1);
    assert.equal((await get('/v1/who', 'good')).status, 200);
    assert.equal(reviews, 1, 'the second request used the cached caller');
  });

  test('bogus tokens beyond the address budget: 429 with Retry-After before any review or routing', async () => {
    const before = { reviews, routed };
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await get('/v1/who', `bogus-${i}`));
    const statuses = answers.map((r) => r.status);
    // The burst (3, one already spent on "good") lets two reviews through; the rest is refused early.
    assert.deepEqual(statuses, [401, 401, 429, 429, 429, 429]);
    assert.equal(answers[2]?.headers.get('retry-after'), '1');
    assert.equal(reviews - before.reviews, 2);
    assert.equal(routed - before.routed, 2);
    // A refused token is remembered: asking again is an early 401, with no review.
    const again = await get('/v1/who', 'bogus-0');
    assert.equal(again.status, 401);
    assert.equal(reviews - before.reviews, 2);
    assert.equal(routed - before.routed, 2);
  });

  test('paths outside /v1 are not its business', async () => {
    assert.equal((await get('/healthz')).status, 200);
  });
});
