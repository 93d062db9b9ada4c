// The API server's 404 for a Job, as kjd's client raises it, for unit tests
// of code that tells a missing Job from other failures.
import { KubeNotFoundError } from '../../src/kube/errors.ts';

export const jobNotFound = (name: string): KubeNotFoundError =>
  new KubeNotFoundError({
    status: { code: 404, reason: 'NotFound', message: `jobs.batch "${name}" not found` },
    request: undefined,
    method: 'GET',
    url: `/apis/batch/v1/namespaces/ns/jobs/${name}`,
    credential: 'test',
  });
