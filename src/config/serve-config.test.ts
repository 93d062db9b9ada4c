import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadServeConfig } from './serve-config.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kjd-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function load(yaml: string, env: Record<string, string> = {}) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  return loadServeConfig(file, env);
}

const minimal = `
redis: { url: 'redis://r:6379' }
routes:
  - { name: worker, template: jobs/worker.yaml, source: { type: redis-list, key: q } }
`;

test('defaults are filled in and the template path is made absolute', async () => {
  const c = await load(minimal);
  assert.equal(c.limits.maxActiveJobs, 1000);
  assert.equal(c.http.listen, '127.0.0.1:8080');
  assert.equal(c.http.auth.mode, 'tokenreview');
  assert.equal(c.routes[0]?.template, join(dir, 'jobs/worker.yaml'));
});

test('every problem names its key, all in one error', async () => {
  const err = await load(`
routes:
  - { name: Worker, template: w.yaml, source: { type: redis-list } }
limits: { maxActiveJobs: -1 }
`).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /^ {2}redis: /m);
  assert.match(err.message, /^ {2}routes\[0\]\.name: /m);
  assert.match(err.message, /^ {2}routes\[0\]\.source\.key: /m);
  assert.match(err.message, /^ {2}limits\.maxActiveJobs: /m);
});

test('unknown keys are refused, not ignored', async () => {
  const err = await load(`${minimal}\nlimts: { maxActiveJobs: 5 }\n`).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /limts/);
});

test('no auth only on loopback; static auth needs tokens', async () => {
  await load(`${minimal}\nhttp: { listen: '127.0.0.1:9000', auth: { mode: none } }\n`);
  await assert.rejects(
    load(`${minimal}\nhttp: { listen: '0.0.0.0:9000', auth: { mode: none } }\n`),
    /only allowed when http.listen is on loopback/,
  );
  await assert.rejects(
    load(`${minimal}\nhttp: { auth: { mode: static } }\n`),
    /static mode needs at least one token/,
  );
});

test('--insecure-no-auth is refused off loopback', async () => {
  const file = join(dir, 'noauth.yaml');
  await writeFile(file, `${minimal}\nhttp: { listen: '0.0.0.0:8080' }\n`);
  await assert.rejects(
    loadServeConfig(file, {}, { noAuth: true }),
    /only allowed when http.listen is on loopback/,
  );
  const c = await loadServeConfig(file, {}, { noAuth: true, listen: '127.0.0.1:8080' });
  assert.equal(c.http.auth.mode, 'none');
});

test('environment overrides the file', async () => {
  const c = await load(minimal, {
    KJD_REDIS_URL: 'redis://other:1',
    KJD_HTTP_LISTEN: '127.0.0.1:9',
    KJD_HTTP_TOKENS: 'a'.repeat(16),
  });
  assert.deepEqual(c.redis, { url: 'redis://other:1' });
  assert.equal(c.http.listen, '127.0.0.1:9');
  assert.deepEqual(c.http.auth.tokens, ['a'.repeat(16)]);
});

test('a route name used twice is refused', async () => {
  await assert.rejects(
    load(`${minimal}  - { name: worker, template: x.yaml, source: { type: http } }\n`),
    /"worker" is used twice/,
  );
});

const clusterRoutes = (routes: string) => `
redis:
  cluster: { nodes: [{ host: 127.0.0.1, port: 7000 }] }
routes:
${routes}`;

test('redis: a cluster or a sentinel instead of a URL', async () => {
  const c = await load(
    clusterRoutes('  - { name: worker, template: w.yaml, source: { type: redis-list, key: jobs } }\n'),
  );
  assert.deepEqual(c.redis, { cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] } });
  const s = await load(`
redis: { sentinel: { name: kjd, sentinels: [{ host: a, port: 26379 }, { host: b, port: 26379 }] } }
routes:
  - { name: worker, template: w.yaml, source: { type: http } }
`);
  assert.equal('sentinel' in s.redis && s.redis.sentinel.sentinels.length, 2);
});

test('redis: a mix, or a cluster without nodes, is refused naming the field', async () => {
  for (const [redis, expected] of [
    [
      `{ url: 'redis://r:1', cluster: { nodes: [{ host: a, port: 1 }] } }`,
      /redis: one of \{ url: redis:\/\/… \}, \{ cluster: .*sentinel/,
    ],
    [`{ cluster: { nodes: [] } }`, /redis\.cluster\.nodes: Too small/],
    [
      `{ sentinel: { sentinels: [{ host: a, port: 1 }] } }`,
      /redis: one of .*\{ sentinel: \{ name, sentinels/,
    ],
  ] as const) {
    await assert.rejects(
      load(`redis: ${redis}\nroutes:\n  - { name: w, template: w.yaml, source: { type: http } }\n`),
      expected,
    );
  }
});

test('redis.cluster: a dead-letter key in another slot, or a stray brace, is refused naming the key', async () => {
  const err = await load(
    clusterRoutes(`  - { name: a, template: w.yaml, source: { type: redis-list, key: '{a}:q', deadLetterKey: 'a:dead' } }
  - { name: b, template: w.yaml, source: { type: redis-stream, stream: 'b}' } }
  - { name: c, template: w.yaml, idScope: 'x{y}', source: { type: http } }
`),
  ).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(
    err.message,
    /routes\[0\]\.source\.deadLetterKey: "a:dead" must be in the slot of "\{a\}:q".*\{a\}/,
  );
  assert.match(err.message, /routes\[1\]\.source\.stream: "b\}" has a "\{" or "\}" but no hash tag/);
  assert.match(err.message, /routes\[2\]\.idScope: no "\{" or "\}"/);
});

test('batch mode: defaults filled in; refused on an HTTP route, whose caller waits for its own Job', async () => {
  const c = await load(`
redis: { url: 'redis://r:6379' }
routes:
  - { name: worker, template: w.yaml, source: { type: redis-list, key: q }, batch: {} }
`);
  assert.deepEqual(c.routes[0]?.batch, { maxItems: 50, windowMs: 100, maxBytes: 262_144, itemsPerPod: 1 });
  const err = await load(`
redis: { url: 'redis://r:6379' }
routes:
  - { name: api, template: w.yaml, source: { type: http }, batch: { maxItems: 5 } }
`).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /routes\[0\]\.batch: batch mode is for redis-list and redis-stream routes/);
});

test('examples/kjd.yaml loads, and what it shows as the defaults is what kjd does without it', async () => {
  const example = await loadServeConfig(new URL('../../examples/kjd.yaml', import.meta.url).pathname, {});
  const bare = await load(minimal);
  // The example writes the defaults out; a key it shows that changed kjd's behaviour
  // (as `qps: 200` once did, switching pacing to fixed) would show up here.
  assert.deepEqual(
    { ...example.kubernetes, pacing: undefined, maxInFlight: undefined },
    { ...bare.kubernetes, pacing: undefined, maxInFlight: undefined },
  );
  assert.equal(example.kubernetes.pacing, 'adaptive');
  assert.equal(example.kubernetes.maxInFlight, 32);
});
