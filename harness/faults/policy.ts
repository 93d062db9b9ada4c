// Load and policy faults, made by the API server itself:
// - an APF FlowSchema + PriorityLevelConfiguration that gives one
//   ServiceAccount a tiny concurrency and rejects the rest (429 storms);
// - a ValidatingAdmissionPolicy (+ binding to one namespace) that denies
//   some Jobs, with its default reason (422 Invalid) or `reason: Forbidden` (403);
// - a ResourceQuota on count/jobs.batch (403 "exceeded quota" when full).
// APF and VAP objects are cluster-scoped: install them on a private cluster.
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  FlowcontrolApiserverV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalCluster } from '../cluster/local-cluster.ts';
import { httpsGet } from '../net.ts';

export interface Installed {
  remove(): Promise<void>;
}

/** Every request of `serviceAccount` goes to a priority level with `shares` seats' worth of concurrency; the rest get 429. */
export async function throttleServiceAccount(
  kc: KubeConfig,
  o: { name: string; namespace: string; serviceAccount: string; shares?: number },
): Promise<Installed> {
  const api = kc.makeApiClient(FlowcontrolApiserverV1Api);
  await api.createPriorityLevelConfiguration({
    body: {
      metadata: { name: o.name },
      spec: {
        type: 'Limited',
        limited: {
          nominalConcurrencyShares: o.shares ?? 1,
          lendablePercent: 0,
          limitResponse: { type: 'Reject' },
        },
      },
    },
  });
  await api.createFlowSchema({
    body: {
      metadata: { name: o.name },
      spec: {
        matchingPrecedence: 100,
        priorityLevelConfiguration: { name: o.name },
        distinguisherMethod: { type: 'ByUser' },
        rules: [
          {
            subjects: [
              { kind: 'ServiceAccount', serviceAccount: { name: o.serviceAccount, namespace: o.namespace } },
            ],
            resourceRules: [
              { verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true },
            ],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          },
        ],
      },
    },
  });
  return {
    async remove() {
      await api.deleteFlowSchema({ name: o.name }).catch(() => undefined);
      await api.deletePriorityLevelConfiguration({ name: o.name }).catch(() => undefined);
    },
  };
}

/** The message every denied Job gets, so tests can find it in the dead letters. */
export const DENIAL_MESSAGE = 'faults: CUSTOM_ID starting with "deny" is refused by policy';

/**
 * Denies the creation of Jobs in `namespace` whose container env CUSTOM_ID
 * starts with "deny". `reason` unset: 422 Invalid; `Forbidden`: 403.
 */
export async function denyJobsByPolicy(
  kc: KubeConfig,
  o: { name: string; namespace: string; reason?: 'Forbidden' },
): Promise<Installed> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  const expression =
    "object.spec.template.spec.containers.all(c, !has(c.env) || c.env.all(e, e.name != 'CUSTOM_ID' || !has(e.value) || !e.value.startsWith('deny')))";
  await api.createValidatingAdmissionPolicy({
    body: {
      metadata: { name: o.name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] },
          ],
        },
        validations: [
          { expression, message: DENIAL_MESSAGE, ...(o.reason !== undefined ? { reason: o.reason } : {}) },
        ],
      },
    },
  });
  await api.createValidatingAdmissionPolicyBinding({
    body: {
      metadata: { name: o.name },
      spec: {
        policyName: o.name,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.namespace } },
        },
      },
    },
  });
  return {
    async remove() {
      await api.deleteValidatingAdmissionPolicyBinding({ name: o.name }).catch(() => undefined);
      await api.deleteValidatingAdmissionPolicy({ name: o.name }).catch(() => undefined);
    },
  };
}

export interface JobQuota extends Installed {
  /** Changes the cap (raise it to let waiting items through). */
  setJobs(n: number): Promise<void>;
}

/** A ResourceQuota capping the number of Job objects in `namespace`. */
export async function limitJobs(
  kc: KubeConfig,
  o: { name: string; namespace: string; jobs: number },
): Promise<JobQuota> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedResourceQuota({
    namespace: o.namespace,
    body: { metadata: { name: o.name }, spec: { hard: { 'count/jobs.batch': String(o.jobs) } } },
  });
  return {
    async setJobs(n) {
      await core.patchNamespacedResourceQuota(
        { name: o.name, namespace: o.namespace, body: { spec: { hard: { 'count/jobs.batch': String(n) } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async remove() {
      await core
        .deleteNamespacedResourceQuota({ name: o.name, namespace: o.namespace })
        .catch(() => undefined);
    },
  };
}

/** Requests APF rejected (429) at `priorityLevel`, from the API server's own metrics: proves the storm happened. */
export async function apfRejections(cluster: LocalCluster, priorityLevel: string): Promise<number> {
  const pki = join(cluster.dir, 'pki');
  const tls = {
    ca: await readFile(cluster.caFile),
    cert: await readFile(join(pki, 'admin.crt')),
    key: await readFile(join(pki, 'admin.key')),
  };
  const { body } = await httpsGet(`${cluster.server}/metrics`, tls, 10_000);
  let total = 0;
  for (const line of body.split('\n')) {
    if (
      line.startsWith('apiserver_flowcontrol_rejected_requests_total{') &&
      line.includes(`priority_level="${priorityLevel}"`)
    ) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
