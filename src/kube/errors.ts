// Typed errors for API server responses. The Status body is parsed, never
// dumped; each kind carries what a person (or the dispatcher) needs to act.
import { KjdError, type ErrorCategory } from '../errors.ts';
import { ruleResource, type RequestInfo } from './request-info.ts';

interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** The parts of a metav1.Status that kjd reads. */
export interface ApiStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly StatusCause[];
    readonly retryAfterSeconds?: number;
  };
}

export interface ApiErrorContext {
  readonly status: ApiStatus;
  readonly request: RequestInfo | undefined;
  readonly method: string;
  readonly url: string;
  /** How kjd authenticated, e.g. `ServiceAccount token file /var/run/...`. */
  readonly credential: string;
  readonly retryAfterMs?: number;
}

export abstract class KubeApiError extends KjdError {
  readonly statusCode: number;
  readonly reason: string | undefined;
  /** The API server's message, as it sent it. */
  readonly apiMessage: string;
  readonly request: RequestInfo | undefined;
  readonly causes: readonly StatusCause[];
  /** When the API server said to come back (Retry-After, retryAfterSeconds). */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, ctx: ApiErrorContext) {
    super(message);
    this.statusCode = ctx.status.code;
    this.reason = ctx.status.reason;
    this.apiMessage = ctx.status.message ?? '';
    this.request = ctx.request;
    this.causes = ctx.status.details?.causes ?? [];
    this.retryAfterMs = ctx.retryAfterMs;
  }
}

function describeRequest(r: RequestInfo | undefined, fallback: string): string {
  if (r === undefined) return fallback;
  const what = r.group === '' ? ruleResource(r) : `${ruleResource(r)}.${r.group}`;
  const where = r.namespace === undefined ? '' : ` in namespace "${r.namespace}"`;
  return `${r.verb} ${what}${r.name === undefined ? '' : ` "${r.name}"`}${where}`;
}

/**
 * Why a 403 happened, which decides whose fault it is:
 * - authorization: RBAC refused kjd's ServiceAccount; kjd is set up wrong.
 * - admission: an admission policy or webhook refused this object; the item is at fault.
 * - quota: a ResourceQuota is full; nobody is at fault, there is no room yet.
 */
export type ForbiddenKind = 'authorization' | 'admission' | 'quota';

/**
 * The API server says all three with reason Forbidden. The authorizer runs
 * before the body is read, so its refusal of a create names no object;
 * admission has decoded the object and names it (details.name). Quota
 * admission gives no structured cause, only this message (kubernetes
 * plugin/pkg/admission/resourcequota), so it is the one text match here.
 */
function forbiddenKind(ctx: ApiErrorContext): ForbiddenKind {
  const message = ctx.status.message ?? '';
  if (message.includes('exceeded quota:')) return 'quota';
  const named = ctx.status.details?.name !== undefined && ctx.status.details.name !== '';
  return ctx.method === 'POST' && named ? 'admission' : 'authorization';
}

const FORBIDDEN_CATEGORY: Record<ForbiddenKind, ErrorCategory> = {
  authorization: 'configuration',
  admission: 'permanent',
  quota: 'capacity',
};

export class KubeForbiddenError extends KubeApiError {
  readonly code: 'KUBE_FORBIDDEN' | 'KUBE_ADMISSION_DENIED' | 'KUBE_QUOTA_EXCEEDED';
  readonly category: ErrorCategory;
  readonly kind: ForbiddenKind;
  /** The user the API server saw (display only), e.g. system:serviceaccount:ns:sa. */
  readonly user: string;

