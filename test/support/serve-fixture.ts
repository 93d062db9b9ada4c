// What a test file running `kjd serve` processes against one namespace needs:
// a Redis client, a temp dir for configs and logs, processes killed at the
// end, and the counting helpers, which read the cluster and Redis only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { KubeClient } from '../../src/kube/client.ts';
import { testEnv } from './env.ts';
import { eventually, isGone } from './kube.ts';
import { startServe, writeServeConfig, type ServeProcess } from './serve.ts';

export const batch = (): BatchV1Api => testEnv().admin.makeApiClient(BatchV1Api);
export const core = (): CoreV1Api => testEnv().admin.makeApiClient(CoreV1Api);

/**
 * Where a route's results are, under the fixture's per-test prefix: hashes are
 * `<prefix><idScope>/<request id>`, and a route's idScope is its name.
 */
export const results = (p: string, route: string): string => `${p}:result:${route}/`;

export interface ServeFixture {
  readonly redis: Redis;
  /** A fresh key prefix (and replica-id stem) for one test. */
  prefix: () => string;
  /** A redis-list route named `list` on `<p>:queue` in the namespace. */
  listRoute: (p: string, extra?: Record<string, unknown>) => Record<string, unknown>;
  /** Writes the config (results under `<p>:`) and starts kjd serve; waits for /readyz unless told. */
  serve: (
    p: string,
    config: Record<string, unknown>,
    options?: { replica?: string; waitFor?: 'ready' | 'listening' },
  ) => Promise<ServeProcess>;
  /** SIGTERM, and a clean exit. */
  stop: (kjd: ServeProcess) => Promise<void>;
  jobsFor: (namespace: string, requestId: string) => Promise<V1Job[]>;
  /** Until the Job is gone from the API server. */
  gone: (namespace: string, name: string) => Promise<unknown>;
  /** Until the list and every processing list of it are empty. */
  drained: (key: string) => Promise<unknown>;
}

export function useServeFixture(ns: { readonly name: string }, template: string): ServeFixture {
  const redis = new Redis(testEnv().redisUrl);
  const running: ServeProcess[] = [];
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kjd-serve-'));
  });
  after(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    redis,
    prefix: () => `g${randomBytes(3).toString('hex')}`,
    listRoute: (p, extra = {}) => ({
      name: 'list',
      template,
      namespace: ns.name,
      source: { type: 'redis-list', key: `${p}:queue`, heartbeatTtlMs: 1000 },
      ...extra,
    }),
    serve: async (p, config, options = {}) => {
      const file = await writeServeConfig(dir, p, {
        // One release per test: kjd processes of other tests in the namespace leave its Jobs alone.
        instance: p,
        results: { stream: `${p}:results`, hashPrefix: `${p}:result:` },
        ...config,
      });
      const proc = await startServe(file, dir, options.replica ?? `${p}-a`, {
        ...(options.waitFor !== undefined ? { waitFor: options.waitFor } : {}),
      });
      running.push(proc);
      return proc;
    },
    stop: async (kjd) => {
      kjd.child.kill('SIGTERM');
      const code = await kjd.exited;
      assert.equal(code, 0, `kjd serve exited ${String(code)}; its log ends:\n${kjd.logs().slice(-3000)}`);
    },
    jobsFor: async (namespace, requestId) =>
      (await batch().listNamespacedJob({ namespace })).items.filter(
        (j) => j.metadata?.annotations?.['kjd.dev/request-id'] === requestId,
      ),
    gone: (namespace, name) =>
      eventually(`Job ${name} to be gone`, async () =>
        (await isGone(() => batch().readNamespacedJob({ name, namespace }))) ? true : undefined,
      ),
    drained: (key) =>
      eventually(`${key} and its processing lists to drain`, async () => {
        const left = (await redis.llen(key)) + (await redis.keys(`${key}:processing:*`)).length;
        return left === 0 ? true : undefined;
      }),
  };
}

/** A raw admin call, for kinds the generated client is awkward with (admission policies). */
export async function adminCall(method: string, path: string, body?: unknown): Promise<void> {
  const client = KubeClient.connect({ kubeconfig: testEnv().kubeconfigPath, env: {} });
  try {
    await client.call(method, path, body === undefined ? {} : { body });
  } finally {
    await client.close();
  }
}
