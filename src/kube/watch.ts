// A watch on Jobs (or Pods) over the shared transport: NDJSON events from a
// resourceVersion, with bookmarks requested (so a quiet watch can resume
// without a 410) and a server-side timeout so a silently dead connection ends.
// An expired resourceVersion (410, as a status or an ERROR event) is thrown
// as KubeGoneError: the caller relists.
import { createInterface } from 'node:readline';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { KubeGoneError, apiError, type ApiStatus } from './errors.ts';
import type { KubeTransport } from './transport.ts';
import { parseKubeJson } from './lean-json.ts';

/** Before a watch's next start after its n-th failure in a row: 0.5 s, 1 s, 2 s, ... up to 30 s. */
export const watchRestartDelayMs = (n: number): number => Math.min(30_000, 250 * 2 ** Math.min(n, 7));

/** The bookmark that ends a watch's streamed initial state. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T> {
  readonly type: WatchEventType;
  readonly object: T;
}

export interface WatchJobsOptions {
  readonly namespace: string;
  readonly resourceVersion?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Streamed initial state (WatchList, Kubernetes 1.27+, on by default since
   * 1.32): every current Job as ADDED, then a BOOKMARK annotated
   * `k8s.io/initial-events-end`, then changes. Instead of a paged list, whose
   * pages of hundreds of Jobs at once set the process's memory high-water mark.
   * A server without it answers 4xx (KubeInvalidError / KubeRequestError).
   */
  readonly sendInitialEvents?: boolean;
  /** The API server ends the watch after this long; the caller re-watches. Default 300. */
  readonly timeoutSeconds?: number;
  /**
   * Fail the watch when nothing (no event, no bookmark) arrives for this long:
   * a connection that went half-open (no data, no FIN) would otherwise hang
   * it forever. The API server sends a bookmark about once a minute.
   * Default: no limit.
   */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export function watchJobs(
  transport: KubeTransport,
  options: WatchJobsOptions,
): AsyncGenerator<WatchEvent<V1Job>> {
  return watchObjects<V1Job>(
    transport,
    `/apis/batch/v1/namespaces/${encodeURIComponent(options.namespace)}/jobs`,
    options,
  );
}

/** Pods, as watchJobs watches Jobs (the same options). */
export function watchPods(
  transport: KubeTransport,
  options: WatchJobsOptions,
): AsyncGenerator<WatchEvent<V1Pod>> {
  return watchObjects<V1Pod>(
    transport,
    `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`,
    options,
  );
}

async function* watchObjects<T>(
  transport: KubeTransport,
  path: string,
  options: WatchJobsOptions,
): AsyncGenerator<WatchEvent<T>> {
  const query = new URLSearchParams({
    watch: '1',
    allowWatchBookmarks: 'true',
    timeoutSeconds: String(options.timeoutSeconds ?? 300),
  });
  if (options.resourceVersion !== undefined) query.set('resourceVersion', options.resourceVersion);
  if (options.sendInitialEvents === true) {
    query.set('sendInitialEvents', 'true');
    query.set('resourceVersionMatch', 'NotOlderThan');
  }
  if (options.labelSelector !== undefined) query.set('labelSelector', options.labelSelector);
  if (options.fieldSelector !== undefined) query.set('fieldSelector', options.fieldSelector);
  const url = `${path}?${query.toString()}`;
  const res = await transport.stream({
    method: 'GET',
    url,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
  });
  const lines = createInterface({ input: res.body, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      // Every event is a line starting with '{'; trim() only for the odd other line (it copies the line).
      if (line.charCodeAt(0) !== 0x7b && line.trim() === '') continue;
      const event = parseKubeJson(line) as { type: WatchEventType | 'ERROR'; object: unknown };
      if (event.type === 'ERROR') {
        const status = event.object as ApiStatus;
        const ctx = {
          status,
          request: undefined,
          method: 'GET',
          url,
          credential: transport.connection.credentials.description,
        };
        throw status.code === 410 ? new KubeGoneError(ctx) : apiError(ctx);
      }
      yield { type: event.type, object: event.object as T };
    }
  } finally {
    lines.close();
    res.body.destroy();
  }
}
