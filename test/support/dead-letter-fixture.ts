// What the dead-letter tests (HTTP API, CLI, browser) share: a template whose
// CUSTOM_ID pattern can be "fixed" (strict: digits only; fixed: lowercase
// letters and digits), and ServiceAccounts with and without rights.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { core } from './serve-fixture.ts';
import { grantRole, serviceAccountToken } from './kube.ts';

export const STRICT = '^[0-9]+$';
export const FIXED = '^[a-z0-9]+$';

/** Writes (or rewrites) the route's template at `dir/redrive-job.yaml` with CUSTOM_ID's pattern. */
export async function writeTemplate(dir: string, pattern: string): Promise<string> {
  const file = join(dir, 'redrive-job.yaml');
  await writeFile(
    file,
    `apiVersion: batch/v1
kind: Job
metadata:
  name: redrive
  annotations:
    kjd.dev/parameters: |
      CUSTOM_ID: { type: string, required: true, pattern: '${pattern}' }
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        harness.kjd.dev/outcome: succeed
        harness.kjd.dev/run-duration: 300ms
    spec:
      restartPolicy: Never
      containers:
        - name: worker
          image: worker:test
          command: ['sh', '-c', 'worker --id \${CUSTOM_ID}']
`,
  );
  return file;
}

/** A ServiceAccount token in `namespace` with these verbs on Jobs (and reading pods, their logs and events when `logs`). */
export async function accountToken(
  namespace: string,
  name: string,
  verbs: string[],
  logs = false,
): Promise<string> {
  await core().createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  if (verbs.length > 0)
    await grantRole(namespace, name, [
      { apiGroups: ['batch'], resources: ['jobs'], verbs },
      ...(logs
        ? [{ apiGroups: [''], resources: ['pods/log', 'pods', 'events'], verbs: ['get', 'list'] }]
        : []),
    ]);
  return serviceAccountToken(namespace, name);
}
