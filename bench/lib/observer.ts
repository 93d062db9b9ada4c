// Sees Jobs appear and finish in one namespace through a watch opened before
// any item is sent (from a list's resourceVersion, so nothing is missed), and
// stamps each with this process's clock: the same observer for every
// contender, so its own delay (the watch) is the same for all of them.
import type { V1Job } from '@kubernetes/client-node';
import { apiPath, type KubeClient } from '../../src/kube/client.ts';
import { watchJobs } from '../../src/kube/watch.ts';

export const now = (): number => performance.timeOrigin + performance.now();

export class JobObserver {
  /** Job name -> when it was first seen. */
  readonly created = new Map<string, number>();
  /** Job name -> when it was first seen Complete or Failed. */
  readonly finished = new Map<string, number>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  readonly kube: KubeClient;
  readonly namespace: string;

  constructor(kube: KubeClient, namespace: string) {
    this.kube = kube;
    this.namespace = namespace;
  }

  async start(): Promise<void> {
    const list = await this.kube.call<{ metadata?: { resourceVersion?: string } }>(
      'GET',
      apiPath('batch/v1', this.namespace, 'jobs'),
      { query: { limit: 1 } },
    );
    const rv = list.metadata?.resourceVersion;
    this.#loop = this.#watch(rv).catch(() => undefined);
  }

  async #watch(from: string | undefined): Promise<void> {
    let rv = from;
    while (!this.#stop.signal.aborted) {
      for await (const ev of watchJobs(this.kube.transport, {
        namespace: this.namespace,
        signal: this.#stop.signal,
        ...(rv !== undefined ? { resourceVersion: rv } : {}),
      })) {
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.#see(ev.object);
      }
    }
  }

  #see(job: V1Job): void {
    const name = job.metadata?.name ?? '';
    const t = now();
    if (!this.created.has(name)) this.created.set(name, t);
    const done = job.status?.conditions?.some(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    if (done === true && !this.finished.has(name)) this.finished.set(name, t);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when `test` holds after an event; rejects after timeoutMs. */
  until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
