// Kubernetes API calls as JSON over one KubeTransport (pool, rate limit,
// retries, typed errors). @kubernetes/client-node supplies the types only: its
// runtime (every generated model and its serializer, loaded at import) cost
// kjd ~800 ms of start-up and ~85 MB of RSS, and a serialize + deserialize
// pass per request, for objects the API server already sends as plain JSON.
// Timestamps therefore stay RFC 3339 strings, as on the wire (and as in watch
// events); code reading them accepts a string or a Date.
import { resolveConnection, type ConnectOptions, type Connection } from './connection.ts';
import { KubeTransport, type TransportOptions } from './transport.ts';
import { parseKubeJson } from './lean-json.ts';

export interface KubeClientOptions extends ConnectOptions {
  readonly transport?: TransportOptions;
}

type QueryValue = string | number | boolean | undefined;

export interface ApiCall {
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Default application/json (patches say which patch they are). */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Ends only the waits before sending (rate limit, backoff); see KubeRequest.waitSignal. */
  readonly waitSignal?: AbortSignal;
  /** Retry even a POST on 5xx/network errors (reviews and other side-effect-free calls). */
  readonly idempotent?: boolean;
}

export class KubeClient {
  readonly connection: Connection;
  readonly transport: KubeTransport;

  /** Resolves the connection (kubeconfig or in-cluster) and opens nothing yet. */
  static connect(options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(resolveConnection(options), options.transport);
  }

  constructor(connection: Connection, transportOptions: TransportOptions = {}) {
    this.connection = connection;
    this.transport = new KubeTransport(connection, transportOptions);
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  /**
   * One call; resolves with the parsed body of a 2xx answer (without
   * metadata.managedFields: lean-json.ts), throws a typed KubeApiError otherwise.
   */
  async call<T>(method: string, path: string, options: ApiCall = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const search = query.size > 0 ? `?${query.toString()}` : '';
    const hasBody = options.body !== undefined;
    const res = await this.transport.request({
      method,
      url: `${path}${search}`,
      headers: {
        accept: 'application/json',
        ...(hasBody ? { 'content-type': options.contentType ?? 'application/json' } : {}),
      },
      ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.waitSignal !== undefined ? { waitSignal: options.waitSignal } : {}),
      ...(options.idempotent === true ? { idempotent: true } : {}),
    });
    return parseKubeJson(res.body.toString('utf8')) as T;
  }

  /** Closes the connection pool. Open watches and log streams end. */
  close(): Promise<void> {
    return this.transport.close();
  }
}

/** `/apis/batch/v1/namespaces/<ns>/jobs[/<name>[/<sub>]]`, each segment escaped. */
export function apiPath(
  groupVersion: string,
  namespace: string | undefined,
  resource: string,
  name?: string,
  subresource?: string,
): string {
  const base = groupVersion === 'v1' ? '/api/v1' : `/apis/${groupVersion}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const tail = [name, subresource].filter((s) => s !== undefined).map((s) => `/${encodeURIComponent(s)}`);
  return `${base}${ns}/${resource}${tail.join('')}`;
}
