// The Job lifecycle: create (idempotent per request id), get, list, patch,
// delete, and the Job's Pods. Everything goes through the shared KubeClient.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { apiPath, type KubeClient } from './client.ts';
import { KubeConflictError, KubeInvalidError, KubeNotFoundError } from './errors.ts';
import {
  ANNOTATION_BATCH_REQUEST_IDS,
  ANNOTATION_ID_SCOPE,
  ANNOTATION_REQUEST_ID,
  JOB_NAME_POD_LABEL,
} from './labels.ts';

export type Propagation = 'Background' | 'Foreground' | 'Orphan';
export type PatchType = 'merge' | 'strategic' | 'json';

/** A deterministic name is taken by a Job made for another request (or by hand). */
export class JobNameConflictError extends KjdError {
  readonly code = 'JOB_NAME_CONFLICT';
  readonly category: ErrorCategory = 'permanent';
  readonly jobName: string;
  constructor(name: string, namespace: string, wanted: string | undefined, found: string | undefined) {
    super(
      `Job "${name}" already exists in namespace "${namespace}" but was made for ` +
        `${found === undefined ? 'no kjd request' : `request "${found}"`}, not ${wanted === undefined ? 'this launch' : `"${wanted}"`}`,
    );
    this.jobName = name;
  }
}

export interface CreateResult {
  readonly job: V1Job;
  /** False when the Job already existed for the same request id (a retry). */
  readonly created: boolean;
}

export interface ListPage {
  readonly items: readonly V1Job[];
  /** Token for the next page, if any. */
  readonly continue?: string;
  readonly resourceVersion?: string;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

/** A list as the API server sends it (client-node's types rename `continue` to `_continue`). */
interface WireList<T> {
  readonly items: T[];
  readonly metadata?: { readonly continue?: string; readonly resourceVersion?: string };
}

const jobsPath = (namespace: string, name?: string) => apiPath('batch/v1', namespace, 'jobs', name);

export class JobOperations {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  #ns(namespace: string | undefined): string {
    return namespace ?? this.#client.namespace;
  }

