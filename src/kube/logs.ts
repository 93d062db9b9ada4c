// A Job's logs: the logs of its Pods (oldest first), streamed through the
// shared transport into a Writable, prefixed by Pod when there are several.
// Unlike client-node's Log class, stream errors reach the caller and a 4xx
// keeps the API server's reason ("container is waiting to start").
import type { Writable } from 'node:stream';
import { KjdError, type ErrorCategory } from '../errors.ts';
import type { KubeClient } from './client.ts';
import type { JobOperations } from './jobs.ts';

export class NoPodsError extends KjdError {
  readonly code = 'JOB_NO_PODS';
  readonly category: ErrorCategory = 'retryable';
  constructor(name: string) {
    super(`Job "${name}" has no Pods (yet, or any more)`);
  }
}

export interface LogOptions {
  readonly namespace?: string;
  readonly container?: string;
  readonly follow?: boolean;
  readonly tailLines?: number;
  readonly signal?: AbortSignal;
}

export async function streamJobLogs(
  client: KubeClient,
  jobs: JobOperations,
  name: string,
  out: Writable,
  options: LogOptions = {},
): Promise<void> {
  const namespace = options.namespace ?? client.namespace;
  const pods = await jobs.pods(name, namespace);
  if (pods.length === 0) throw new NoPodsError(name);
  for (const pod of pods) {
    const podName = pod.metadata?.name ?? '';
    const res = await client.transport.stream({
      method: 'GET',
      url: podLogPath(namespace, podName, options.container ?? pod.spec?.containers[0]?.name, options),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await copyLines(res.body, out, pods.length > 1 ? `[${podName}] ` : '');
  }
}

function podLogPath(
  namespace: string,
  pod: string,
  container: string | undefined,
  options: LogOptions,
): string {
  const query = new URLSearchParams();
  if (container !== undefined) query.set('container', container);
  if (options.follow === true) query.set('follow', 'true');
  if (options.tailLines !== undefined) query.set('tailLines', String(options.tailLines));
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query.toString()}`;
}

async function copyLines(body: AsyncIterable<Buffer>, out: Writable, prefix: string): Promise<void> {
  let pending = '';
  for await (const chunk of body) {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out.write(`${prefix}${line}\n`);
  }
  if (pending !== '') out.write(`${prefix}${pending}\n`);
}
