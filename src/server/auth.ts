// Who may use the /v1 API. Default (tokenreview): the caller's bearer token
// must be one the API server accepts (TokenReview), and for each request its
// user must be allowed the same verb on Jobs in the namespace the request
// acts on (SubjectAccessReview), so nobody can do more through kjd than RBAC
// lets them do directly.
//
// What an unauthenticated caller can cost: one TokenReview per token kjd has
// not seen, through a client of its own (its own rate limit and connections,
// one retry), so a flood of bogus tokens can never spend the budget Job
// creates use. Reviews of one token are shared while in flight; accepted and
// refused tokens are cached (bounded, least recently used out first); and a
// client address gets only so many reviews a second.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.ts';
import type { RateLimit } from '../kube/rate-limiter.ts';
import { ClientLimiter } from './client-limiter.ts';
import { HttpError } from './http-errors.ts';

// The refusals a flood provokes, made once: building an Error captures a stack
// trace, about a sixth of the CPU a refused request cost (profiled under 1,280
// bogus tokens/s), and these carry nothing that differs between requests.
const NO_TOKEN = new HttpError(401, 'UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <token>');
const NOT_ACCEPTED = new HttpError(401, 'UNAUTHENTICATED', 'the API server does not accept this token');
const UNKNOWN_STATIC_TOKEN = new HttpError(401, 'UNAUTHENTICATED', 'unknown token');
const TOO_MANY_NEW_TOKENS = new HttpError(
  429,
  'TOO_MANY_NEW_TOKENS',
  'too many unknown tokens from this address',
  1,
);
import { TtlCache } from './ttl-cache.ts';

export interface AuthSettings {
  readonly mode: 'tokenreview' | 'static' | 'none';
  readonly tokens: readonly string[];
}

/** Who is calling, as the API server knows them. */
export interface Caller {
  readonly user: string;
  readonly groups?: readonly string[];
  readonly uid?: string;
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  /** Static or no authentication: every right kjd has. */
  readonly unrestricted: boolean;
}

export type JobVerb = 'create' | 'get' | 'list' | 'watch' | 'delete';

/** What a request acts on: Jobs unless said otherwise (a Job's logs are `pods/log`). */
export interface Resource {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
}

const JOBS: Resource = { group: 'batch', resource: 'jobs' };

export interface AuthenticatorOptions {
  readonly settings: AuthSettings;
  /** For TokenReview and SubjectAccessReview only: give it its own transport and limit. */
  readonly client: KubeClient;
  /** TokenReviews one client address may cause. Default 5/s, burst 20. */
  readonly reviewsPerClient?: RateLimit;
  /** Tokens (and decisions) remembered. Default 10 000 each. */
  readonly maxCached?: number;
}

const ACCEPTED_TTL_MS = 10_000;
const REFUSED_TTL_MS = 60_000;
const DECISION_TTL_MS = 10_000;
/** A token accepted within this long is re-reviewed (every ACCEPTED_TTL_MS) without counting against its address. */
const KNOWN_TTL_MS = 15 * 60_000;

