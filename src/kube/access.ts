// Which of the permissions kjd needs does the current identity have in a
// namespace? One SelfSubjectAccessReview per verb/resource (allowed for every
// authenticated user), and the minimal Role that grants what is missing.
import type { V1SelfSubjectAccessReview } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';

export interface Permission {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly verb: string;
  /** What kjd uses it for, shown by `kjd check`. */
  readonly why: string;
}

/** Everything the kjd CLI and service do with the API. */
export const REQUIRED_PERMISSIONS: readonly Permission[] = [
  { group: 'batch', resource: 'jobs', verb: 'create', why: 'launch a Job' },
  { group: 'batch', resource: 'jobs', verb: 'get', why: 'read a Job and its status' },
  { group: 'batch', resource: 'jobs', verb: 'list', why: 'list Jobs; start a watch' },
  { group: 'batch', resource: 'jobs', verb: 'watch', why: 'follow Jobs to completion' },
  { group: 'batch', resource: 'jobs', verb: 'patch', why: 'kjd patch' },
  { group: 'batch', resource: 'jobs', verb: 'delete', why: 'delete / clean up finished Jobs' },
  { group: '', resource: 'pods', verb: 'get', why: "read a Job's Pod" },
  { group: '', resource: 'pods', verb: 'list', why: "find a Job's Pods (logs, exit codes)" },
  { group: '', resource: 'pods', verb: 'watch', why: "results' exit codes (a watch of ended Pods)" },
  { group: '', resource: 'pods', subresource: 'log', verb: 'get', why: 'kjd logs' },
];

export interface AccessResult extends Permission {
  readonly allowed: boolean;
  readonly reason?: string;
}

export async function checkAccess(
  client: KubeClient,
  namespace: string,
  permissions: readonly Permission[] = REQUIRED_PERMISSIONS,
): Promise<AccessResult[]> {
  return Promise.all(
    permissions.map(async (p) => {
      const review = await client.call<V1SelfSubjectAccessReview>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          idempotent: true,
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace,
                group: p.group,
                resource: p.resource,
                verb: p.verb,
                ...(p.subresource !== undefined ? { subresource: p.subresource } : {}),
              },
            },
          },
        },
      );
      const reason = review.status?.reason;
      return { ...p, allowed: review.status?.allowed === true, ...(reason ? { reason } : {}) };
    }),
  );
}

export const ruleName = (p: Permission): string =>
  p.subresource === undefined ? p.resource : `${p.resource}/${p.subresource}`;

/** A Role (YAML) granting `permissions`, one rule per group and resource. */
export function roleYaml(name: string, namespace: string, permissions: readonly Permission[]): string {
  const rules = new Map<string, { group: string; resource: string; verbs: string[] }>();
  for (const p of permissions) {
    const key = `${p.group}|${ruleName(p)}`;
    const rule = rules.get(key) ?? { group: p.group, resource: ruleName(p), verbs: [] };
    if (!rule.verbs.includes(p.verb)) rule.verbs.push(p.verb);
    rules.set(key, rule);
  }
  const body = [...rules.values()].map((r) =>
    [
      `  - apiGroups: ["${r.group}"]`,
      `    resources: ["${r.resource}"]`,
      `    verbs: [${r.verbs.map((v) => `"${v}"`).join(', ')}]`,
    ].join('\n'),
  );
  return [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: Role',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'rules:',
    ...body,
  ].join('\n');
}
