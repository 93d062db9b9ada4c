// Whose fault is a refusal? An admission denial is the item's (dead-letter
// it, with the denial); a full ResourceQuota is nobody's (wait, never
// dead-letter, hold back only that route); a namespace that does not exist
// is kjd's configuration (not ready, items stay queued). Issue 11 item 9,
// against the real API server's admission chain.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eventually, useNamespace } from '../support/kube.ts';
import { adminCall, batch, core, results, useServeFixture } from '../support/serve-fixture.ts';

const template = new URL('../fixtures/behaving-job.yaml', import.meta.url).pathname;

describe('kjd serve: denied, no room, or nowhere to go', () => {
  const ns = useNamespace('denials');
  const { redis, serve, prefix, listRoute, stop } = useServeFixture(ns, template);
  const policy = `kjd-test-deny-${randomBytes(3).toString('hex')}`;
  before(async () => {
    // Two ValidatingAdmissionPolicies on this namespace only: one denies with
    // reason Forbidden (403), one with its default reason Invalid (422).
    const admission = (path: string, body: unknown) =>
      adminCall('POST', `/apis/admissionregistration.k8s.io/v1/${path}`, body);
    for (const [suffix, value, reason] of [
      ['403', 'deny403', 'Forbidden'],
      ['422', 'deny422', undefined],
    ] as const) {
      await admission('validatingadmissionpolicies', {
        metadata: { name: `${policy}-${suffix}` },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] },
            ],
          },
          validations: [
            {
              expression: `object.spec.template.spec.containers.all(c, !has(c.env) || c.env.all(e, !(e.name == 'CUSTOM_ID' && has(e.value) && e.value == '${value}')))`,
              message: `CUSTOM_ID ${value} is not allowed here`,
              ...(reason !== undefined ? { reason } : {}),
            },
          ],
        },
      });
      await admission('validatingadmissionpolicybindings', {
        metadata: { name: `${policy}-${suffix}` },
        spec: {
          policyName: `${policy}-${suffix}`,
          validationActions: ['Deny'],
          matchResources: {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
          },
        },
      });
    }
  });
  after(async () => {
    for (const suffix of ['403', '422']) {
      for (const kind of ['validatingadmissionpolicybindings', 'validatingadmissionpolicies'])
        await adminCall('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}/${policy}-${suffix}`).catch(
          () => undefined,
        );
    }
  });

  test('admission denials (403 and 422) dead-letter only the denied items; good ones and other routes go on (issue 11.9)', async () => {
    const p = prefix();
    const items = (n: number, value: string) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${p}-${value}-${i}`, CUSTOM_ID: value }));
    // Wait until the policies bite (their type check runs after creation).
    await eventually(
      'the policies to deny',
      async () => {
        try {
          await batch().createNamespacedJob({
            namespace: ns.name,
            dryRun: 'All',
            body: {
              metadata: { name: `${p}-probe` },
              spec: {
                template: {
                  spec: {
                    restartPolicy: 'Never',
                    containers: [{ name: 'c', image: 'x', env: [{ name: 'CUSTOM_ID', value: 'deny403' }] }],
                  },
                },
              },
            },
          });
          return undefined;
        } catch {
          return true;
        }
      },
      30_000,
    );
    const kjd = await serve(p, {
      limits: { maxInFlightCreates: 4, maxAttempts: 3 },
      routes: [
        listRoute(p),
        {
          name: 'events',
          template,
          namespace: ns.name,
          source: { type: 'redis-stream', stream: `${p}:stream` },
        },
      ],
    });
    await redis.lpush(`${p}:queue`, ...items(20, 'deny403'), ...items(10, 'deny422'), ...items(3, 'good'));
    for (let i = 0; i < 3; i++)
      await redis.xadd(`${p}:stream`, '*', 'payload', JSON.stringify({ CUSTOM_ID: `s${i}` }));
    const dead = await eventually(
      '30 dead letters',
      async () => {
        const d = await redis.lrange(`${p}:queue:dead`, 0, -1);
        return d.length === 30 ? d.map((x) => JSON.parse(x) as { code: string; reason: string }) : undefined;
      },
      60_000,
    );
    const codes = dead.map((d) => d.code);
    assert.equal(codes.filter((c) => c === 'KUBE_ADMISSION_DENIED').length, 20, '403 denials');
    assert.equal(codes.filter((c) => c === 'KUBE_INVALID').length, 10, '422 denials');
    assert.ok(
      dead.every((d) => /is not allowed here/.test(d.reason)),
      'each with the denial message',
    );
    await eventually('the good items and the stream route done', async () => {
      const good = await Promise.all(
        [0, 1, 2].map((i) => redis.exists(`${results(p, 'list')}${p}-good-${i}`)),
      );
      return good.every((x) => x === 1) && (await redis.xlen(`${p}:results`)) === 6 ? true : undefined;
    });
    const ready = (await (await fetch(`${kjd.url}/readyz`)).json()) as { ready: boolean };
    assert.equal(ready.ready, true, 'a denial is not a configuration error');
    await stop(kjd);
  });

  test('a full ResourceQuota holds back only its own route; nothing is dead-lettered, and all run once there is room (issue 11.9)', async () => {
    const p = prefix();
    const full = `${ns.name}-q`;
    await core().createNamespace({ body: { metadata: { name: full } } });
    try {
      await core().createNamespacedResourceQuota({
        namespace: full,
        body: { metadata: { name: 'jobs' }, spec: { hard: { 'count/jobs.batch': '0' } } },
      });
      const kjd = await serve(p, {
        limits: { maxInFlightCreates: 4 },
        routes: [
          { ...listRoute(p), namespace: full },
          { name: 'other', template, namespace: ns.name, source: { type: 'redis-list', key: `${p}:other` } },
        ],
      });
      await redis.lpush(
        `${p}:queue`,
        ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `${p}-q${i}`, CUSTOM_ID: String(i) })),
      );
      await sleep(500);
      await redis.lpush(
        `${p}:other`,
        ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `${p}-o${i}`, CUSTOM_ID: String(i) })),
      );
      await eventually('the other route done', async () => {
        const done = await Promise.all(
          [0, 1, 2, 3, 4].map((i) => redis.exists(`${results(p, 'other')}${p}-o${i}`)),
        );
        return done.every((x) => x === 1) ? true : undefined;
      });
      assert.equal(await redis.llen(`${p}:queue:dead`), 0, 'no room is not the item’s fault');
      const ready = (await (await fetch(`${kjd.url}/readyz`)).json()) as {
        ready: boolean;
        checks: Record<string, { detail: string }>;
      };
      assert.equal(ready.ready, true);
      assert.match(ready.checks.routes?.detail ?? '', /waiting for room: list/);
      await core().replaceNamespacedResourceQuota({
        name: 'jobs',
        namespace: full,
        body: { metadata: { name: 'jobs' }, spec: { hard: { 'count/jobs.batch': '100' } } },
      });
      await eventually(
        'all 10 held items done',
        async () => {
          const done = await Promise.all(
            Array.from({ length: 10 }, (_, i) => redis.exists(`${results(p, 'list')}${p}-q${i}`)),
          );
          return done.every((x) => x === 1) ? true : undefined;
        },
        90_000,
      );
      assert.equal((await batch().listNamespacedJob({ namespace: full })).items.length, 10);
      await stop(kjd);
    } finally {
      await core()
        .deleteNamespace({ name: full })
        .catch(() => undefined);
    }
  });

  test('a route whose namespace does not exist is not ready and keeps its items queued (issue 11.9)', async () => {
    const p = prefix();
    const missing = `${ns.name}-m`;
    // Not ready from the start (its watch cannot sync a namespace that is not there).
    const kjd = await serve(
      p,
      { routes: [{ ...listRoute(p), namespace: missing }] },
      { waitFor: 'listening' },
    );
    await redis.lpush(
      `${p}:queue`,
      ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `${p}-${i}`, CUSTOM_ID: String(i) })),
    );
    // Once an item has met the missing namespace, the route is held and /readyz says why.
    const report = await eventually('/readyz to name the route', async () => {
      const r = await fetch(`${kjd.url}/readyz`);
      const body = (await r.json()) as { checks: Record<string, { detail?: string }> };
      return r.status === 503 && /misconfigured: list/.test(body.checks.routes?.detail ?? '')
        ? body
        : undefined;
    });
    assert.match(report.checks.routes?.detail ?? '', /does not exist/);
    assert.equal(await redis.llen(`${p}:queue:dead`), 0, 'nothing dead-lettered');
    assert.equal(
      (await redis.llen(`${p}:queue`)) + (await redis.keys(`${p}:queue:processing:*`)).length > 0,
      true,
      'the items wait in Redis',
    );
    await core().createNamespace({ body: { metadata: { name: missing } } });
    try {
      await eventually(
        'all 5 done once the namespace exists',
        async () => {
          const done = await Promise.all(
            [0, 1, 2, 3, 4].map((i) => redis.exists(`${results(p, 'list')}${p}-${i}`)),
          );
          return done.every((x) => x === 1) ? true : undefined;
        },
        90_000,
      );
      assert.equal(await redis.llen(`${p}:queue:dead`), 0);
      await stop(kjd);
    } finally {
      await core()
        .deleteNamespace({ name: missing })
        .catch(() => undefined);
    }
  });
});