export class Authenticator {
  readonly #o: AuthenticatorOptions;
  readonly #static: Buffer[];
  /** Token digest -> the caller, or null for a token the API server refused. */
  readonly #tokens: TtlCache<Caller | null>;
  readonly #decisions: TtlCache<boolean>;
  readonly #perClient: ClientLimiter;
  /** Tokens the API server accepted lately: their re-reviews are not limited per address. */
  readonly #known: TtlCache<true>;

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
    this.#static = options.settings.tokens.map(digest);
    this.#tokens = new TtlCache({ maxEntries: options.maxCached ?? 10_000 });
    this.#decisions = new TtlCache({ maxEntries: options.maxCached ?? 10_000 });
    this.#perClient = new ClientLimiter(options.reviewsPerClient ?? { qps: 5, burst: 20 });
    this.#known = new TtlCache({ maxEntries: options.maxCached ?? 10_000 });
  }

  /** The caller behind an Authorization header; 401 without a valid token, 429 when its address sent too many new ones. */
  async authenticate(header: string | undefined, clientAddress: string): Promise<Caller> {
    return this.admit(header, clientAddress);
  }

  /**
   * As authenticate(), but what needs no I/O is decided now: a refusal is
   * thrown at once, a cached caller returned as is; only a review is a
   * promise. So a flood of bogus tokens can be answered before its requests
   * are routed (early-refusal.ts).
   */
  admit(header: string | undefined, clientAddress: string): Caller | Promise<Caller> {
    const { mode } = this.#o.settings;
    if (mode === 'none') return { user: 'anonymous', unrestricted: true };
    const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (token === undefined) throw NO_TOKEN;
    const d = digest(token);
    if (mode === 'static') {
      if (!this.#static.some((t) => timingSafeEqual(t, d))) throw UNKNOWN_STATIC_TOKEN;
      return { user: 'static-token', unrestricted: true };
    }
    const key = d.toString('hex');
    const known = this.#tokens.get(key);
    if (known !== undefined) return accepted(known);
    const limited = !this.#tokens.loading(key) && this.#known.get(key) === undefined;
    if (limited && !this.#perClient.tryTake(clientAddress)) {
      throw TOO_MANY_NEW_TOKENS;
    }
    return this.#tokens
      .getOrLoad(key, async () => {
        const reviewed = await this.#review(token);
        if (reviewed !== null) this.#known.set(key, true, KNOWN_TTL_MS);
        return { value: reviewed, ttlMs: reviewed === null ? REFUSED_TTL_MS : ACCEPTED_TTL_MS };
      })
      .then(accepted);
  }

  /** Whether `caller` may `verb` Jobs in `namespace`, as RBAC decides. */
  async allowed(caller: Caller, verb: JobVerb, namespace: string, on: Resource = JOBS): Promise<boolean> {
    if (caller.unrestricted) return true;
    const key = [
      caller.user,
      caller.uid ?? '',
      (caller.groups ?? []).join(','),
      verb,
      namespace,
      on.group,
      on.resource,
      on.subresource ?? '',
    ].join('|');
    return this.#decisions.getOrLoad(key, async () => ({
      value: await this.#access(caller, verb, namespace, on),
      ttlMs: DECISION_TTL_MS,
    }));
  }

  /** As allowed(), but a refusal is a 403 that names the rule to add. */
  async authorize(caller: Caller, verb: JobVerb, namespace: string, on: Resource = JOBS): Promise<void> {
    if (await this.allowed(caller, verb, namespace, on)) return;
    const resource = on.subresource === undefined ? on.resource : `${on.resource}/${on.subresource}`;
    const named = on.group === '' ? resource : `${resource}.${on.group}`;
    throw new HttpError(
      403,
      'FORBIDDEN',
      `${caller.user} may not ${verb} ${named} in namespace "${namespace}". ` +
        `Add this rule to a Role in "${namespace}" bound to ${caller.user}: ` +
        `{apiGroups: ["${on.group}"], resources: ["${resource}"], verbs: ["${verb}"]}`,
    );
  }

  async #review(token: string): Promise<Caller | null> {
    const tr = await this.#call<V1TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const user = tr.status?.user;
    if (tr.status?.authenticated !== true || user?.username === undefined) return null;
    return {
      user: user.username,
      unrestricted: false,
      ...(user.groups !== undefined ? { groups: user.groups } : {}),
      ...(user.uid !== undefined ? { uid: user.uid } : {}),
      ...(user.extra !== undefined ? { extra: user.extra } : {}),
    };
  }

  async #access(caller: Caller, verb: JobVerb, namespace: string, on: Resource): Promise<boolean> {
    const sar = await this.#call<V1SubjectAccessReview>(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: caller.user,
          ...(caller.groups !== undefined ? { groups: caller.groups } : {}),
          ...(caller.uid !== undefined ? { uid: caller.uid } : {}),
          ...(caller.extra !== undefined ? { extra: caller.extra } : {}),
          resourceAttributes: {
            namespace,
            verb,
            group: on.group,
            resource: on.resource,
            ...(on.subresource !== undefined ? { subresource: on.subresource } : {}),
          },
        },
      },
    );
    return sar.status?.allowed === true;
  }

  async #call<T>(path: string, body: unknown): Promise<T> {
    try {
      return await this.#o.client.call<T>('POST', path, { idempotent: true, body });
    } catch (err) {
      // The API server could not decide (throttled, down): not the caller's fault, and not a "no".
      throw new HttpError(
        503,
        'AUTH_UNAVAILABLE',
        `cannot check the token now: ${(err as Error).message}`,
        2,
      );
    }
  }
}

function accepted(caller: Caller | null): Caller {
  if (caller === null) throw NOT_ACCEPTED;
  return caller;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
