// One fault scenario's world: a namespace, a Redis key prefix, kjd replicas
// as real processes, producers for the list, stream and HTTP routes, the Job
// ledger, and the census that decides pass or fail from the cluster and Redis.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import {
  settled,
  takeCensus,
  type Census,
  type CensusSources,
  type SentItem,
} from '../../../harness/faults/count.ts';
import { startJobLedger, type JobLedger } from '../../../harness/faults/job-ledger.ts';
import { startServe, type ServeProcess } from '../../support/serve.ts';
import { testEnv } from '../../support/env.ts';
import { createNamespace, deleteNamespace, type FaultCluster } from './env.ts';
import { saveRecord, toRecord } from './record.ts';

export const demoTemplate = new URL('../../../examples/demo-job.yaml', import.meta.url).pathname;

export type RouteKind = 'list' | 'stream' | 'http';

export interface ScenarioOptions {
  readonly name: string;
  readonly cluster: FaultCluster;
  /** Which routes kjd serves. Default: list only. */
  readonly routes?: readonly RouteKind[];
  /** Redis kjd talks to (default the shared test Redis); the census always reads `countRedisUrl` or this. */
  readonly redisUrl?: string;
  readonly limits?: Record<string, number>;
  /** Extra keys of kjd's configuration (cleanup, ...). */
  readonly extra?: Record<string, unknown>;
  /** Template file (default examples/demo-job.yaml). */
  readonly template?: string;
  /** The demo template with this ttlSecondsAfterFinished instead (a copy in the scenario's folder). */
  readonly jobTtlSeconds?: number;
  /** Route name -> a second, separate namespace-independent route list (see VAP scenario). */
  readonly claimIdleMs?: number;
  /**
   * Items of this scenario may be dead-lettered (they are at fault: denied,
   * poison). Otherwise any dead letter fails the scenario: a network, process
   * or capacity fault is never the item's fault, so its items must wait.
   */
  readonly deadLettersExpected?: boolean;
  /** How often the Job ledger lists the namespace; 0: only when counting. Default 300 ms. */
  readonly ledgerEveryMs?: number;
}

export interface KjdOptions {
  /** host:port of a proxy in front of the API server. */
  readonly apiVia?: string;
  /** Redis URL kjd uses (e.g. through a proxy). */
  readonly redisUrl?: string;
  /** A bearer token instead of the admin certificate. */
  readonly token?: string;
  readonly env?: Record<string, string>;
}

export class Scenario {
  readonly name: string;
  readonly cluster: FaultCluster;
  readonly p = `f${randomBytes(3).toString('hex')}`;
  ns = '';
  dir = '';
  redis!: Redis;
  ledger!: JobLedger;
  readonly sent: SentItem[] = [];
  readonly replicas: ServeProcess[] = [];
  readonly startedMs = Date.now();
  readonly #o: ScenarioOptions;
  readonly #cleanups: (() => Promise<void>)[] = [];
  #template: string | undefined;
  #n = 0;

  constructor(o: ScenarioOptions) {
    this.name = o.name;
    this.cluster = o.cluster;
    this.#o = o;
  }

  get redisUrl(): string {
    return this.#o.redisUrl ?? testEnv().redisUrl;
  }
  get listKey(): string {
    return `${this.p}:queue`;
  }
  get streamKey(): string {
    return `${this.p}:stream`;
  }
  get sources(): CensusSources {
    const routes = this.#o.routes ?? ['list'];
    return {
      ...(routes.includes('list') ? { lists: [{ key: this.listKey }] } : {}),
      ...(routes.includes('stream') ? { streams: [{ stream: this.streamKey }] } : {}),
      results: { stream: `${this.p}:results`, hashPrefix: `${this.p}:result:` },
    };
  }

