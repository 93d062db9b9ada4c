// Where the local environment keeps its state. Overridable with KJD_STATE_DIR.
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..');

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KJD_STATE_DIR ?? join(repoRoot, '.kjd');
}