  constructor(ctx: ApiErrorContext) {
    const user = /User "([^"]+)"/.exec(ctx.status.message ?? '')?.[1] ?? ctx.credential;
    const kind = forbiddenKind(ctx);
    const what = describeRequest(ctx.request, `${ctx.method} ${ctx.url}`);
    super(
      kind === 'authorization'
        ? `forbidden: ${user} may not ${what}`
        : kind === 'quota'
          ? `no room: ${what} refused by a ResourceQuota: ${ctx.status.message ?? ''}`
          : `denied by admission: ${ctx.status.message ?? what}`,
      ctx,
    );
    this.user = user;
    this.kind = kind;
    this.category = FORBIDDEN_CATEGORY[kind];
    this.code =
      kind === 'authorization'
        ? 'KUBE_FORBIDDEN'
        : kind === 'quota'
          ? 'KUBE_QUOTA_EXCEEDED'
          : 'KUBE_ADMISSION_DENIED';
  }

  /** The Role rule that grants what was missing. */
  roleRule(): string | undefined {
    const r = this.request;
    if (r === undefined) return undefined;
    return [
      `- apiGroups: ["${r.group}"]`,
      `  resources: ["${ruleResource(r)}"]`,
      `  verbs: ["${r.verb}"]`,
    ].join('\n');
  }

  override hint(): string {
    if (this.kind !== 'authorization') return `The API server said: ${this.apiMessage}`;
    const rule = this.roleRule();
    if (rule === undefined || this.request === undefined) return `The API server said: ${this.apiMessage}`;
    const ns = this.request.namespace;
    const where = ns === undefined ? ' (or ClusterRole)' : ` in namespace "${ns}"`;
    return [
      `Add this rule to a Role${where} bound to ${this.user}:`,
      rule,
      ...kubectlFix(this.request, this.user),
      '`kjd check` lists every permission kjd needs.',
    ].join('\n');
  }
}

/** The two kubectl commands that grant a ServiceAccount the missing permission in its namespace. */
function kubectlFix(r: RequestInfo, user: string): string[] {
  const sa = /^system:serviceaccount:([^:]+):(.+)$/.exec(user);
  if (sa === null || r.namespace === undefined) return [];
  const resource = r.group === '' ? ruleResource(r) : `${ruleResource(r)}.${r.group}`;
  return [
    'or, with kubectl:',
    `  kubectl create role kjd --namespace ${r.namespace} --verb=${r.verb} --resource=${resource}`,
    `  kubectl create rolebinding kjd --namespace ${r.namespace} --role=kjd --serviceaccount=${sa[1] ?? ''}:${sa[2] ?? ''}`,
  ];
}

export class KubeUnauthorizedError extends KubeApiError {
  readonly code = 'KUBE_UNAUTHORIZED';
  readonly category: ErrorCategory = 'configuration';
  readonly credential: string;
  constructor(ctx: ApiErrorContext) {
    super(`unauthorized: the API server rejected the credential (${ctx.credential})`, ctx);
    this.credential = ctx.credential;
  }
  override hint(): string {
    return 'The token or certificate is expired, revoked or for another cluster. Check the kubeconfig user, or that the ServiceAccount token file is being rotated.';
  }
}

export class KubeNotFoundError extends KubeApiError {
  readonly code = 'KUBE_NOT_FOUND';
  /**
   * Permanent for the object asked for; configuration when the namespace to
   * create in does not exist (details.kind "namespaces"): the route is set up
   * wrong, not the item.
   */
  readonly category: ErrorCategory;
  readonly missingNamespace: boolean;
  constructor(ctx: ApiErrorContext) {
    const r = ctx.request;
    const missingNamespace = ctx.status.details?.kind === 'namespaces';
    const what = r?.name === undefined ? describeRequest(r, ctx.url) : `${r.resource} "${r.name}"`;
    super(
      missingNamespace
        ? `namespace "${ctx.status.details.name ?? r?.namespace ?? ''}" does not exist (${what})`
        : `not found: ${what}${r?.namespace === undefined ? '' : ` in namespace "${r.namespace}"`}`,
      ctx,
    );
    this.missingNamespace = missingNamespace;
    this.category = missingNamespace ? 'configuration' : 'permanent';
  }
}

export class KubeConflictError extends KubeApiError {
  readonly code = 'KUBE_CONFLICT';
  readonly category: ErrorCategory = 'permanent';
  /** True for `AlreadyExists` (create of a taken name), false for a stale update. */
  readonly alreadyExists: boolean;
  constructor(ctx: ApiErrorContext) {
    super(`conflict: ${ctx.status.message ?? describeRequest(ctx.request, ctx.url)}`, ctx);
    this.alreadyExists = ctx.status.reason === 'AlreadyExists';
  }
}

export class KubeGoneError extends KubeApiError {
  readonly code = 'KUBE_GONE';
  readonly category: ErrorCategory = 'retryable';
  constructor(ctx: ApiErrorContext) {
    super(`gone: ${ctx.status.message ?? 'the resourceVersion is too old'} (relist and watch again)`, ctx);
  }
}

