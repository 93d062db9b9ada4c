// Finds (and on request builds) the control-plane binaries. controlplane/build.sh
// is the single source of truth for versions and the cache location.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../paths.ts';

const run = promisify(execFile);

export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;

export class MissingBinariesError extends Error {
  override readonly name = 'MissingBinariesError';
  readonly binDir: string;
  readonly missing: readonly string[];
  constructor(binDir: string, missing: readonly string[]) {
    super(
      `control-plane binaries missing in ${binDir}: ${missing.join(', ')}. ` +
        'Build them once with `npm run cluster:build` (20-40 min cold on 2 cores).',
    );
    this.binDir = binDir;
    this.missing = missing;
  }
}

/**
 * The folder holding the binaries. With `build: true` a missing binary is
 * built first (slow the first time); otherwise it is an error.
 */
export async function controlPlaneBinDir(opts: { build: boolean; helm?: boolean }): Promise<string> {
  const script = join(repoRoot, 'controlplane', 'build.sh');
  const args = opts.build ? (opts.helm === true ? ['--helm'] : []) : ['--print'];
  const { stdout } = await run('bash', [script, ...args], { maxBuffer: 64 * 1024 * 1024 });
  const binDir = stdout.trim().split('\n').at(-1) ?? '';
  const wanted = [...COMPONENTS, ...(opts.helm === true ? ['helm'] : [])];
  const missing: string[] = [];
  for (const name of wanted) {
    try {
      await access(join(binDir, name), constants.X_OK);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) throw new MissingBinariesError(binDir, missing);
  return binDir;
}
