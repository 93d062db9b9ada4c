// Who may use the /v1 API. Default (tokenreview): the caller's bearer token
// must be one the API server accepts (TokenReview) and its user must be
// allowed to do the same thing to Jobs directly (SubjectAccessReview), so kjd
// never lets anyone do more through it than RBAC lets them do themselves.
// Decisions are cached for 10 s per token, namespace and verb.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import type { MiddlewareHandler } from 'hono';
import type { KubeClient } from '../kube/client.ts';
import { HttpError } from './http-errors.ts';

export interface AuthSettings {
  readonly mode: 'tokenreview' | 'static' | 'none';
  readonly tokens: readonly string[];
}

const CACHE_MS = 10_000;
const VERBS: Record<string, string> = { POST: 'create', DELETE: 'delete', GET: 'get' };

export function authMiddleware(
  settings: AuthSettings,
  client: KubeClient,
  namespaceOf: (query: (key: string) => string | undefined) => string,
): MiddlewareHandler {
  if (settings.mode === 'none') return (_c, next) => next();
  const staticTokens = settings.tokens.map(digest);
  const cache = new Map<string, { allowed: boolean; user: string; until: number }>();
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (token === undefined)
      throw new HttpError(401, 'UNAUTHENTICATED', 'send a bearer token: Authorization: Bearer <token>');
    if (settings.mode === 'static') {
      const d = digest(token);
      if (!staticTokens.some((t) => timingSafeEqual(t, d)))
        throw new HttpError(401, 'UNAUTHENTICATED', 'unknown token');
      return next();
    }
    const namespace = namespaceOf((k) => c.req.query(k));
    const verb = VERBS[c.req.method] ?? 'get';
    const key = `${digest(token).toString('hex')}|${namespace}|${verb}`;
    let decision = cache.get(key);
    if (decision === undefined || decision.until < Date.now()) {
      decision = { ...(await review(client, token, namespace, verb)), until: Date.now() + CACHE_MS };
      cache.set(key, decision);
      if (cache.size > 10_000) cache.clear();
    }
    if (decision.user === '')
      throw new HttpError(401, 'UNAUTHENTICATED', 'the API server does not accept this token');
    if (!decision.allowed) {
      throw new HttpError(
        403,
        'FORBIDDEN',
        `${decision.user} may not ${verb} jobs.batch in namespace "${namespace}"`,
      );
    }
    return next();
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

async function review(
  client: KubeClient,
  token: string,
  namespace: string,
  verb: string,
): Promise<{ allowed: boolean; user: string }> {
  const tr = await client.call<V1TokenReview>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    idempotent: true,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
  });
  const user = tr.status?.user;
  if (tr.status?.authenticated !== true || user?.username === undefined) return { allowed: false, user: '' };
  const sar = await client.call<V1SubjectAccessReview>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      idempotent: true,
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.groups !== undefined ? { groups: user.groups } : {}),
          ...(user.uid !== undefined ? { uid: user.uid } : {}),
          ...(user.extra !== undefined ? { extra: user.extra } : {}),
          resourceAttributes: { namespace, verb, group: 'batch', resource: 'jobs' },
        },
      },
    },
  );
  return { allowed: sar.status?.allowed === true, user: user.username };
}