  /**
   * Creates the Job. When the name is taken, succeeds with the existing Job if
   * it carries the same request id (so a retried create never makes a second
   * Job), and fails with JobNameConflictError otherwise.
   */
  async create(
    job: V1Job,
    options: { namespace?: string; dryRun?: boolean; waitSignal?: AbortSignal } = {},
  ): Promise<CreateResult> {
    const namespace = this.#ns(options.namespace ?? job.metadata?.namespace);
    try {
      const created = await this.#client.call<V1Job>('POST', jobsPath(namespace), {
        body: job,
        query: { fieldValidation: 'Strict', dryRun: options.dryRun === true ? 'All' : undefined },
        ...(options.waitSignal !== undefined ? { waitSignal: options.waitSignal } : {}),
      });
      return { job: created, created: true };
    } catch (err) {
      if (!(err instanceof KubeConflictError) || !err.alreadyExists || job.metadata?.name === undefined)
        throw err;
      return { job: await this.#sameRequest(job, job.metadata.name, namespace), created: false };
    }
  }

  /** The Job already named `name`, when it was made for the same request (id and scope); else a conflict. */
  async #sameRequest(job: V1Job, name: string, namespace: string): Promise<V1Job> {
    const existing = await this.get(name, namespace);
    // A batch Job's request is its list of items (same list, same Job).
    const id = (j: V1Job) =>
      j.metadata?.annotations?.[ANNOTATION_REQUEST_ID] ??
      j.metadata?.annotations?.[ANNOTATION_BATCH_REQUEST_IDS];
    const scope = (j: V1Job) => j.metadata?.annotations?.[ANNOTATION_ID_SCOPE];
    const wanted = id(job);
    if (wanted !== undefined && wanted === id(existing) && scope(job) === scope(existing)) return existing;
    throw new JobNameConflictError(name, namespace, wanted, id(existing));
  }

  /** The Job with its status (`get jobs`; does not need the jobs/status subresource). */
  get(name: string, namespace?: string, signal?: AbortSignal): Promise<V1Job> {
    return this.#client.call<V1Job>('GET', jobsPath(this.#ns(namespace), name), {
      ...(signal !== undefined ? { signal } : {}),
    });
  }

  async list(
    options: { namespace?: string; labelSelector?: string; limit?: number; continue?: string } = {},
  ): Promise<ListPage> {
    const page = await this.#client.call<WireList<V1Job>>('GET', jobsPath(this.#ns(options.namespace)), {
      query: { labelSelector: options.labelSelector, limit: options.limit, continue: options.continue },
    });
    return {
      items: page.items,
      ...(page.metadata?.continue ? { continue: page.metadata.continue } : {}),
      ...(page.metadata?.resourceVersion ? { resourceVersion: page.metadata.resourceVersion } : {}),
    };
  }

  /** Every page of a list, `limit` Jobs per request. */
  async *listAll(
    options: { namespace?: string; labelSelector?: string; limit?: number } = {},
  ): AsyncGenerator<V1Job> {
    let token: string | undefined;
    do {
      const page = await this.list({
        ...options,
        limit: options.limit ?? 500,
        ...(token !== undefined ? { continue: token } : {}),
      });
      yield* page.items;
      token = page.continue;
    } while (token !== undefined);
  }

  /** Merge patch by default. A JSON merge patch replaces lists whole; `strategic` merges containers by name. */
  patch(
    name: string,
    body: unknown,
    options: { namespace?: string; type?: PatchType; signal?: AbortSignal } = {},
  ): Promise<V1Job> {
    return this.#client.call<V1Job>('PATCH', jobsPath(this.#ns(options.namespace), name), {
      body,
      contentType: PATCH_CONTENT_TYPES[options.type ?? 'merge'],
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }

  /**
   * Sets a container's image, as seed 001 does. The API server refuses it for
   * an existing Job (the Pod template is immutable); the KubeInvalidError's
   * hint says so and what can be patched instead.
   */
  setImage(
    name: string,
    image: string,
    options: { namespace?: string; container?: string } = {},
  ): Promise<V1Job> {
    return this.#setImage(name, image, this.#ns(options.namespace), options.container);
  }

  async #setImage(
    name: string,
    image: string,
    namespace: string,
    container: string | undefined,
  ): Promise<V1Job> {
    const containerName =
      container ?? (await this.get(name, namespace)).spec?.template.spec?.containers[0]?.name;
    const body = { spec: { template: { spec: { containers: [{ name: containerName, image }] } } } };
    return this.patch(name, body, { namespace, type: 'strategic' });
  }

  /**
   * Deletes the Job and, unlike the API's default for batch/v1 Jobs (orphan),
   * its Pods: Background by default.
   */
  async delete(
    name: string,
    options: {
      namespace?: string;
      propagation?: Propagation;
      gracePeriodSeconds?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<void> {
    await this.#client.call('DELETE', jobsPath(this.#ns(options.namespace), name), {
      query: {
        propagationPolicy: options.propagation ?? 'Background',
        gracePeriodSeconds: options.gracePeriodSeconds,
      },
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }

  /**
   * Removes one finalizer, if the Job still has it. A JSON patch that tests
   * the entry first: two replicas removing it at once cannot remove another
   * finalizer by index. A Job already gone counts as done.
   */
  async removeFinalizer(
    name: string,
    namespace: string,
    finalizer: string,
    /** The finalizers as last seen (a watch event): saves a GET when they have not changed. */
    known?: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    for (let tries = 0; tries < 5; tries++) {
      let finalizers = tries === 0 ? known : undefined;
      if (finalizers === undefined) {
        try {
          finalizers = (await this.get(name, namespace, signal)).metadata?.finalizers ?? [];
        } catch (err) {
          if (err instanceof KubeNotFoundError) return;
          throw err;
        }
      }
      const index = finalizers.indexOf(finalizer);
      if (index < 0) return;
      const path = `/metadata/finalizers/${index}`;
      try {
        await this.patch(
          name,
          [
            { op: 'test', path, value: finalizer },
            { op: 'remove', path },
          ],
          { namespace, type: 'json', ...(signal !== undefined ? { signal } : {}) },
        );
        return;
      } catch (err) {
        if (err instanceof KubeNotFoundError) return;
        // The test failed: the list changed under us; read it again.
        if (!(err instanceof KubeInvalidError)) throw err;
      }
    }
  }

  /**
   * The Job's Pods, oldest first. `cached`: from the API server's watch cache
   * as it stands (resourceVersion 0), without the consistent read (a round
   * trip to etcd) a plain list costs; it may lag behind.
   */
  async pods(
    name: string,
    namespace?: string,
    signal?: AbortSignal,
    options: { readonly cached?: boolean } = {},
  ): Promise<V1Pod[]> {
    const list = await this.#client.call<WireList<V1Pod>>('GET', apiPath('v1', this.#ns(namespace), 'pods'), {
      query: {
        labelSelector: `${JOB_NAME_POD_LABEL}=${name}`,
        ...(options.cached === true ? { resourceVersion: '0' } : {}),
      },
      ...(signal !== undefined ? { signal } : {}),
    });
    const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
    return [...list.items].sort((a, b) => created(a) - created(b));
  }

  /**
   * The namespace's Pods' current resourceVersion, from a list of at most one
   * Pod: where a watch starts that wants changes only, without the synthetic
   * ADDED event per existing Pod a watch without a version begins with.
   */
  async podsVersion(
    namespace: string,
    selectors: { readonly labelSelector?: string; readonly fieldSelector?: string },
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const list = await this.#client.call<WireList<V1Pod>>('GET', apiPath('v1', this.#ns(namespace), 'pods'), {
      query: { ...selectors, limit: 1 },
      ...(signal !== undefined ? { signal } : {}),
    });
    return list.metadata?.resourceVersion;
  }
}
