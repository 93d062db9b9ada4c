// Where controlplane/build-keda.sh put the KEDA operator and its CRDs. Never
// builds: the build is slow (see the script) and only `npm run keda:build` runs it.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../paths.ts';

const run = promisify(execFile);

export interface KedaArtifacts {
  /** The cache folder, ~/.cache/kube-job-dispatcher/keda/<version>_<go version>. */
  readonly dir: string;
  readonly operator: string;
  /** KEDA's config/crd/bases, copied from the module cache. */
  readonly crdDir: string;
}

export class KedaNotBuiltError extends Error {
  override readonly name = 'KedaNotBuiltError';
  readonly dir: string;
  constructor(dir: string) {
    super(`the KEDA operator is not built in ${dir}: build it once with \`npm run keda:build\``);
    this.dir = dir;
  }
}

/** The built operator and CRDs; throws KedaNotBuiltError when they are missing. */
export async function kedaArtifacts(): Promise<KedaArtifacts> {
  const script = join(repoRoot, 'controlplane', 'build-keda.sh');
  const { stdout } = await run('bash', [script, '--print']);
  const dir = stdout.trim().split('\n').at(-1) ?? '';
  const artifacts = { dir, operator: join(dir, 'keda-operator'), crdDir: join(dir, 'crds') };
  try {
    await access(artifacts.operator, constants.X_OK);
    await access(join(artifacts.crdDir, 'keda.sh_scaledjobs.yaml'), constants.R_OK);
  } catch {
    throw new KedaNotBuiltError(dir);
  }
  return artifacts;
}
