// One connection pool per cluster (client-node opens a new TLS connection per
// request), a client-side rate limit, a per-request timeout, and retries with
// backoff for what is safe to retry. Every non-2xx answer becomes a typed
// error here, so nothing above this layer sees a raw Status body.
import type { Readable } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import type { Connection } from './connection.ts';
import { backoffDelay, DEFAULT_BACKOFF, retryAfterMs, type BackoffPolicy } from './backoff.ts';
import { apiError, KubeNetworkError, parseStatus, type KubeApiError } from './errors.ts';
import type { AdaptiveLimit } from './pacing.ts';
import { TokenBucket, type RateLimit } from './rate-limiter.ts';
import { requestInfo } from './request-info.ts';
import { sleep } from '../time/sleep.ts';

export interface TransportOptions {
  /** Per-request timeout (headers and body), ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Client-side fixed limit. Default 200 QPS, burst 400, unless `pacing` is given. */
  readonly rateLimit?: RateLimit;
  /**
   * Adaptive pacing (pacing.ts): requests wait for a slot under a limit the
   * API server's answers move. Given alone, it replaces the fixed QPS.
   */
  readonly pacing?: AdaptiveLimit;
  readonly backoff?: BackoffPolicy;
  /** Connections kept to the API server. Default 32. */
  readonly connections?: number;
  /** Called once per finished request (metrics). Must not throw. */
  readonly onRequest?: (event: RequestEvent) => void;
}

export interface RequestEvent {
  readonly method: string;
  readonly verb: string | undefined;
  readonly resource: string | undefined;
  /** HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  readonly durationMs: number;
  readonly attempts: number;
  /** APF's classification of the last answer (X-Kubernetes-PF-PriorityLevel-UID), when the server sent it. */
  readonly priorityLevelUid?: string;
  readonly flowSchemaUid?: string;
  /** Attempts the API server answered 429 (retried ones included): its pushback. */
  readonly throttled: number;
  /** The last Retry-After it gave, in ms. */
  readonly retryAfterMs?: number;
}

export interface KubeRequest {
  readonly method: string;
  /** Absolute URL, or a path on the connection's server. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** Retry even a POST on 5xx/network errors (reviews and other side-effect-free calls). */
  readonly idempotent?: boolean;
  /** Streams only: fail when the body is silent this long (a half-open connection). Default: no limit. */
  readonly idleTimeoutMs?: number;
  /**
   * Ends the waits before the request is sent (rate limit, retry backoff) but
   * not a request already on the wire: stopping kjd must not wait out a throttle.
   */
  readonly waitSignal?: AbortSignal;
}

export interface KubeResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface KubeStream {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']);

export class KubeTransport {
  readonly connection: Connection;
  readonly #agent: Agent;
  /**
   * Watches and log streams hold a connection each for minutes: on a pool of
   * their own, so they can never take every connection from creates.
   */
  readonly #streamAgent: Agent;
  readonly #limiter: TokenBucket | undefined;
  readonly #pacing: AdaptiveLimit | undefined;
  readonly #timeoutMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #onRequest: ((e: RequestEvent) => void) | undefined;

  constructor(connection: Connection, options: TransportOptions = {}) {
    this.connection = connection;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#pacing = options.pacing;
    const fixed = options.rateLimit ?? (options.pacing === undefined ? { qps: 200, burst: 400 } : undefined);
    this.#limiter = fixed === undefined ? undefined : new TokenBucket(fixed);
    this.#onRequest = options.onRequest;
    // One TLS context for every connection of both pools: building it (parsing
    // the CA and the client key) cost as much as the handshakes themselves when
    // a burst opened 128 connections at once (a CPU profile of the throughput bench).
    const secureContext = secureContextOf(connection);
    this.#agent = newAgent(connection, secureContext, options.connections ?? 32);
    this.#streamAgent = newAgent(connection, secureContext, undefined);
  }

  /** A buffered request; resolves for 2xx, throws a typed error otherwise. */
  async request(req: KubeRequest): Promise<KubeResponse> {
    const res = await this.#send(req, false);
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: flatten(res.headers), body };
  }

  /** A streaming request (watch, logs): only the response headers are time-limited. */
  async stream(req: KubeRequest): Promise<KubeStream> {
    const res = await this.#send(req, true);
    return { status: res.statusCode, headers: flatten(res.headers), body: res.body };
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#streamAgent.close()]);
  }

  url(pathOrUrl: string): string {
    return pathOrUrl.startsWith('http')
      ? pathOrUrl
      : `${this.connection.server.replace(/\/$/, '')}${pathOrUrl}`;
  }