/** The last `: `-separated part of a field error: its detail without the (possibly huge) value dump. */
function causeDetail(c: StatusCause): string {
  const msg = c.message ?? c.reason ?? 'invalid';
  const idx = msg.lastIndexOf(': ');
  return idx >= 0 && msg.startsWith('Invalid value') ? msg.slice(idx + 2) : msg;
}

export class KubeInvalidError extends KubeApiError {
  readonly code = 'KUBE_INVALID';
  readonly category: ErrorCategory = 'permanent';
  /** field → what is wrong with it, e.g. `spec.template` → `field is immutable`. */
  readonly fields: readonly { field: string; detail: string }[];
  constructor(ctx: ApiErrorContext) {
    const fields = (ctx.status.details?.causes ?? []).map((c) => ({
      field: c.field ?? '(object)',
      detail: causeDetail(c),
    }));
    const kind = ctx.status.details?.kind ?? ctx.request?.resource ?? 'object';
    const name = ctx.status.details?.name ?? ctx.request?.name ?? '';
    const list =
      fields.length > 0
        ? fields.map((f) => `${f.field}: ${f.detail}`).join('; ')
        : (ctx.status.message ?? '');
    super(`invalid ${kind} "${name}": ${list}`, ctx);
    this.fields = fields;
  }
  override hint(): string | undefined {
    if (!this.fields.some((f) => f.field.startsWith('spec.template') && f.detail.includes('immutable')))
      return undefined;
    return [
      "A Job's Pod template (image, command, env, ...) cannot change once the Job exists.",
      'Delete the Job and launch a new one, or patch only fields that may change:',
      'metadata labels/annotations, spec.suspend, spec.parallelism, spec.activeDeadlineSeconds, spec.ttlSecondsAfterFinished.',
    ].join('\n');
  }
}

export class KubeTooManyRequestsError extends KubeApiError {
  readonly code = 'KUBE_TOO_MANY_REQUESTS';
  readonly category: ErrorCategory = 'retryable';
  constructor(ctx: ApiErrorContext) {
    super(
      `throttled by the API server (429)${ctx.retryAfterMs === undefined ? '' : `, retry after ${ctx.retryAfterMs} ms`}`,
      ctx,
    );
  }
}

export class KubeServerError extends KubeApiError {
  readonly code = 'KUBE_SERVER_ERROR';
  readonly category: ErrorCategory = 'retryable';
  constructor(ctx: ApiErrorContext) {
    super(
      `API server error ${ctx.status.code}: ${ctx.status.message ?? ctx.status.reason ?? 'no message'}`,
      ctx,
    );
  }
}

export class KubeRequestError extends KubeApiError {
  readonly code = 'KUBE_BAD_REQUEST';
  readonly category: ErrorCategory = 'permanent';
  constructor(ctx: ApiErrorContext) {
    super(
      `API server refused the request (${ctx.status.code}): ${ctx.status.message ?? ctx.status.reason ?? ''}`,
      ctx,
    );
  }
}

/** No answer from the API server: refused, reset, DNS, TLS, or the request timed out. */
export class KubeNetworkError extends KjdError {
  readonly code = 'KUBE_UNREACHABLE';
  readonly category: ErrorCategory = 'retryable';
  readonly url: string;
  constructor(url: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot reach the API server at ${new URL(url).origin}: ${why}`, { cause });
    this.url = url;
  }
}

export function apiError(ctx: ApiErrorContext): KubeApiError {
  const code = ctx.status.code;
  if (code === 401) return new KubeUnauthorizedError(ctx);
  if (code === 403) return new KubeForbiddenError(ctx);
  if (code === 404) return new KubeNotFoundError(ctx);
  if (code === 409) return new KubeConflictError(ctx);
  if (code === 410) return new KubeGoneError(ctx);
  if (code === 422) return new KubeInvalidError(ctx);
  if (code === 429) return new KubeTooManyRequestsError(ctx);
  if (code >= 500) return new KubeServerError(ctx);
  return new KubeRequestError(ctx);
}

/** Parses a response body into a Status; a non-Status body still yields the code. */
export function parseStatus(code: number, body: string): ApiStatus {
  try {
    const parsed = JSON.parse(body) as Partial<ApiStatus> & { kind?: string };
    if (parsed.kind === 'Status') return { ...parsed, code };
  } catch {
    // not JSON (a proxy's HTML page, an empty 401): fall through
  }
  const text = body.trim().slice(0, 200);
  return text === '' ? { code } : { code, message: text };
}
