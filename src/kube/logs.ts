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
    const container = options.container ?? pod.spec?.containers[0]?.name;
    const query = new URLSearchParams();
    if (container !== undefined) query.set('container', container);
    if (options.follow === true) query.set('follow', 'true');
    if (options.tailLines !== undefined) query.set('tailLines', String(options.tailLines));
    const res = await client.transport.stream({
      method: 'GET',
      url: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}/log?${query.toString()}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const prefix = pods.length > 1 ? `[${podName}] ` : '';
    let pending = '';
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const text = pending + chunk.toString('utf8');
      const lines = text.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) out.write(`${prefix}${line}\n`);
    }
    if (pending !== '') out.write(`${prefix}${pending}\n`);
  }
}