  async setUp(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `kjd-fault-${this.name}-`));
    this.ns = await createNamespace(this.cluster, 'fault');
    this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    if (this.#o.jobTtlSeconds !== undefined) {
      this.#template = join(this.dir, `ttl-${this.#o.jobTtlSeconds}s.yaml`);
      const text = await readFile(demoTemplate, 'utf8');
      await writeFile(
        this.#template,
        text.replace(/ttlSecondsAfterFinished: \d+/, `ttlSecondsAfterFinished: ${this.#o.jobTtlSeconds}`),
      );
    }
    this.ledger = startJobLedger(this.cluster.admin, this.ns, this.#o.ledgerEveryMs ?? 300);
  }

  /** Runs at tear-down, last registered first (proxies, policies, private Redis). */
  onTearDown(fn: () => Promise<void>): void {
    this.#cleanups.unshift(fn);
  }

  async tearDown(): Promise<void> {
    for (const r of this.replicas) r.child.kill('SIGKILL');
    for (const fn of this.#cleanups) await fn().catch(() => undefined);
    await this.ledger.stop();
    this.redis.disconnect();
    await deleteNamespace(this.cluster, this.ns);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** kjd's configuration file; `routes` as in the options. */
  async config(kjd: KjdOptions = {}): Promise<string> {
    const routes = (this.#o.routes ?? ['list']).map((kind) => this.route(kind));
    const file = join(this.dir, `kjd-${++this.#n}.yaml`);
    await writeFile(
      file,
      stringify({
        kubernetes: { kubeconfig: await this.kubeconfig(kjd) },
        redis: { url: kjd.redisUrl ?? this.redisUrl },
        http: { auth: { mode: 'none' } },
        limits: { maxInFlightCreates: 8, ...this.#o.limits },
        results: { stream: `${this.p}:results`, hashPrefix: `${this.p}:result:` },
        routes,
        ...this.#o.extra,
      }),
    );
    return file;
  }

  route(kind: RouteKind, name: string = kind, namespace = this.ns): Record<string, unknown> {
    const template = this.#template ?? this.#o.template ?? demoTemplate;
    const source =
      kind === 'list'
        ? { type: 'redis-list', key: this.listKey, heartbeatTtlMs: 1000 }
        : kind === 'stream'
          ? // Producers here write before kjd first starts: its group starts at 0, not at kjd's default `$`.
            {
              type: 'redis-stream',
              stream: this.streamKey,
              startId: '0',
              claimIdleMs: this.#o.claimIdleMs ?? 5000,
            }
          : { type: 'http' };
    return { name, template, namespace, source };
  }

  /** A kubeconfig for kjd: the admin's, pointed at a proxy and/or with a ServiceAccount token. */
  async kubeconfig(kjd: KjdOptions): Promise<string> {
    if (kjd.apiVia === undefined && kjd.token === undefined) return this.cluster.kubeconfigPath;
    const doc = parse(await readFile(this.cluster.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: Record<string, unknown> }[];
    };
    for (const c of doc.clusters) if (kjd.apiVia !== undefined) c.cluster.server = `https://${kjd.apiVia}`;
    if (kjd.token !== undefined) for (const u of doc.users) u.user = { token: kjd.token };
    const file = join(this.dir, `kubeconfig-${++this.#n}.yaml`);
    await writeFile(file, stringify(doc));
    return file;
  }

  async startKjd(
    configFile: string,
    replica = `r${this.replicas.length}`,
    kjd: KjdOptions = {},
  ): Promise<ServeProcess> {
    const proc = await startServe(configFile, this.dir, `${this.p}-${replica}`, {
      ...(kjd.env ? { env: kjd.env } : {}),
    });
    this.replicas.push(proc);
    return proc;
  }

  // ---- producers ----------------------------------------------------------

  item(i: number, extra: Record<string, string> = {}, tag = 'l'): { id: string; CUSTOM_ID: string } {
    return { id: `${this.p}-${tag}-${i}`, CUSTOM_ID: String(i), ...extra };
  }

  async pushList(
    n: number,
    from = 0,
    extra: (i: number) => Record<string, string> = () => ({}),
  ): Promise<void> {
    const items = Array.from({ length: n }, (_, k) => this.item(from + k, extra(from + k), 'l'));
    for (let k = 0; k < items.length; k += 500) {
      await this.redis.lpush(this.listKey, ...items.slice(k, k + 500).map((i) => JSON.stringify(i)));
    }
    for (const i of items) this.sent.push({ requestId: i.id });
  }

  async addStream(
    n: number,
    from = 0,
    extra: (i: number) => Record<string, string> = () => ({}),
  ): Promise<void> {
    for (let k = 0; k < n; k++) {
      const payload = JSON.stringify(this.item(from + k, extra(from + k), 's'));
      const id = await this.redis.xadd(this.streamKey, '*', 'payload', payload);
      this.sent.push({ requestId: `${this.streamKey}/${id ?? ''}` });
    }
  }

  /**
   * POSTs each item to some live replica until kjd accepts it (202) or refuses
   * the item itself (400/422: its dead letter). 503s and broken connections
   * are retried with the same id, as a producer should.
   */
  async postHttp(n: number, from = 0, deadlineMs = 120_000, parallel = 8): Promise<void> {
    for (let k = 0; k < n; k += parallel) {
      const batch = Array.from({ length: Math.min(parallel, n - k) }, (_, j) =>
        this.item(from + k + j, {}, 'h'),
      );
      const deadline = Date.now() + deadlineMs;
      this.sent.push(...(await Promise.all(batch.map((item) => this.postOne(item, deadline)))));
    }
  }

  async postOne(item: { id: string }, deadline: number): Promise<SentItem> {
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const live = this.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
      const target = live[attempt % Math.max(1, live.length)];
      if (target !== undefined) {
        const res = await fetch(`${target.url}/v1/jobs?route=http`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(item),
          signal: AbortSignal.timeout(15_000),
        }).catch(() => undefined);
        if (res?.status === 202) return { requestId: item.id };
        if (res !== undefined && (res.status === 400 || res.status === 422)) {
          const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
          return { requestId: item.id, rejected: `${body.code ?? res.status}: ${body.message ?? ''}` };
        }
      }
      await sleep(200);
    }
    return { requestId: item.id };
  }

  // ---- counting -----------------------------------------------------------

  async census(): Promise<Census> {
    await this.ledger.sync().catch(() => undefined);
    return takeCensus(this.redis, this.sent, this.ledger.jobs(), this.sources);
  }

  /**
   * Polls the census until every item is settled (done or dead-lettered;
   * with allowQueued, still queued counts too) or `boundMs` passes. Returns
   * the last census and the seconds it took from `faultEndedMs`.
   */
  async settle(
    faultEndedMs: number,
    boundMs: number,
    allowQueued = false,
    pollMs = 500,
  ): Promise<{ census: Census; recoverySeconds: number | null }> {
    const deadline = faultEndedMs + boundMs;
    let c = await this.census();
    while (!settled(c, allowQueued) && Date.now() < deadline) {
      await sleep(pollMs);
      c = await this.census().catch(() => c);
    }
    const ok = settled(c, allowQueued);
    // Give a duplicate a chance to show itself before the verdict.
    await sleep(2000);
    c = await this.census();
    return { census: c, recoverySeconds: ok ? Math.max(0, (Date.now() - 2000 - faultEndedMs) / 1000) : null };
  }

  /** Records the figures, then asserts the invariant (the record is written even when it fails). */
  async verdict(
    c: Census,
    recoverySeconds: number | null,
    extraChecks: () => void = () => undefined,
    notes?: string,
  ): Promise<void> {
    let failure: unknown;
    try {
      assert.ok(recoverySeconds !== null, `not settled within the scenario's bound: ${JSON.stringify(c)}`);
      assert.equal(c.lost, 0, `lost: ${JSON.stringify(c.examples)}`);
      assert.equal(c.duplicates, 0, `duplicates: ${JSON.stringify(c.examples)}`);
      assert.equal(c.resultsMissing, 0, `results missing: ${JSON.stringify(c.examples)}`);
      if (this.#o.deadLettersExpected !== true) {
        assert.equal(
          c.deadLettered,
          0,
          `dead-lettered for a fault not theirs: ${JSON.stringify(c.deadReasons)}`,
        );
      }
      extraChecks();
    } catch (err) {
      failure = err;
    }
    const seconds = Math.round((Date.now() - this.startedMs) / 100) / 10;
    await saveRecord(
      toRecord(this.name, c, {
        recoverySeconds: recoverySeconds === null ? null : Math.round(recoverySeconds * 10) / 10,
        passed: failure === undefined,
        seconds,
        notes: [notes, failure instanceof Error ? failure.message.split('\n')[0] : undefined]
          .filter((n) => n !== undefined)
          .join(' | '),
      }),
    );
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  }

  /** A ServiceAccount in the scenario's namespace with kjd's Role there; returns a token for it. */
  async serviceAccountToken(name = 'kjd'): Promise<string> {
    const core = this.cluster.admin.makeApiClient(CoreV1Api);
    const rbac = this.cluster.admin.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: this.ns, body: { metadata: { name } } });
    await rbac.createNamespacedRole({
      namespace: this.ns,
      body: {
        metadata: { name },
        rules: [
          {
            apiGroups: ['batch'],
            resources: ['jobs'],
            verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'],
          },
          { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: this.ns,
      body: {
        metadata: { name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: this.ns }],
        roleRef: { kind: 'Role', name, apiGroup: 'rbac.authorization.k8s.io' },
      },
    });
    const req = await core.createNamespacedServiceAccountToken({
      name,
      namespace: this.ns,
      body: { spec: { expirationSeconds: 3600, audiences: [] } },
    });
    return req.status?.token ?? '';
  }
}

/** Seconds since `ms`, one decimal. */
export const secondsSince = (ms: number): number => Math.round((Date.now() - ms) / 100) / 10;
