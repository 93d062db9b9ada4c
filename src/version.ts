// The package version, read from the package.json that ships beside the code
// (src/ when run from source, dist/src/ when installed).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findPackageJson(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'kube-job-dispatcher') return candidate;
    }
    if (dirname(dir) === dir) throw new Error('package.json of kube-job-dispatcher not found');
  }
}

export const VERSION: string = (
  JSON.parse(readFileSync(findPackageJson(import.meta.dirname), 'utf8')) as { version: string }
).version;
