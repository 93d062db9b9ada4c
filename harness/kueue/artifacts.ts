// Where controlplane/build-kueue.sh put Kueue's manager, its CRDs and its
// webhook manifests. scripts/setup.sh builds them; this never does.
import { join } from 'node:path';
import { builtDir, NotBuiltError } from '../built.ts';

export interface KueueArtifacts {
  /** The cache folder, ~/.cache/kube-job-dispatcher/kueue/<version>_<go version>. */
  readonly dir: string;
  readonly manager: string;
  /** Kueue's config/components/crd/bases, copied from the module cache. */
  readonly crdDir: string;
  /** Kueue's config/components/webhook/manifests.yaml. */
  readonly webhookManifests: string;
}

export class KueueNotBuiltError extends NotBuiltError {
  override readonly name = 'KueueNotBuiltError';
  constructor(dir: string) {
    super('Kueue', dir, 'bash controlplane/build-kueue.sh');
  }
}

/** The built manager, CRDs and webhooks; throws KueueNotBuiltError when they are missing. */
export async function kueueArtifacts(): Promise<KueueArtifacts> {
  const dir = await builtDir(
    'build-kueue.sh',
    { executables: ['kueue'], files: ['crds/kueue.x-k8s.io_workloads.yaml', 'webhook/manifests.yaml'] },
    (d) => new KueueNotBuiltError(d),
  );
  return {
    dir,
    manager: join(dir, 'kueue'),
    crdDir: join(dir, 'crds'),
    webhookManifests: join(dir, 'webhook', 'manifests.yaml'),
  };
}
