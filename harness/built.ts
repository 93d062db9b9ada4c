// Where a controlplane/build-*.sh script put what it builds. Never builds: the
// builds are slow, and the scripts are run by scripts/setup.sh or by hand.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.ts';

const run = promisify(execFile);

/** What a test or benchmark needs has not been built; the message says how to build it. */
export class NotBuiltError extends Error {
  override readonly name: string = 'NotBuiltError';
  readonly dir: string;
  constructor(what: string, dir: string, command: string) {
    super(`${what} is not built in ${dir}: build it once with \`${command}\``);
    this.dir = dir;
  }
}

/**
 * The cache folder `controlplane/<script> --print` names, after checking that
 * `executables` are executable and `files` readable in it.
 */
export async function builtDir(
  script: string,
  need: { readonly executables: readonly string[]; readonly files: readonly string[] },
  notBuilt: (dir: string) => NotBuiltError,
): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'controlplane', script), '--print']);
  const dir = stdout.trim().split('\n').at(-1) ?? '';
  try {
    for (const f of need.executables) await access(join(dir, f), constants.X_OK);
    for (const f of need.files) await access(join(dir, f), constants.R_OK);
  } catch {
    throw notBuilt(dir);
  }
  return dir;
}
