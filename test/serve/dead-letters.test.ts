// Dead letters over HTTP (issue 15): list, show, redrive one and all, delete,
// each authorized as the Jobs call it amounts to; a redrive keeps the item's
// request id, so an item whose request already has a Job gets no second one.
// Against a real `kjd serve`, the local control plane and Redis; every count
// is read from the cluster and Redis.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runCli } from '../../src/cli/kjd.ts';
import { capture } from '../support/capture.ts';
import { testEnv } from '../support/env.ts';
import { writeServeConfig } from '../support/serve.ts';
import { accountToken, FIXED, STRICT, writeTemplate } from '../support/dead-letter-fixture.ts';
import { eventually, useNamespace } from '../support/kube.ts';
import { results, useServeFixture } from '../support/serve-fixture.ts';
import type { ServeProcess } from '../support/serve.ts';

interface Entry {
  id: string;
  requestId: string;
  code: string;
  reason: string;
  jobName: string;
}

describe('dead letters over HTTP', () => {
  const ns = useNamespace('dlq');
  let dir = '';
  let template = '';
  const fx = useServeFixture(ns, '');
  const tokens = { operator: '', reader: '', nobody: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-dlq-'));
    template = await writeTemplate(dir, STRICT);
    tokens.operator = await accountToken(ns.name, 'operator', ['get', 'list', 'watch', 'create', 'delete']);
    tokens.reader = await accountToken(ns.name, 'reader', ['get', 'list']);
    tokens.nobody = await accountToken(ns.name, 'nobody', []);
  });

  const call = async (kjd: ServeProcess, method: string, path: string, token: string) => {
    const res = await fetch(`${kjd.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const dead = async (kjd: ServeProcess, token = tokens.operator) => {
    const r = await call(kjd, 'GET', '/v1/routes/list/dead-letters', token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.items as Entry[];
  };

  test('bad parameter -> dead letter; fix the template; redrive: one Job and one result each, never two', async () => {
    const p = fx.prefix();
    const config = () => ({ routes: [fx.listRoute(p, { template })] });
    let kjd = await fx.serve(p, config());
    // One with the producer's id, one whose id kjd generates: both must survive the redrive.
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'r1', CUSTOM_ID: 'abc' }));
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ CUSTOM_ID: 'def' }));
    await eventually('2 dead letters', async () =>
      (await fx.redis.llen(`${p}:queue:dead`)) === 2 ? 1 : undefined,
    );
    const before = await dead(kjd);
    assert.equal(before.length, 2);
    assert.ok(
      before.every((e) => e.code === 'PARAMETER_INVALID' && /CUSTOM_ID/.test(e.reason)),
      JSON.stringify(before),
    );
    const generated = before.find((e) => e.requestId !== 'r1');
    assert.ok(generated !== undefined && generated.requestId.startsWith(`${p}:queue/`));

    // Without rights in the namespace: nothing, and every action refused.
    assert.equal((await call(kjd, 'GET', '/v1/routes/list/dead-letters', tokens.nobody)).status, 403);
    assert.deepEqual((await call(kjd, 'GET', '/v1/routes', tokens.nobody)).body.items, []);
    const id = before.find((e) => e.requestId === 'r1')?.id ?? '';
    assert.equal(
      (await call(kjd, 'POST', `/v1/routes/list/dead-letters/${id}/redrive`, tokens.nobody)).status,
      403,
    );
    assert.equal(
      (await call(kjd, 'DELETE', `/v1/routes/list/dead-letters/${id}`, tokens.nobody)).status,
      403,
    );
    // A reader sees them, but a redrive is a create and a delete a delete.
    assert.equal((await call(kjd, 'GET', `/v1/routes/list/dead-letters/${id}`, tokens.reader)).status, 200);
    assert.equal(
      (await call(kjd, 'POST', `/v1/routes/list/dead-letters/${id}/redrive`, tokens.reader)).status,
      403,
    );
    assert.equal(
      (await call(kjd, 'DELETE', `/v1/routes/list/dead-letters/${id}`, tokens.reader)).status,
      403,
    );
    assert.equal(await fx.redis.llen(`${p}:queue:dead`), 2);

    // Fix the template, roll kjd, redrive one.
    await fx.stop(kjd);
    await writeTemplate(dir, FIXED);
    kjd = await fx.serve(p, config());
    const one = await call(kjd, 'POST', `/v1/routes/list/dead-letters/${id}/redrive`, tokens.operator);
    assert.deepEqual(one.body, { id, requestId: 'r1', outcome: 'requeued' });
    assert.equal(
      (await call(kjd, 'POST', `/v1/routes/list/dead-letters/${id}/redrive`, tokens.operator)).status,
      404,
    );
    await eventually(
      'the result of r1',
      async () => (await fx.redis.exists(`${results(p, 'list')}r1`)) || undefined,
    );
    assert.equal((await fx.jobsFor(ns.name, 'r1')).length, 1);

    // The same request id dead-lettered again (a producer's duplicate, still bad): its redrive makes no Job.
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'r1', CUSTOM_ID: 'NOT OK' }));
    await eventually('the duplicate dead-lettered', async () =>
      (await dead(kjd)).length === 2 ? 1 : undefined,
    );
    const all = await call(kjd, 'POST', '/v1/routes/list/dead-letters/redrive', tokens.operator);
    const outcomes = all.body.items as { requestId: string; outcome: string; why?: string }[];
    assert.deepEqual(
      outcomes.map((o) => [o.requestId, o.outcome, o.why]).sort(),
      [
        [generated.requestId, 'requeued', undefined],
        ['r1', 'already-done', 'result-exists'],
      ].sort(),
    );
    await eventually(
      "the generated one's result",
      async () => (await fx.redis.exists(`${results(p, 'list')}${generated.requestId}`)) || undefined,
    );
    assert.equal((await fx.jobsFor(ns.name, 'r1')).length, 1);
    assert.equal((await fx.jobsFor(ns.name, generated.requestId)).length, 1);
    assert.equal((await fx.jobsFor(ns.name, generated.requestId))[0]?.metadata?.name, generated.jobName);
    assert.deepEqual(await dead(kjd), []);

    // Delete: the entry goes, nothing is made.
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'r3', CUSTOM_ID: 'NOT OK' }));
    const [r3] = await eventually('r3 dead-lettered', async () => {
      const items = await dead(kjd);
      return items.length === 1 ? items : undefined;
    });
    assert.equal(
      (await call(kjd, 'DELETE', `/v1/routes/list/dead-letters/${r3?.id ?? ''}`, tokens.operator)).status,
      200,
    );
    assert.equal(await fx.redis.llen(`${p}:queue:dead`), 0);
    assert.equal((await fx.jobsFor(ns.name, 'r3')).length, 0);
    const routes = (await call(kjd, 'GET', '/v1/routes', tokens.reader)).body.items as {
      route: string;
      deadLettered: number;
    }[];
    assert.deepEqual(
      routes.map((r) => [r.route, r.deadLettered]),
      [['list', 0]],
    );
    await fx.stop(kjd);
  });

  test('a stream route: the redriven entry keeps its request id', async () => {
    const p = fx.prefix();
    await writeTemplate(dir, STRICT);
    const route = {
      name: 'stream',
      template,
      namespace: ns.name,
      source: { type: 'redis-stream', stream: `${p}:s`, startId: '0', claimIdleMs: 5000 },
    };
    let kjd = await fx.serve(p, { routes: [route] });
    const entryId = await fx.redis.xadd(`${p}:s`, '*', 'payload', JSON.stringify({ CUSTOM_ID: 'abc' }));
    const requestId = `${p}:s/${entryId ?? ''}`;
    const [entry] = await eventually('the dead letter', async () => {
      const r = await call(kjd, 'GET', '/v1/routes/stream/dead-letters', tokens.operator);
      const items = r.body.items as Entry[];
      return items.length === 1 ? items : undefined;
    });
    assert.equal(entry?.requestId, requestId);
    await fx.stop(kjd);
    await writeTemplate(dir, FIXED);
    kjd = await fx.serve(p, { routes: [route] });
    const r = await call(kjd, 'POST', `/v1/routes/stream/dead-letters/${entry.id}/redrive`, tokens.operator);
    assert.equal(r.body.outcome, 'requeued');
    await eventually(
      'its result',
      async () => (await fx.redis.exists(`${results(p, 'stream')}${requestId}`)) || undefined,
    );
    assert.equal((await fx.jobsFor(ns.name, requestId)).length, 1);
    await fx.stop(kjd);
  });

  test('kjd dlq list|show|delete|redrive on the same library, -o json|yaml', async () => {
    const p = fx.prefix();
    await writeTemplate(dir, STRICT);
    const route = fx.listRoute(p, { template });
    let kjd = await fx.serve(p, { routes: [route] });
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'c1', CUSTOM_ID: 'abc' }));
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'c2', CUSTOM_ID: 'abc' }));
    await eventually('2 dead letters', async () =>
      (await fx.redis.llen(`${p}:queue:dead`)) === 2 ? 1 : undefined,
    );
    await fx.stop(kjd);
    const config = await writeServeConfig(dir, `${p}-cli`, {
      instance: p,
      results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
      routes: [route],
    });
    const kjdCli = async (...args: string[]) => {
      const r = await capture((io) =>
        runCli(['--kubeconfig', testEnv().kubeconfigPath, ...args, '--config', config, '--route', 'list'], {
          ...io,
          env: {},
        }),
      );
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const listed = JSON.parse(await kjdCli('-o', 'json', 'dlq', 'list')) as { total: number; items: Entry[] };
    assert.equal(listed.total, 2);
    const byId = (rid: string) => listed.items.find((e) => e.requestId === rid)?.id ?? '';
    assert.match(
      await kjdCli('-o', 'yaml', 'dlq', 'show', byId('c1')),
      /requestId: c1\n[^]*code: PARAMETER_INVALID/,
    );
    assert.match(await kjdCli('dlq', 'list'), /c1 +PARAMETER_INVALID/);
    await kjdCli('dlq', 'delete', byId('c2'));
    assert.equal(await fx.redis.llen(`${p}:queue:dead`), 1);

    await writeTemplate(dir, FIXED);
    const redriven = JSON.parse(await kjdCli('-o', 'json', 'dlq', 'redrive', '--all')) as {
      items: { requestId: string; outcome: string }[];
    };
    assert.deepEqual(
      redriven.items.map((o) => [o.requestId, o.outcome]),
      [['c1', 'requeued']],
    );
    kjd = await fx.serve(p, { routes: [route] });
    await eventually(
      'the result of c1',
      async () => (await fx.redis.exists(`${results(p, 'list')}c1`)) || undefined,
    );
    await fx.redis.lpush(`${p}:queue`, JSON.stringify({ id: 'c1', CUSTOM_ID: 'NOT OK' }));
    const [again] = await eventually('c1 dead-lettered again', async () => {
      const items = await dead(kjd);
      return items.length === 1 ? items : undefined;
    });
    assert.match(await kjdCli('dlq', 'redrive', again?.id ?? ''), /already done \(result-exists/);
    assert.equal((await fx.jobsFor(ns.name, 'c1')).length, 1);
    assert.equal((await fx.jobsFor(ns.name, 'c2')).length, 0);
    await fx.stop(kjd);
  });
});