  async #send(req: KubeRequest, streaming: boolean): Promise<Dispatcher.ResponseData> {
    const url = this.url(req.url);
    const started = performance.now();
    const info = requestInfo(req.method, url);
    let status = 0;
    let attempt = 0;
    let refreshed = false;
    let apf: Apf = {};
    const throttles = new Throttles();
    try {
      for (;;) {
        attempt += 1;
        await this.#limiter?.take(req.waitSignal ?? req.signal);
        const outcome = await this.#pacedAttempt(req, url, streaming);
        apf = outcome.apf;
        status = statusOf(outcome);
        if ('response' in outcome) return outcome.response;
        const { error } = outcome;
        throttles.see(error);
        if (status === 401 && !refreshed && (await this.connection.credentials.refresh())) {
          refreshed = true;
          continue;
        }
        const wait = this.#retryDelay(req, error, attempt);
        if (wait === undefined) throw error;
        await sleep(wait, req.waitSignal ?? req.signal);
      }
    } finally {
      this.#onRequest?.({
        method: req.method,
        verb: info?.verb,
        resource: info?.resource,
        status,
        durationMs: performance.now() - started,
        attempts: attempt,
        ...apf,
        ...throttles.summary(),
      });
    }
  }

  /** One attempt inside a pacing slot; its answer moves the limit. */
  async #pacedAttempt(req: KubeRequest, url: string, streaming: boolean): Promise<Attempt> {
    // Streams hold their connection for minutes: they take no pacing slot.
    const pacing = streaming ? undefined : this.#pacing;
    if (pacing === undefined) return this.#attempt(req, url, streaming);
    const inFlightAtSend = await pacing.acquire(req.waitSignal ?? req.signal);
    const sent = performance.now();
    let outcome: Attempt | undefined;
    try {
      outcome = await this.#attempt(req, url, streaming);
      return outcome;
    } finally {
      // An attempt that threw (aborted) frees its slot and says nothing about load.
      pacing.release(
        outcome && { status: statusOf(outcome), durationMs: performance.now() - sent, inFlightAtSend },
      );
    }
  }

  async #attempt(req: KubeRequest, url: string, streaming: boolean): Promise<Attempt> {
    const auth = await this.connection.credentials.authorization();
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(url, {
        method: req.method,
        headers: {
          accept: 'application/json',
          ...req.headers,
          ...(auth !== undefined ? { authorization: auth } : {}),
        },
        ...(req.body !== undefined ? { body: req.body } : {}),
        dispatcher: streaming ? this.#streamAgent : this.#agent,
        // Time is bounded by undici's own timers (headers, then each gap in the
        // body), not by an AbortSignal.timeout per request: thousands of those
        // pending at once under load cost memory and timer churn for nothing.
        // A streaming body is bounded by its idle timeout and the watch's own timeoutSeconds.
        signal: req.signal ?? null,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: streaming ? (req.idleTimeoutMs ?? 0) : this.#timeoutMs,
      });
    } catch (err) {
      req.signal?.throwIfAborted();
      return { error: new KubeNetworkError(url, err), apf: {} };
    }
    const apf = apfOf(res.headers);
    if (res.statusCode >= 200 && res.statusCode < 300) return { response: res, apf };
    const text = await res.body.text().catch(() => '');
    const headers = flatten(res.headers);
    const status = parseStatus(res.statusCode, text);
    const after = retryAfterMs(headers['retry-after']) ?? secondsToMs(status.details?.retryAfterSeconds);
    return {
      apf,
      error: apiError({
        status,
        request: requestInfo(req.method, url),
        method: req.method,
        url,
        credential: this.connection.credentials.description,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      }),
    };
  }

  /** ms to wait before retrying, or undefined when this error must not be retried. */
  #retryDelay(req: KubeRequest, error: KubeApiError | KubeNetworkError, attempt: number): number | undefined {
    if (attempt > this.#backoff.maxRetries) return undefined;
    const status = error instanceof KubeNetworkError ? 0 : error.statusCode;
    const safe = req.idempotent === true || SAFE_METHODS.has(req.method.toUpperCase());
    // 429 means APF rejected the request before running it: retrying a create is safe.
    const retryable = status === 429 || (safe && (status === 0 || status >= 500));
    if (!retryable) return undefined;
    const hinted = error instanceof KubeNetworkError ? undefined : error.retryAfterMs;
    // Everyone throttled together is told the same Retry-After: spread the
    // retries over [hint, 2*hint] so they do not return as one herd.
    return hinted === undefined ? backoffDelay(this.#backoff, attempt) : hinted * (1 + Math.random());
  }
}

function secureContextOf({ tls }: Connection): SecureContext {
  return createSecureContext({
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  });
}

function newAgent(
  connection: Connection,
  secureContext: SecureContext,
  connections: number | undefined,
): Agent {
  const { tls } = connection;
  return new Agent({
    ...(connections !== undefined ? { connections } : {}),
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    // HTTP/1.1: each watch holds its own connection; requests never queue behind one.
    allowH2: false,
    connect: {
      rejectUnauthorized: tls.rejectUnauthorized,
      secureContext,
      ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    },
  });
}

type Apf = { priorityLevelUid?: string; flowSchemaUid?: string };
type Attempt =
  { response: Dispatcher.ResponseData; apf: Apf } | { error: KubeApiError | KubeNetworkError; apf: Apf };

function statusOf(a: Attempt): number {
  if ('response' in a) return a.response.statusCode;
  return a.error instanceof KubeNetworkError ? 0 : a.error.statusCode;
}

/** Which APF priority level and flow schema the API server put the request in. */
function apfOf(headers: Record<string, string | string[] | undefined>): Apf {
  const level = headers['x-kubernetes-pf-prioritylevel-uid'];
  const schema = headers['x-kubernetes-pf-flowschema-uid'];
  return {
    ...(typeof level === 'string' ? { priorityLevelUid: level } : {}),
    ...(typeof schema === 'string' ? { flowSchemaUid: schema } : {}),
  };
}

const secondsToMs = (s: number | undefined) => (s === undefined ? undefined : s * 1000);

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The 429s of one request's attempts, and the last Retry-After among them. */
class Throttles {
  #count = 0;
  #retryAfterMs: number | undefined;

  see(error: KubeApiError | KubeNetworkError): void {
    if (error instanceof KubeNetworkError || error.statusCode !== 429) return;
    this.#count += 1;
    this.#retryAfterMs = error.retryAfterMs ?? this.#retryAfterMs;
  }

  summary(): { throttled: number; retryAfterMs?: number } {
    return {
      throttled: this.#count,
      ...(this.#retryAfterMs !== undefined ? { retryAfterMs: this.#retryAfterMs } : {}),
    };
  }
}
