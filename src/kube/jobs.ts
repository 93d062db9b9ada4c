// The Job lifecycle: create (idempotent per request id), get, list, patch,
// delete, and the Job's Pods. Everything goes through the shared KubeClient.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { KjdError, type ErrorCategory } from '../errors.ts';
import { apiPath, type KubeClient } from './client.ts';
import { KubeConflictError } from './errors.ts';
import { JOB_NAME_POD_LABEL, ANNOTATION_REQUEST_ID } from './labels.ts';

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
  async create(job: V1Job, options: { namespace?: string; dryRun?: boolean } = {}): Promise<CreateResult> {
    const namespace = this.#ns(options.namespace ?? job.metadata?.namespace);
    try {
      const created = await this.#client.call<V1Job>('POST', jobsPath(namespace), {
        body: job,
        query: { fieldValidation: 'Strict', dryRun: options.dryRun === true ? 'All' : undefined },
      });
      return { job: created, created: true };
    } catch (err) {
      if (!(err instanceof KubeConflictError) || !err.alreadyExists || job.metadata?.name === undefined)
        throw err;
      const existing = await this.get(job.metadata.name, namespace);
      const wanted = job.metadata.annotations?.[ANNOTATION_REQUEST_ID];
      const found = existing.metadata?.annotations?.[ANNOTATION_REQUEST_ID];
      if (wanted !== undefined && wanted === found) return { job: existing, created: false };
      throw new JobNameConflictError(job.metadata.name, namespace, wanted, found);
    }
  }

  /** The Job with its status (`get jobs`; does not need the jobs/status subresource). */
  get(name: string, namespace?: string): Promise<V1Job> {
    return this.#client.call<V1Job>('GET', jobsPath(this.#ns(namespace), name));
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
  patch(name: string, body: unknown, options: { namespace?: string; type?: PatchType } = {}): Promise<V1Job> {
    return this.#client.call<V1Job>('PATCH', jobsPath(this.#ns(options.namespace), name), {
      body,
      contentType: PATCH_CONTENT_TYPES[options.type ?? 'merge'],
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
    options: { namespace?: string; propagation?: Propagation; gracePeriodSeconds?: number } = {},
  ): Promise<void> {
    await this.#client.call('DELETE', jobsPath(this.#ns(options.namespace), name), {
      query: {
        propagationPolicy: options.propagation ?? 'Background',
        gracePeriodSeconds: options.gracePeriodSeconds,
      },
    });
  }

  /** The Job's Pods, oldest first. */
  async pods(name: string, namespace?: string): Promise<V1Pod[]> {
    const list = await this.#client.call<WireList<V1Pod>>('GET', apiPath('v1', this.#ns(namespace), 'pods'), {
      query: { labelSelector: `${JOB_NAME_POD_LABEL}=${name}` },
    });
    const created = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
    return [...list.items].sort((a, b) => created(a) - created(b));
  }
}
