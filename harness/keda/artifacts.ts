// Where controlplane/build-keda.sh put the KEDA operator and its CRDs. Never
// builds: the build is slow (see the script) and only `npm run keda:build` runs it.
import { join } from 'node:path';
import { builtDir, NotBuiltError } from '../built.ts';

export interface KedaArtifacts {
  /** The cache folder, ~/.cache/kube-job-dispatcher/keda/<version>_<go version>. */
  readonly dir: string;
  readonly operator: string;
  /** KEDA's config/crd/bases, copied from the module cache. */
  readonly crdDir: string;
}

export class KedaNotBuiltError extends NotBuiltError {
  override readonly name = 'KedaNotBuiltError';
  constructor(dir: string) {
    super('the KEDA operator', dir, 'npm run keda:build');
  }
}

/** The built operator and CRDs; throws KedaNotBuiltError when they are missing. */
export async function kedaArtifacts(): Promise<KedaArtifacts> {
  const dir = await builtDir(
    'build-keda.sh',
    { executables: ['keda-operator'], files: ['crds/keda.sh_scaledjobs.yaml'] },
    (d) => new KedaNotBuiltError(d),
  );
  return { dir, operator: join(dir, 'keda-operator'), crdDir: join(dir, 'crds') };
}
